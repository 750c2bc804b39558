"""The whole lifecycle for one failure, with no LLM: detect -> triage -> diagnose -> propose -> request
approval -> (a human approves) -> execute -> verify -> postmortem. Used by the autopilot and webhooks.

Failures come from Airflow runs, Databricks job runs and Prometheus signal detectors. Every write still goes
through the governed path; a failure to recover is escalated, never retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_sre.app import operations
from pipeline_sre.connectors.databricks import job_resource
from pipeline_sre.errors import BackendUnavailable, PipelineSreError
from pipeline_sre.governance.audit import AuditEvent, AuditValue
from pipeline_sre.governance.identity import AUTOPILOT
from pipeline_sre.lifecycle import databricks as dbx
from pipeline_sre.lifecycle import detect, diagnose, metrics, plan_ranking, postmortem, remediate, triage, verify
from pipeline_sre.lifecycle.metrics import Signal
from pipeline_sre.lifecycle.remediate import Plan
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.models import iso
from pipeline_sre.store.incidents import Incident

log = logging.getLogger("pipeline_sre.respond")
SHADOW_PREFIX = "shadow:"  # shadow claims live apart from live ones: going live sees every failure again


@dataclass(slots=True)
class CycleReport:
    """What one pass did, for logs, metrics and `watch --once` output."""

    detected: int = 0
    new_incidents: list[str] = field(default_factory=list)
    joined: int = 0
    proposed: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    postmortems: list[str] = field(default_factory=list)
    shadow_plans: list[dict[str, str]] = field(default_factory=list)  # {"where", "kind"}
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "detected": self.detected,
            "new_incidents": self.new_incidents,
            "joined": self.joined,
            "proposed": self.proposed,
            "executed": self.executed,
            "resolved": self.resolved,
            "escalated": self.escalated,
            "postmortems": self.postmortems,
            "shadow_plans": self.shadow_plans,
            "errors": self.errors,
        }


async def handle_failed_run(
    rt: Runtime, env: str, dag_id: str, run_id: str, *, shadow: bool = False, report: CycleReport | None = None
) -> Incident | None:
    """Take one failed run through triage, diagnosis and a proposal; None if another pass already did (and
    always None in shadow mode, which opens no incident)."""
    report = report or CycleReport()
    claim_subject = SHADOW_PREFIX + dag_id if shadow else dag_id
    if not await asyncio.to_thread(rt.incidents.claim_run, env, claim_subject, run_id):
        return None
    report.detected += 1
    async with _retry_on_outage(rt, env, claim_subject, run_id):
        summary = await triage.triage(rt, dag_id, run_id, env)
        errors = await diagnose.extract_errors(rt, dag_id, run_id, None, env)
    plan = remediate.plan_for(rt, env, summary, errors)
    plan = await asyncio.to_thread(plan_ranking.remembered_plan, rt, env, summary, errors, plan)
    if shadow:
        await _shadow_plan(rt, env, dag_id, run_id, plan, report)
        await asyncio.to_thread(rt.incidents.finish_run, env, claim_subject, run_id)
        return None
    incident, joined = await asyncio.to_thread(remediate.open_incident, rt, env, summary, errors, by=AUTOPILOT.actor)
    if joined:
        report.joined += 1
        return incident
    report.new_incidents.append(incident.id)
    result = await asyncio.to_thread(operations.propose_plan, rt, AUTOPILOT, incident.id, plan, env, automated=True)
    return await _follow_plan(rt, incident.id, result, f"{dag_id}/{run_id}", report=report)


async def handle_failed_job_run(
    rt: Runtime, env: str, job_id: int, run_id: int, *, shadow: bool = False, report: CycleReport | None = None
) -> Incident | None:
    """The same for a failed Databricks job run (diagnosed from its output and cluster events; the write is a
    repair of its failed tasks); None if another pass already took it, or in shadow mode."""
    report = report or CycleReport()
    subject = job_resource(job_id)  # "databricks:job/N": a DAG id has no ':' or '/', so the claims never collide
    claim_subject = SHADOW_PREFIX + subject if shadow else subject
    if not await asyncio.to_thread(rt.incidents.claim_run, env, claim_subject, str(run_id)):
        return None
    report.detected += 1
    async with _retry_on_outage(rt, env, claim_subject, str(run_id)):
        diagnosis = await dbx.diagnose_job_run(rt, run_id, env, open_incident=not shadow)
        plan = await dbx.plan_repair(rt, diagnosis) if diagnosis.get("tasks") else None
    if plan is None or shadow:
        if plan is not None:
            await _shadow_plan(rt, env, subject, str(run_id), plan, report)
        await asyncio.to_thread(rt.incidents.finish_run, env, claim_subject, str(run_id))  # nothing to act on
        return None
    incident_id = diagnosis.get("incident_id")
    if incident_id is None:
        return None
    if diagnosis["incident_joined"]:
        report.joined += 1
        return await asyncio.to_thread(rt.incidents.get, incident_id)
    report.new_incidents.append(incident_id)
    result = await asyncio.to_thread(operations.propose_plan, rt, AUTOPILOT, incident_id, plan, env, automated=True)
    return await _follow_plan(rt, incident_id, result, f"{subject} run {run_id}", report=report)


async def _shadow_plan(rt: Runtime, env: str, subject: str, run_id: str, plan: Plan, report: CycleReport) -> None:
    """Shadow mode: the plan is recorded (audit log) and posted, marked as shadow, so the team can judge it;
    nothing is stored as an incident or a claim a live cycle would join, and no action is proposed."""
    decision = plan.result.get("decision") or {}
    entry: dict[str, AuditValue] = {
        "environment": env,
        "subject": subject,
        "run_id": run_id,
        "runbook": plan.runbook_id,
        "category": (plan.result.get("diagnosis") or {}).get("category"),
        "would_propose": plan.kind,
        "params": plan.params,
        "escalate": plan.kind is None,
        "decision_rule": decision.get("rule"),
    }
    event = AuditEvent("autopilot.shadow_plan", AUTOPILOT.actor, AUTOPILOT.kind, detail=entry)
    await asyncio.to_thread(rt.governance.audit.append, event)
    report.shadow_plans.append({"where": f"{env}/{subject}/{run_id}", "kind": plan.kind or "escalate"})
    await rt.notifier.send("shadow_plan", {**entry, "shadow": True, "plan": plan.result.get("plan")})


@asynccontextmanager
async def _retry_on_outage(rt: Runtime, env: str, subject: str, run_id: str) -> AsyncIterator[None]:
    """A backend outage before the incident exists releases the run's claim, so the next cycle tries it again
    at once (were the release lost too, the claim's lease runs out and any replica takes the run over).
    Other errors keep the claim (retrying would fail the same way)."""
    try:
        yield
    except BackendUnavailable:
        await asyncio.to_thread(rt.incidents.release_run, env, subject, run_id)
        raise


async def _follow_plan(
    rt: Runtime, incident_id: str, plan: dict[str, Any], where: str, *, report: CycleReport
) -> Incident:
    """Escalate a new incident whose plan has no write, or ask a human to approve its write."""
    incident = await asyncio.to_thread(rt.incidents.get, incident_id)
    action = plan.get("action")
    if action is None:
        decision = plan.get("decision") or {}
        reason = decision.get("message") or "no safe automated action"
        result = await operations.escalate(rt, AUTOPILOT, incident.id, f"{decision.get('rule', 'no action')}: {reason}")
        report.escalated.append(incident.id)
        log.info("escalated %s: %s", incident.id, result["reason"])
        return await asyncio.to_thread(rt.incidents.get, incident.id)
    reason = (
        f"{plan['diagnosis']['category']} in {where}: {plan['plan']['why']} Impact: {plan['plan']['impact']} "
        f"Risk: {plan['plan']['risk']['level']}. Rollback: {plan['plan']['rollback']}"
    )
    await asyncio.to_thread(operations.request_approval, rt, AUTOPILOT, action["id"], reason)
    incident = await asyncio.to_thread(rt.incidents.get, incident.id)
    report.proposed.append(action["id"])
    await rt.notifier.send(
        "approval_requested",
        {
            **incident.summary(),
            "action_id": action["id"],
            "kind": action["kind"],
            "call": action["call"],
            "risk": plan["plan"]["risk"],
            "plan": plan["plan"],
            "how_to_approve": f"pipeline-sre approvals approve {action['id']} (or the console, or Slack)",
        },
    )
    return incident


async def advance_open_incidents(rt: Runtime, report: CycleReport | None = None) -> CycleReport:
    """Move every open incident one step on: execute what humans approved, verify, close the loop."""
    report = report or CycleReport()
    for record in await operations.recover_stuck(rt, AUTOPILOT):
        report.errors += (
            [f"{record.id}: recovered after its executor stopped: {record.state}"] if record.state == "failed" else []
        )
    acted_on = await asyncio.to_thread(rt.incidents.list, None, None, ("awaiting_approval", "executing", "verifying"))
    for incident in [*acted_on, *await asyncio.to_thread(_metrics_without_action, rt)]:
        try:
            await _advance(rt, incident, report)
        except PipelineSreError as err:
            report.errors.append(f"{incident.id}: {err.code}: {err.message}")
    for incident in await asyncio.to_thread(rt.incidents.list, None, None, ("resolved", "escalated")):
        if incident.postmortem_path is None and await asyncio.to_thread(rt.incidents.claim_postmortem, incident.id):
            try:
                written = await postmortem.write_postmortem(rt, incident.id)
                report.postmortems.append(written["path"])
            except PipelineSreError as err:
                report.errors.append(f"{incident.id}: postmortem: {err.message}")
    return report


def _metrics_without_action(rt: Runtime) -> list[Incident]:
    """Signal and Alertmanager incidents nobody acted on: their condition is verified all the same (it may
    clear by itself, or persist until the timeout escalates it)."""
    waiting = rt.incidents.list(None, None, ("detected", "triaged", "diagnosed", "proposed"), limit=500)
    metric = [i for i in waiting if i.source.startswith(verify.SIGNAL_SOURCE) or i.source == verify.ALERT_SOURCE]
    return [i for i in metric if i.action_id is None]


async def _advance(rt: Runtime, incident: Incident, report: CycleReport) -> None:
    if incident.state == "awaiting_approval" and incident.action_id:
        record = await asyncio.to_thread(rt.governance.get_action, incident.action_id)
        if record.state in ("denied", "expired", "refused", "failed"):
            await operations.escalate(rt, AUTOPILOT, incident.id, f"action {record.id} was {record.state}")
            report.escalated.append(incident.id)
            return
        if record.state != "approved":
            return
        outcome = await operations.execute(rt, AUTOPILOT, record.id)
        if outcome["sent"]:  # in dry_run the exact call is audited and a human runs it or switches to live
            report.executed.append(record.id)
        return
    if incident.state == "executing":
        rt.incidents.advance(incident.id, "verifying", by=AUTOPILOT.actor)
    verdict = await verify.check_recovery(rt, incident.id, by=AUTOPILOT.actor)
    if verdict["verdict"] == "recovered" and verdict.get("resolved_now"):  # one replica resolves and notifies
        report.resolved.append(incident.id)
        await rt.notifier.send("resolved", rt.incidents.get(incident.id).summary())
    elif verdict["verdict"] == "not_recovered":
        failed = "; ".join(c["detail"] for c in verdict["checks"] if c["ok"] is False)
        after = "after the action" if incident.action_id else "and no action was taken"
        await operations.escalate(rt, AUTOPILOT, incident.id, f"not recovered {after}: {failed}")
        report.escalated.append(incident.id)


def polled_sources(rt: Runtime, env: str) -> list[str]:
    """What a cycle polls in one environment: Airflow always; Databricks, and signals (Prometheus or Kinesis),
    when configured there and not switched off under `autopilot`."""
    conf, options = rt.settings.environments[env], rt.settings.autopilot
    return [
        "airflow",
        *(["databricks"] if options.databricks and conf.databricks is not None else []),
        *(["prometheus"] if options.signals and (conf.prometheus is not None or conf.kinesis is not None) else []),
    ]


async def detect_and_handle(
    rt: Runtime, window_minutes: int, *, shadow: bool = False, report: CycleReport | None = None
) -> CycleReport:
    """One detection pass over every environment: each failed Airflow and Databricks run ending in the window,
    once, and each signal firing now. A source that is down is reported; the others still run."""
    report = report or CycleReport()
    since = datetime.now(UTC) - timedelta(minutes=window_minutes)
    for env in rt.selected(None):
        sources = polled_sources(rt, env)
        await _airflow_failures(rt, env, since, shadow, report)
        if "databricks" in sources:
            await _databricks_failures(rt, env, since, shadow, report)
        if "prometheus" in sources:
            await _signal_incidents(rt, env, shadow, report)
    return report


async def _airflow_failures(rt: Runtime, env: str, since: datetime, shadow: bool, report: CycleReport) -> None:
    cursor: str | None = None
    while True:
        try:
            page = await detect.failed_runs(rt, since=iso(since), cursor=cursor, environment=env, limit=200)
        except PipelineSreError as err:
            report.errors.append(f"{env}: {err.message}")
            return
        for run in page["runs"]:
            try:
                await handle_failed_run(rt, env, run["dag_id"], run["run_id"], shadow=shadow, report=report)
            except PipelineSreError as err:
                report.errors.append(f"{env}/{run['dag_id']}/{run['run_id']}: {err.code}: {err.message}")
        cursor = page.get("cursor")
        if not cursor:
            return


async def _databricks_failures(rt: Runtime, env: str, since: datetime, shadow: bool, report: CycleReport) -> None:
    try:
        runs = await dbx.failed_runs_in(rt, env, since)
    except PipelineSreError as err:
        report.errors.append(f"{env}: {err.message}")
        return
    for run in runs:
        job_id, run_id = int(run.get("job_id") or 0), int(run["run_id"])
        try:
            await handle_failed_job_run(rt, env, job_id, run_id, shadow=shadow, report=report)
        except PipelineSreError as err:
            report.errors.append(f"{env}/{job_resource(job_id)}/{run_id}: {err.code}: {err.message}")


async def _signal_incidents(rt: Runtime, env: str, shadow: bool, report: CycleReport) -> None:
    """One incident per signal firing now, opened or joined. Nothing is proposed (a configuration change is a
    human's, through rollout_config): a new incident is notified with the runbook's suggestions, and
    `advance_open_incidents` verifies its condition every cycle until it clears or times out."""
    try:
        found, failed, _ = await metrics.signals_for(rt, env)
    except PipelineSreError as err:
        report.errors.append(f"{env}: {err.message}")
        return
    report.errors += [f"{env}: detector {f['detector']}: {f['error']}: {f['message']}" for f in failed]
    signals = await asyncio.to_thread(_not_escalated, rt, env, found)
    report.detected += len(signals)  # a condition is detected in every cycle it holds; it joins its incident
    opened = await asyncio.to_thread(metrics.open_signal_incidents, rt, signals)
    for sig, entry in zip(signals, opened, strict=True):
        if entry["joined"]:
            report.joined += 1
            continue
        report.new_incidents.append(entry["incident_id"])
        advice = await asyncio.to_thread(metrics.signal_advice, rt, sig)
        incident = await asyncio.to_thread(rt.incidents.mark, entry["incident_id"], runbook_id=advice.get("runbook_id"))
        if not shadow:
            await rt.notifier.send("incident_opened", {**incident.summary(), "signal": sig.to_dict(), "plan": advice})


def _not_escalated(rt: Runtime, env: str, signals: list[Signal]) -> list[Signal]:
    """Leave out signals whose incident was escalated within the dedup window: the condition persisting is what
    the human already has, so it does not open (and page) again each timeout. Closing that incident ends this."""
    since = rt.incidents.clock() - rt.incidents.dedup_window
    escalated = rt.incidents.list(None, env, ("escalated",), limit=500)
    held = {(i.source, i.subject, i.signature) for i in escalated if i.opened_at >= since}
    return [s for s in signals if (s.source, s.subject, s.signature) not in held]
