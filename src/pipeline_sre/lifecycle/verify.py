"""Verify: recovery is proven by rules, not assumed; a failed verification goes to a human."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_sre.errors import InvalidInput
from pipeline_sre.lifecycle.incidents import TERMINAL, Incident
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.triage import check_ids
from pipeline_sre.models import DagRun, iso

RUNNING_STATES = ("queued", "running", "restarting", "up_for_retry", "scheduled", "deferred", "none")


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


def _target_run(rt: Runtime, incident: Incident) -> tuple[str | None, str, datetime | None]:
    """The run whose outcome proves the fix, a reason, and when the fix was applied."""
    if not incident.action_id:
        return None, "no action has been executed for this incident", None
    record = rt.governance.get_action(incident.action_id)
    if record.state != "succeeded":
        return None, f"action {record.id} is {record.state}", None
    if record.action.kind == "clear_failed_tasks":
        return str(record.action.params["dag_run_id"]), "the cleared run", record.executed_at
    return record.action.run_id, "the run the action triggered", record.executed_at


async def check_recovery(rt: Runtime, incident_id: str) -> dict[str, Any]:
    incident = rt.incidents.get(incident_id)
    rules = rt.settings.incidents.verify
    now = datetime.now(UTC)
    checks: list[dict[str, Any]] = []
    if incident.source != "airflow":
        return _verdict(
            rt,
            incident,
            "pending",
            [_check("source", None, f"{incident.source} incidents are verified by their runbook's metric rule")],
        )
    run_id, why, applied_at = await asyncio.to_thread(_target_run, rt, incident)
    if run_id is None:
        action_failed = why.endswith((" failed", " denied", " expired", " refused"))
        state = "not_recovered" if action_failed else "pending"
        return _verdict(rt, incident, state, [_check("action_executed", False if action_failed else None, why)])
    checks.append(_check("action_executed", True, f"{why}: {run_id}"))
    client = rt.airflow(incident.environment)
    run = await client.get_dag_run(incident.subject, run_id)
    if rules.require_run_success:
        ok = True if run.state == "success" else False if run.state == "failed" else None
        checks.append(_check("run_succeeded", ok, f"run {run_id} is {run.state}"))
    if rules.require_failed_tasks_success:
        failed_before = set(incident.facts.get("failed_tasks") or ([incident.task_id] if incident.task_id else []))
        states = {t.task_id: t.state for t in await client.task_instances(incident.subject, run_id)}
        bad = sorted(t for t in failed_before if states.get(t) in ("failed", "upstream_failed"))
        pending = sorted(t for t in failed_before if states.get(t) != "success" and t not in bad)
        ok = False if bad else None if pending else True
        detail = (
            f"failed again: {bad}"
            if bad
            else f"not finished: {pending}"
            if pending
            else f"succeeded: {sorted(failed_before)}"
        )
        checks.append(_check("failed_tasks_succeeded", ok, detail))
    if run.end_date is not None and run.state == "success":
        later = await client.list_dag_runs(dag_id=incident.subject, end_gte=run.end_date, limit=1)
        quiet_left = run.end_date + timedelta(minutes=rules.quiet_minutes) - now
        if later.total:
            checks.append(_check("no_new_failure", False, f"{later.total} failed run(s) of the DAG since recovery"))
        elif quiet_left.total_seconds() > 0:
            checks.append(
                _check("no_new_failure", None, f"quiet period: {int(quiet_left.total_seconds() // 60) + 1} min left")
            )
        else:
            checks.append(_check("no_new_failure", True, f"no failure for {rules.quiet_minutes} min after recovery"))
    if any(c["ok"] is False for c in checks):
        state = "not_recovered"
    elif all(c["ok"] for c in checks):
        state = "recovered"
    elif applied_at and now - applied_at > timedelta(minutes=rules.timeout_minutes):
        checks.append(_check("timeout", False, f"still pending {rules.timeout_minutes} min after the action"))
        state = "not_recovered"
    else:
        state = "pending"
    return _verdict(rt, incident, state, checks)


def _check(rule: str, ok: bool | None, detail: str) -> dict[str, Any]:
    return {"rule": rule, "ok": ok, "detail": detail}


def _verdict(rt: Runtime, incident: Incident, state: str, checks: list[dict[str, Any]]) -> dict[str, Any]:
    verdict = {"verdict": state, "checked_at": iso(datetime.now(UTC)), "checks": checks}
    if incident.state in TERMINAL:
        rt.incidents.mark(incident.id, verdict=verdict)
    elif state == "recovered":
        if incident.state != "verifying":
            rt.incidents.advance(incident.id, "verifying")
        rt.incidents.advance(incident.id, "resolved", verdict=verdict)
    else:
        rt.incidents.mark(incident.id, verdict=verdict)
    out: dict[str, Any] = {"incident_id": incident.id, **verdict}
    if state == "not_recovered":
        out["next"] = f"escalate('{incident.id}', reason): do not retry blindly"
    return out


async def escalate(rt: Runtime, incident_id: str, reason: str, *, by: str) -> dict[str, Any]:
    reason = rt.redact(reason.strip())[:2000]
    if not reason:
        raise InvalidInput("reason must say why a human is needed (what failed, what was tried)")
    incident = rt.incidents.get(incident_id)
    if incident.state == "escalated":
        return {"incident": incident.summary(), "message": "already escalated"}
    incident = rt.incidents.advance(incident_id, "escalated", escalation_reason=reason)
    await rt.notifier.send("escalated", {**incident.summary(), "reason": reason, "by": by})
    return {"incident": incident.summary(), "reason": reason, "notified": True}
