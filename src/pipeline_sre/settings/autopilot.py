"""The `autopilot:` section of the settings: how `watch` polls, and what it may do on its own."""

from __future__ import annotations

from pydantic import Field, field_validator

from pipeline_sre.settings.base import Model


class AutopilotConfig(Model):
    interval_seconds: int = Field(60, ge=1, le=24 * 3600, description="Seconds between two polling cycles")
    window_minutes: int = Field(
        60, ge=1, le=7 * 24 * 60, description="Each cycle looks at failed runs that ended in the last N minutes"
    )
    databricks: bool = Field(
        True,
        description="Each cycle also polls the Databricks workspace of every environment that has one: failed job "
        "runs are diagnosed into incidents and get a repair_run proposal awaiting approval, or are escalated",
    )
    signals: bool = Field(
        True,
        description="Each cycle also evaluates the Prometheus signal detectors of every environment that has "
        "Prometheus: one incident per signal (with the runbook's suggestions, no write), verified every cycle",
    )
    webhook_token_env: str = Field(
        "PIPELINE_SRE_WEBHOOK_TOKEN", description="Env var with the bearer token webhook senders must present"
    )
    bind: str | None = Field(
        None, description="HOST:PORT for the webhook and /metrics server when `watch` runs without --http"
    )

    @field_validator("bind")
    @classmethod
    def _host_port(cls, v: str | None) -> str | None:
        if v is not None:
            _, sep, port = v.rpartition(":")
            if not sep or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("must be HOST:PORT with a port 1-65535, e.g. 127.0.0.1:8766")
        return v
