"""A local, real Apache Airflow 3 sandbox with example pipelines that fail the way real ones do.

``Sandbox(data_dir, port).up()`` installs a pinned Airflow into ``<data_dir>/sandbox/venv`` (once), starts
api-server, scheduler and dag-processor on loopback, and triggers the example DAGs in ``examples/dags``.
"""

from __future__ import annotations

from pipeline_sre.sandbox.client import SandboxClient
from pipeline_sre.sandbox.constants import (
    AIRFLOW_VERSION,
    DEFAULT_PORT,
    EXAMPLE_DAG_IDS,
    EXAMPLE_DAGS,
    SANDBOX_LEAKED_SECRETS,
    TRIGGERED_DAG_IDS,
    TRIGGERED_DAGS,
    ExampleDag,
)
from pipeline_sre.sandbox.errors import SandboxError
from pipeline_sre.sandbox.manager import Sandbox
from pipeline_sre.sandbox.models import ProcessStatus, RunStatus, SandboxInfo, SandboxStatus
from pipeline_sre.sandbox.paths import default_data_dir

__all__ = [
    "AIRFLOW_VERSION",
    "DEFAULT_PORT",
    "EXAMPLE_DAGS",
    "EXAMPLE_DAG_IDS",
    "SANDBOX_LEAKED_SECRETS",
    "TRIGGERED_DAGS",
    "TRIGGERED_DAG_IDS",
    "ExampleDag",
    "ProcessStatus",
    "RunStatus",
    "Sandbox",
    "SandboxClient",
    "SandboxError",
    "SandboxInfo",
    "SandboxStatus",
    "default_data_dir",
]
