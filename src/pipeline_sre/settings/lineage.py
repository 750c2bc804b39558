"""Lineage settings per environment: how far triage looks downstream, and an optional OpenLineage service."""

from __future__ import annotations

import os

from pydantic import Field, field_validator

from pipeline_sre.settings.base import Model, http_base_url


class OpenLineageConnection(Model):
    """A Marquez-compatible lineage API (`GET /api/v1/lineage?nodeId=job:<namespace>:<job>&depth=N`)."""

    url: str = Field(description="Base URL of the lineage service, e.g. https://marquez.example.com")
    namespace: str = Field(
        min_length=1, max_length=1024, description="The OpenLineage namespace this environment's DAGs emit into"
    )
    token_env: str | None = Field(None, description="Env var holding a bearer token")
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return http_base_url(v)

    def token(self) -> str | None:
        return os.environ.get(self.token_env) if self.token_env else None


class LineageConfig(Model):
    """Triage follows the failed DAG's outputs to the DAGs they feed, within these bounds."""

    asset_graph: bool = Field(True, description="Read Airflow's asset (Airflow 3) / dataset (Airflow 2) graph")
    max_depth: int = Field(5, ge=1, le=10, description="Hops followed from the failed DAG")
    max_consumers: int = Field(20, ge=1, le=100, description="Downstream DAGs looked at, at most")
    openlineage: OpenLineageConnection | None = Field(
        None, description="An OpenLineage (Marquez-compatible) service to ask as well"
    )
