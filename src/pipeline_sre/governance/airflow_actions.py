"""The Airflow action kinds: their params, and the executors that are the only code writing to Airflow.

Each executor sends exactly the request its client builds for the Airflow this environment runs (the
request is part of the approved digest: `AirflowClient.clear_request` / `trigger_request`, as MWAA's
CLI path would run it where that is the path), and can tell after a crash whether it already happened.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.errors import BackendRefused
from pipeline_sre.governance.actions import Action, ActionKind, ActionParams, KindExecutor
from pipeline_sre.models import iso


def _dag_id(v: str) -> str:
    if not v or len(v) > 250 or not all(c.isalnum() or c in "._-" for c in v):
        raise ValueError("must be a DAG id: letters, digits, '.', '_' and '-' (max 250)")
    return v


class ClearFailedTasksParams(ActionParams):
    """Rerun only the failed tasks of one DAG run (and their downstream), resetting the run to queued."""

    dag_id: str
    dag_run_id: str = Field(min_length=1, max_length=250)

    _check_dag = field_validator("dag_id")(_dag_id)


class TriggerDagParams(ActionParams):
    """A new DAG run with a validated conf; its run id is derived from the action id."""

    dag_id: str
    conf: dict[str, Any] = Field({})
    note: str | None = Field(None, max_length=1000)

    _check_dag = field_validator("dag_id")(_dag_id)


def clear_note(action_id: str) -> str:
    """Marks the cleared task instances (Airflow 3): crash recovery looks for it before anything else."""
    return f"pipeline-sre {action_id}"


def _dag_of(p: BaseModel) -> str:
    return str(getattr(p, "dag_id"))  # noqa: B009 - both Airflow params models have dag_id


def _conf_of(p: BaseModel) -> dict[str, Any] | None:
    return dict(p.conf) if isinstance(p, TriggerDagParams) else None


class _AirflowExecutor(KindExecutor):
    def client(self, action: Action) -> AirflowClient:
        return self.clients.airflow(action.environment)

    async def prepare(self, action: Action) -> None:
        """The request differs between Airflow 2 and 3: know which one this is."""
        await self.client(action).detected_version()


class ClearFailedTasksExecutor(_AirflowExecutor):
    def describe_call(self, action: Action) -> dict[str, Any]:
        p = action.params
        client = self.client(action)
        return client.described(client.clear_request(p["dag_id"], p["dag_run_id"], note=clear_note(action.id)))

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
    def describe_call(self, action: Action) -> dict[str, Any]:
        p = action.params
        client = self.client(action)
        return client.described(client.trigger_request(p["dag_id"], action.run_id, p.get("conf") or {}, p.get("note")))

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


CLEAR_FAILED_TASKS = ActionKind(
    kind="clear_failed_tasks",
    params_model=ClearFailedTasksParams,
    description="Rerun only the failed tasks of a DAG run",
    resource=_dag_of,
    executor=ClearFailedTasksExecutor,
    is_rerun=True,
    resend_safe=False,  # Airflow cannot tell a second clear from the first
)
TRIGGER_DAG = ActionKind(
    kind="trigger_dag",
    params_model=TriggerDagParams,
    description="Start a new DAG run with a validated conf",
    resource=_dag_of,
    executor=TriggerDagExecutor,
    conf=_conf_of,
    is_rerun=True,
    resend_safe=True,  # its deterministic run id makes Airflow refuse a second one (409)
)
