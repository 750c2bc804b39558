"""Airflow verification: the run an executed clear or trigger produced, by the shared rules; and the two
reads an agent follows a fix with (the DAG's latest run, task states)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.service import ActionRecord
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow.triage import check_ids
from pipeline_sre.lifecycle.verify_rules import Evidence, no_new_failure, run_check, tasks_check
from pipeline_sre.models import DagRun, iso
from pipeline_sre.settings.config import VerifyConfig
from pipeline_sre.store.incidents import Incident


def _run_view(rt: Runtime, env: str, run: DagRun) -> dict[str, Any]:
    return {
        "env": env,
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "state": run.state,
        "run_type": run.run_type,
        "start": iso(run.start_date),
        "end": iso(run.end_date),
        "url": rt.airflow(env).run_url(run.dag_id, run.run_id),
    }


async def latest_run(rt: Runtime, dag_id: str, environment: str | None = None) -> dict[str, Any]:
    check_ids(dag_id=dag_id)
    env = rt.environment(environment)[0]
    page = await rt.airflow(env).list_dag_runs(dag_id=dag_id, states=(), limit=1, order_by="-run_after")
    if not page.items:
        return {"env": env, "dag_id": dag_id, "run": None, "message": "the DAG has no runs"}
    return {**_run_view(rt, env, page.items[0]), "runs_total": page.total}


async def task_states(
    rt: Runtime, dag_id: str, run_id: str, task_ids: list[str] | None = None, environment: str | None = None
) -> dict[str, Any]:
    check_ids(dag_id=dag_id, run_id=run_id)
    env = rt.environment(environment)[0]
    tis = await rt.airflow(env).task_instances(dag_id, run_id)
    known = {t.task_id for t in tis}
    if task_ids:
        unknown = sorted(set(task_ids) - known)
        if unknown:
            raise InvalidInput(f"unknown task id(s) {unknown} in {dag_id}; tasks: {', '.join(sorted(known))}")
    rows = [t for t in tis if not task_ids or t.task_id in task_ids]
    return {
        "env": env,
        "dag_id": dag_id,
        "run_id": run_id,
        "tasks": {t.task_id if t.map_index < 0 else f"{t.task_id}[{t.map_index}]": t.state for t in rows},
        "tries": {t.task_id: t.try_number for t in rows if t.map_index < 0},
    }


async def run_evidence(
    rt: Runtime, incident: Incident, record: ActionRecord, *, rules: VerifyConfig, now: datetime
) -> Evidence:
    """The cleared run (clear_failed_tasks) or the run the action triggered, by its deterministic id."""
    if record.action.kind == "clear_failed_tasks":
        run_id, what = str(record.action.params["dag_run_id"]), "the cleared run"
    else:
        run_id, what = record.action.run_id, "the triggered run"
    checks: list[dict[str, Any]] = []
    client = rt.airflow(incident.environment)
    run = await client.get_dag_run(incident.subject, run_id)
    if rules.require_run_success:
        ok = True if run.state == "success" else False if run.state == "failed" else None
        checks.append(run_check(f"{what} {run_id}", ok, str(run.state)))
    if rules.require_failed_tasks_success:
        tis = await client.task_instances(incident.subject, run_id)
        per_task: dict[str, list[bool | None]] = {}
        for ti in tis:  # a mapped task has one instance per index: all of them must succeed
            per_task.setdefault(ti.task_id, []).append(_task_ok(ti.state))
        outcome = {k: False if False in v else None if None in v else True for k, v in per_task.items()}
        checks.append(tasks_check(incident, outcome))
    if run.end_date is not None and run.state == "success":
        later = await client.list_dag_runs(dag_id=incident.subject, end_gte=run.end_date, limit=1)
        checks.append(no_new_failure(later.total, run.end_date, now, rules.quiet_minutes, "the DAG"))
    return Evidence(checks, record.executed_at)


def _task_ok(state: str | None) -> bool | None:
    return True if state == "success" else False if state in ("failed", "upstream_failed") else None
