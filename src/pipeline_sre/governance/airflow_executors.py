"""Executors for the Airflow actions: the only code that sends writes to Airflow.

Each one makes exactly the call its action kind describes (the call is part of the approved digest),
and can tell after a crash whether that call already happened.
"""

from __future__ import annotations

from typing import Any

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.connectors.clients import Clients
from pipeline_sre.errors import BackendRefused
from pipeline_sre.governance.actions import Action, clear_note, get_kind
from pipeline_sre.models import iso


class _AirflowExecutor:
    kind = ""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def describe_call(self, action: Action) -> dict[str, Any]:
        return get_kind(self.kind).describe_call(action)

    def client(self, action: Action) -> AirflowClient:
        return self.clients.airflow(action.environment)


class ClearFailedTasksExecutor(_AirflowExecutor):
    kind = "clear_failed_tasks"

    async def execute(self, action: Action) -> dict[str, Any]:
        p = action.params
        cleared = await self.client(action).clear_task_instances(
            p["dag_id"], p["dag_run_id"], only_failed=True, note=clear_note(action.id)
        )
        return {"cleared_tasks": cleared, "dag_id": p["dag_id"], "dag_run_id": p["dag_run_id"]}

    async def find_existing(self, action: Action) -> dict[str, Any] | None:
        p = action.params
        marked = [
            t.task_id
            for t in await self.client(action).task_instances(p["dag_id"], p["dag_run_id"])
            if t.note and action.id in t.note
        ]
        if not marked:
            return None
        return {
            "cleared_tasks": marked,
            "dag_id": p["dag_id"],
            "dag_run_id": p["dag_run_id"],
            "recovered": True,
        }


class TriggerDagExecutor(_AirflowExecutor):
    kind = "trigger_dag"

    async def execute(self, action: Action) -> dict[str, Any]:
        p = action.params
        client = self.client(action)
        try:
            run = await client.trigger_dag_run(p["dag_id"], action.run_id, p.get("conf") or {}, p.get("note"))
        except BackendRefused as err:
            # 409: the deterministic run id exists, so this action already ran; report that run.
            existing = await self.find_existing(action)
            if existing is None or "409" not in err.message:
                raise
            return existing
        return {"dag_id": run.dag_id, "dag_run_id": run.run_id, "state": run.state}

    async def find_existing(self, action: Action) -> dict[str, Any] | None:
        run = await self.client(action).find_dag_run(action.params["dag_id"], action.run_id)
        if run is None:
            return None
        return {
            "dag_id": run.dag_id,
            "dag_run_id": run.run_id,
            "state": run.state,
            "start": iso(run.start_date),
        }


def airflow_executors(clients: Clients) -> list[ClearFailedTasksExecutor | TriggerDagExecutor]:
    return [ClearFailedTasksExecutor(clients), TriggerDagExecutor(clients)]
