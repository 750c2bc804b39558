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
    resend_safe = True

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    v3_only: frozenset[str] = frozenset()  # body fields the client sends to Airflow 3 only

    def describe_call(self, action: Action) -> dict[str, Any]:
        """The request the client will send, for the Airflow this environment runs: the digest (and so
        the approval) covers what is really sent, /api/v1 and its body on Airflow 2."""
        call = get_kind(self.kind).describe_call(action)
        if self.client(action).version == "2":
            body = {k: v for k, v in call["body"].items() if k not in self.v3_only}
            call = {**call, "path": call["path"].replace("/api/v2/", "/api/v1/", 1), "body": body}
        return call

    def client(self, action: Action) -> AirflowClient:
        return self.clients.airflow(action.environment)


class ClearFailedTasksExecutor(_AirflowExecutor):
    kind = "clear_failed_tasks"
    v3_only = frozenset({"note"})
    resend_safe = False  # Airflow cannot tell a second clear from the first

    async def execute(self, action: Action) -> dict[str, Any]:
        p = action.params
        cleared = await self.client(action).clear_task_instances(
            p["dag_id"], p["dag_run_id"], only_failed=True, note=clear_note(action.id)
        )
        return {"cleared_tasks": cleared, "dag_id": p["dag_id"], "dag_run_id": p["dag_run_id"]}

    async def find_existing(self, action: Action) -> dict[str, Any] | None:
        """Whether the run was cleared since the action was proposed (a clear is never sent twice): the
        clear's note on a task (Airflow 3), the run no longer failed (a clear resets it), or a task that
        started after the proposal (its rerun; the proposal needs a failed run, so nothing ran since)."""
        p = action.params
        client = self.client(action)
        tis = await client.task_instances(p["dag_id"], p["dag_run_id"])
        marked = [t.task_id for t in tis if t.note and action.id in t.note]
        rerun = [t.task_id for t in tis if t.start_date is not None and t.start_date > action.created_at]
        run = await client.get_dag_run(p["dag_id"], p["dag_run_id"])
        if not marked and not rerun and run.state == "failed":
            return None
        return {
            "cleared_tasks": marked
            or rerun
            or [t.task_id for t in tis if t.state not in ("failed", "upstream_failed")],
            "dag_id": p["dag_id"],
            "dag_run_id": p["dag_run_id"],
            "recovered": True,
            "found_by": "note" if marked else "a task started after the proposal" if rerun else f"run is {run.state}",
        }


class TriggerDagExecutor(_AirflowExecutor):
    kind = "trigger_dag"
    v3_only = frozenset({"logical_date"})

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
