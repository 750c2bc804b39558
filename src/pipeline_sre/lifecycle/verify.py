"""Verify: recovery is proven by rules, not assumed; a failed verification goes to a human.

`check_recovery` picks the evidence by the incident's source (Airflow and Alertmanager alerts here,
Databricks in `verify_databricks`, metric signals in `verify_signals`) and reaches the verdict by
`verify_rules`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.service import ActionRecord
from pipeline_sre.lifecycle import verify_databricks, verify_signals
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.triage import check_ids
from pipeline_sre.lifecycle.verify_rules import (
    Evidence,
    check,
    decide,
    no_new_failure,
    quiet_check,
    run_check,
    tasks_check,
)
from pipeline_sre.models import DagRun, iso, parse_time
from pipeline_sre.settings.config import VerifyConfig
from pipeline_sre.store.incidents import TERMINAL, Incident


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


FAILED_ACTION_STATES = ("failed", "denied", "expired", "refused")
SIGNAL_SOURCE = "signal:"
ALERT_SOURCE = "metric"  # Prometheus Alertmanager webhooks


def _executed(rt: Runtime, incident: Incident) -> tuple[ActionRecord | None, dict[str, Any]]:
    """The incident's action once it ran, and the action_executed check either way."""
    if not incident.action_id:
        return None, check("action_executed", None, "no action has been executed for this incident")
    record = rt.governance.get_action(incident.action_id)
    if record.state != "succeeded":
        failed = record.state in FAILED_ACTION_STATES
        return None, check("action_executed", False if failed else None, f"action {record.id} is {record.state}")
    return record, check("action_executed", True, f"{record.action.kind} {record.id} ran at {iso(record.executed_at)}")


async def _airflow_evidence(
    rt: Runtime, incident: Incident, record: ActionRecord, rules: VerifyConfig, now: datetime
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


_RUN_EVIDENCE = {"airflow": _airflow_evidence, "databricks": verify_databricks.evidence}


def _alert_evidence(incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
    """An Alertmanager incident recovers when Alertmanager reports the alert resolved and it stays so for
    quiet_minutes (a re-firing alert joins the incident and sets it firing again)."""
    facts = incident.facts
    if facts.get("alert_status") != "resolved":
        pending = check("alert_resolved", None, "Alertmanager still reports the alert firing")
        return Evidence([pending], incident.opened_at, "detection")
    resolved_at = parse_time(facts.get("alert_resolved_at")) or now
    resolved_at = min(max(resolved_at, incident.opened_at), now)  # within what we have seen of it
    checks = [
        check("alert_resolved", True, f"Alertmanager resolved the alert at {iso(resolved_at)}"),
        quiet_check("stays_clear", resolved_at, now, rules.quiet_minutes, "re-firing of the alert"),
    ]
    return Evidence(checks, incident.opened_at, "detection")


async def check_recovery(rt: Runtime, incident_id: str, *, by: str = "system:verify") -> dict[str, Any]:
    incident = rt.incidents.get(incident_id)
    rules = rt.settings.incidents.verify
    now = rt.incidents.clock()  # the store's clock, which also stamps the incident's steps
    source_evidence = _RUN_EVIDENCE.get(incident.source)
    if incident.source.startswith(SIGNAL_SOURCE):
        evidence = await verify_signals.evidence(rt, incident, rules, now)
    elif source_evidence is not None:  # a run proves the fix, so the action must have run first
        record, executed = await asyncio.to_thread(_executed, rt, incident)
        evidence = Evidence([executed])
        if record is not None:
            evidence = await source_evidence(rt, incident, record, rules, now)
            evidence.checks.insert(0, executed)
    elif incident.source == ALERT_SOURCE:
        evidence = _alert_evidence(incident, rules, now)
    else:
        reason = f"{incident.source} incidents have no recovery rules: a human judges them (escalate if needed)"
        evidence = Evidence([check("source", None, reason)])
    return _verdict(rt, incident, decide(evidence, rules, now), evidence, now, by)


RECHECK = timedelta(seconds=60)  # a run still going: its state may change any time


def _next_check(evidence: Evidence, now: datetime) -> datetime:
    """The end of the last quiet period still running, or a minute from now while a run is still going."""
    waiting = [c for c in evidence.checks if c.get("ok") is None]
    quiet_ends = [end for c in waiting if (end := parse_time(c.get("until"))) is not None]
    if quiet_ends and len(quiet_ends) == len(waiting):
        return max(quiet_ends)
    return now + RECHECK


def _verdict(rt: Runtime, incident: Incident, state: str, evidence: Evidence, now: datetime, by: str) -> dict[str, Any]:
    verdict = {"verdict": state, "checked_at": iso(now), "checks": evidence.checks, **evidence.keep}
    resolved_now = False
    if incident.state in TERMINAL:
        rt.incidents.mark(incident.id, verdict=verdict)
    elif state == "recovered":
        if incident.state != "verifying":
            rt.incidents.advance(incident.id, "verifying", by=by)
        resolved_now = rt.incidents.move(incident.id, "resolved", by=by, verdict=verdict)[1]
    else:
        rt.incidents.mark(incident.id, verdict=verdict)
    out: dict[str, Any] = {"incident_id": incident.id, **verdict}
    if state == "pending":  # when looking again can change the answer, so nobody polls blindly
        out["next_check_at"] = iso(_next_check(evidence, now))
    if state == "recovered" and incident.state not in TERMINAL:
        out["resolved_now"] = resolved_now
    if state == "not_recovered":
        out["next"] = f"escalate('{incident.id}', reason): do not retry blindly"
    return out
