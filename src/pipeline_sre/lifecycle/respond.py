"""The whole lifecycle for one failure, with no LLM: detect -> triage -> diagnose -> propose -> request
approval -> (a human approves) -> execute -> verify -> postmortem. Used by the autopilot and webhooks.

Every write still goes through the governed path; a failure to recover is escalated, never retried.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_sre.errors import PipelineSreError
from pipeline_sre.lifecycle import detect, diagnose, postmortem, remediate, triage, verify
from pipeline_sre.lifecycle.incidents import Incident
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.models import iso

log = logging.getLogger("pipeline_sre.respond")
AUTOPILOT = "autopilot"


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
            "errors": self.errors,
        }


async def handle_failed_run(
    rt: Runtime, env: str, dag_id: str, run_id: str, *, shadow: bool = False, report: CycleReport | None = None
) -> Incident | None:
    """Take one failed run through triage, diagnosis and a proposal; None if another pass already did."""
    report = report or CycleReport()
    if not await asyncio.to_thread(rt.incidents.claim_run, env, dag_id, run_id):
        return None
    report.detected += 1
    summary = await triage.triage(rt, dag_id, run_id, env)
    errors = await diagnose.extract_errors(rt, dag_id, run_id, None, env)
    incident, joined = await asyncio.to_thread(remediate.open_incident, rt, env, summary, errors)
    if joined:
        report.joined += 1
        return incident
    report.new_incidents.append(incident.id)
    plan = await asyncio.to_thread(
        remediate.plan_and_propose, rt, env, summary, errors, requested_by=AUTOPILOT, incident_id=incident.id,
        automated=True, shadow=shadow,
    )  # fmt: skip
    incident = await asyncio.to_thread(remediate.record_plan, rt, incident.id, plan)
    action = plan.get("action")
    category = plan["diagnosis"]["category"]
    if shadow:
        return incident
    if action is None:
        decision = plan.get("decision") or {}
        reason = decision.get("message") or "no safe automated action"
        result = await verify.escalate(rt, incident.id, f"{decision.get('rule', 'no action')}: {reason}", by=AUTOPILOT)
        report.escalated.append(incident.id)
        log.info("escalated %s: %s", incident.id, result["reason"])
        return rt.incidents.get(incident.id)
    reason = (
        f"{category} in {dag_id}/{run_id}: {plan['plan']['why']} Impact: {plan['plan']['impact']} "
        f"Risk: {plan['plan']['risk']['level']}. Rollback: {plan['plan']['rollback']}"
    )
    await asyncio.to_thread(remediate.request_approval, rt, action["id"], reason, AUTOPILOT)
    incident = rt.incidents.get(incident.id)
    report.proposed.append(action["id"])
    await rt.notifier.send(
        "approval_requested",
        {
            **incident.summary(),
            "action_id": action["id"],
            "kind": action["kind"],
            "call": action["call"],
            "risk": plan["plan"]["risk"],
            "how_to_approve": f"pipeline-sre approvals approve {action['id']} --as NAME",
        },
    )
    return incident


async def advance_open_incidents(rt: Runtime, report: CycleReport | None = None) -> CycleReport:
    """Move every open incident one step on: execute what humans approved, verify, close the loop."""
    report = report or CycleReport()
    acted_on = await asyncio.to_thread(rt.incidents.list, None, None, ("awaiting_approval", "executing", "verifying"))
    for incident in [*acted_on, *await asyncio.to_thread(_signals_without_action, rt)]:
        try:
            await _advance(rt, incident, report)
        except PipelineSreError as err:
            report.errors.append(f"{incident.id}: {err.code}: {err.message}")
    for incident in await asyncio.to_thread(rt.incidents.list, None, None, ("resolved", "escalated")):
        if incident.postmortem_path is None:
            try:
                written = await postmortem.write_postmortem(rt, incident.id)
                report.postmortems.append(written["markdown"])
            except PipelineSreError as err:
                report.errors.append(f"{incident.id}: postmortem: {err.message}")
    return report


def _signals_without_action(rt: Runtime) -> list[Incident]:
    """Signal incidents nobody acted on: their condition is verified all the same (it may clear by itself,
    or persist until the timeout escalates it)."""
    waiting = rt.incidents.list(None, None, ("detected", "triaged", "diagnosed", "proposed"), limit=500)
    return [i for i in waiting if i.source.startswith(verify.SIGNAL_SOURCE) and i.action_id is None]


async def _advance(rt: Runtime, incident: Incident, report: CycleReport) -> None:
    if incident.state == "awaiting_approval" and incident.action_id:
        record = await asyncio.to_thread(rt.governance.get_action, incident.action_id)
        if record.state in ("denied", "expired", "refused", "failed"):
            await verify.escalate(rt, incident.id, f"action {record.id} was {record.state}", by=AUTOPILOT)
            report.escalated.append(incident.id)
            return
        if record.state != "approved":
            return
        outcome = await remediate.execute(rt, record.id, AUTOPILOT)
        if outcome["sent"]:  # in dry_run the exact call is audited and a human runs it or switches to live
            report.executed.append(record.id)
        return
    if incident.state == "executing":
        rt.incidents.advance(incident.id, "verifying")
    verdict = await verify.check_recovery(rt, incident.id)
    if verdict["verdict"] == "recovered":
        report.resolved.append(incident.id)
        await rt.notifier.send("resolved", rt.incidents.get(incident.id).summary())
    elif verdict["verdict"] == "not_recovered":
        failed = "; ".join(c["detail"] for c in verdict["checks"] if c["ok"] is False)
        after = "after the action" if incident.action_id else "and no action was taken"
        await verify.escalate(rt, incident.id, f"not recovered {after}: {failed}", by=AUTOPILOT)
        report.escalated.append(incident.id)


async def detect_and_handle(
    rt: Runtime, window_minutes: int, *, shadow: bool = False, report: CycleReport | None = None
) -> CycleReport:
    """One detection pass over every environment: each failed run ending in the window, once."""
    report = report or CycleReport()
    since = iso(datetime.now(UTC) - timedelta(minutes=window_minutes))
    for env in rt.selected(None):
        cursor: str | None = None
        while True:
            try:
                page = await detect.failed_runs(rt, since=since, cursor=cursor, environment=env, limit=200)
            except PipelineSreError as err:
                report.errors.append(f"{env}: {err.message}")
                break
            for run in page["runs"]:
                try:
                    await handle_failed_run(rt, env, run["dag_id"], run["run_id"], shadow=shadow, report=report)
                except PipelineSreError as err:
                    report.errors.append(f"{env}/{run['dag_id']}/{run['run_id']}: {err.code}: {err.message}")
            cursor = page.get("cursor")
            if not cursor:
                break
    return report
