"""The one place that turns settings into backend clients.

Each client is built once per environment and reused (connection pools, tokens, boto3 clients); the
choice of transport (Airflow's REST API directly, or through MWAA's InvokeRestApi / CLI token) and of
the task-log reader (Airflow's log API, or CloudWatch Logs on MWAA) is made here and nowhere else.
Executors of governed writes receive this object, never the lifecycle's runtime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.connectors.cloudwatch import CloudWatchTaskLogs, task_logs_for
from pipeline_sre.connectors.databricks import DatabricksClient
from pipeline_sre.connectors.github import GitHubClient
from pipeline_sre.connectors.mwaa import MwaaTransport, mwaa_airflow_connection
from pipeline_sre.connectors.openlineage import OpenLineageClient
from pipeline_sre.connectors.prometheus import PrometheusClient
from pipeline_sre.errors import BackendRefused, InvalidInput, NotFound
from pipeline_sre.settings.backends import DatabricksConnection
from pipeline_sre.settings.config import Settings


class Clients:
    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._airflow: dict[str, AirflowClient] = {}
        self._databricks: dict[str, DatabricksClient] = {}
        self._openlineage: dict[str, OpenLineageClient] = {}

    def airflow(self, environment: str | None) -> AirflowClient:
        env_name, env = self.settings.environment(environment)
        client = self._airflow.get(env_name)
        if client is None:
            if env.mwaa is not None:  # Amazon MWAA: the same client, carried by InvokeRestApi
                conn = mwaa_airflow_connection(env.airflow, env.mwaa)
                client = AirflowClient(env_name, conn, transport=MwaaTransport(env_name, env.mwaa))
            else:
                client = AirflowClient(env_name, env.airflow, transport=self._transport)
            self._airflow[env_name] = client
        return client

    def is_mwaa(self, environment: str | None) -> bool:
        return self.settings.environment(environment)[1].mwaa is not None

    def task_logs(self, environment: str | None) -> CloudWatchTaskLogs:
        """MWAA task logs come from CloudWatch Logs (Airflow's own log API is not reachable there)."""
        env_name, env = self.settings.environment(environment)
        if env.mwaa is None:
            raise NotFound(f"environment '{env_name}' is not an MWAA environment (no mwaa section)")
        return task_logs_for(env_name, env.mwaa)

    def _missing(self, env_name: str, section: str, what: str) -> InvalidInput:
        having = [n for n, e in self.settings.environments.items() if getattr(e, section) is not None]
        return InvalidInput(
            f"environment {env_name!r} has no {what} (environments.{env_name}.{section}); "
            f"environments with one: {', '.join(having) or '(none)'}"
        )

    def databricks_connection(self, environment: str | None) -> tuple[str, DatabricksConnection]:
        env_name, env = self.settings.environment(environment)
        if env.databricks is None:
            raise self._missing(env_name, "databricks", "Databricks workspace")
        return env_name, env.databricks

    def databricks(self, environment: str | None) -> DatabricksClient:
        env_name, conn = self.databricks_connection(environment)
        client = self._databricks.get(env_name)
        if client is None:
            client = self._databricks[env_name] = DatabricksClient(env_name, conn)
        return client

    def openlineage(self, environment: str | None) -> OpenLineageClient | None:
        """The environment's OpenLineage service, or None when `lineage.openlineage` is not configured."""
        env_name, env = self.settings.environment(environment)
        conn = env.lineage.openlineage
        if conn is None:
            return None
        client = self._openlineage.get(env_name)
        if client is None:
            client = self._openlineage[env_name] = OpenLineageClient(env_name, conn, transport=self._transport)
        return client

    def prometheus(self, environment: str | None) -> PrometheusClient:
        """A new client (the caller closes it: `async with clients.prometheus(env) as p`)."""
        env_name, env = self.settings.environment(environment)
        if env.prometheus is None:
            raise self._missing(env_name, "prometheus", "Prometheus")
        return PrometheusClient(env_name, env.prometheus)

    @asynccontextmanager
    async def github(self, repo: str, path: str) -> AsyncIterator[GitHubClient]:
        """A client for one operation on a configured target (anything else is refused before a request)."""
        config = self.settings.github
        if config is None:
            raise BackendRefused("GitHub is not configured: add a top-level `github:` section with repositories")
        client = GitHubClient(config)
        try:
            client.check_target(repo, path)
            yield client
        finally:
            await client.aclose()

    async def aclose(self) -> None:
        for client in self._airflow.values():
            await client.aclose()
        for dbx in self._databricks.values():
            await dbx.aclose()
        for lineage in self._openlineage.values():
            await lineage.aclose()
        self._openlineage.clear()
        self._airflow.clear()
        self._databricks.clear()
