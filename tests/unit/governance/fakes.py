from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.connectors.clients import Clients
from pipeline_sre.governance.actions import Action
from pipeline_sre.governance.kinds import get_kind
from pipeline_sre.settings.config import Settings, parse_settings

# Wednesday 2025-01-08 10:00 Europe/Berlin (09:00 UTC): inside the prod window.
WED_10_BERLIN = datetime(2025, 1, 8, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = WED_10_BERLIN) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


# The environments of make_settings, on an Airflow 3 that is never contacted: what real executors describe.
AIRFLOW_3 = parse_settings(
    {
        "environments": {
            e: {"airflow": {"url": f"http://{e}-airflow:8080", "version": "3"}} for e in ("dev", "prod", "staging")
        }
    },
    "fakes",
)


class Crash(BaseException):
    """Stands in for the process dying mid-call (not an Exception, so nothing catches it)."""


class FakeExecutor:
    """Counts calls; behaves like Airflow: a second submission of the same run id is refused (409)."""

    resend_safe = True  # deduplicates by run id, as Airflow does for triggered runs

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.sent: dict[str, dict[str, Any]] = {}
        self.execute_calls = 0
        self.find_calls = 0
        self.crash_after_send = False
        self.crash_before_send = False
        self.fail_with: Exception | None = None

    def describe_call(self, action: Action) -> dict[str, Any]:
        """The call the kind's real executor describes for Airflow 3."""
        return get_kind(self.kind).executor_for(Clients(AIRFLOW_3)).describe_call(action)

    async def prepare(self, action: Action) -> None:
        """Nothing to learn: the fake stands for Airflow 3."""

    async def execute(self, action: Action) -> dict[str, Any]:
        self.execute_calls += 1
        if self.crash_before_send:
            raise Crash()
        if self.fail_with is not None:
            raise self.fail_with
        if action.run_id in self.sent:
            raise RuntimeError("409 Conflict: run id exists")
        self.sent[action.run_id] = {"dag_run_id": action.run_id, "state": "queued"}
        if self.crash_after_send:
            raise Crash()
        return self.sent[action.run_id]

    async def find_existing(self, action: Action) -> dict[str, Any] | None:
        self.find_calls += 1
        return self.sent.get(action.run_id)


class ClientsWith(Clients):
    """Clients whose Airflow is one client the test built (over a stand-in transport, MWAA's among them)."""

    def __init__(self, settings: Settings, airflow: AirflowClient) -> None:
        super().__init__(settings)
        self._one = airflow

    def airflow(self, environment: str | None) -> AirflowClient:
        return self._one


CONF_SCHEMA = {
    "type": "object",
    "properties": {
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 1000},
        "date": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
        "options": {"type": "object", "properties": {"full_refresh": {"type": "boolean"}}},
    },
}


def make_settings(tmp_path: Path, **governance: Any) -> Settings:
    gov: dict[str, Any] = {
        "mode": "live",
        "approvers": ["alice", "bob", "carol"],
        "environments": {
            "dev": {
                "allow_dags": ["etl_*", "reports.daily"],
                "required_approvals": 1,
                "conf_schemas": [{"match": "etl_*", "schema": CONF_SCHEMA}],
            },
            "prod": {
                "allow_dags": ["etl_*"],
                "required_approvals": 2,
                "change_windows": [{"days": "mon-fri", "start": "09:00", "end": "17:00", "tz": "Europe/Berlin"}],
                "max_actions_per_dag_per_hour": 2,
            },
        },
    }
    gov.update(governance)
    data = {
        "environments": {
            "dev": {"airflow": {"url": "http://dev-airflow:8080"}},
            "prod": {"airflow": {"url": "http://prod-airflow:8080"}},
            "staging": {"airflow": {"url": "http://staging-airflow:8080"}},
        },
        "governance": gov,
        "data_dir": str(tmp_path),
    }
    return parse_settings(data, "test")


def run(coro: Any) -> Any:
    return asyncio.run(coro)
