"""The whole lifecycle for one failure, with no LLM: detect -> triage -> diagnose -> propose -> request
approval -> (a human approves) -> execute -> verify -> postmortem. Used by the autopilot and webhooks.

Failures come from the sources each environment enables (`lifecycle/sources/registry.py`: Airflow runs,
Databricks job runs, Prometheus and Kinesis signals), all handled alike. Every write still goes through the
governed path; a failure to recover is escalated, never retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pipeline_sre.app import github_reviews, operations
from pipeline_sre.app.notices import incident_notice
from pipeline_sre.errors import BackendUnavailable, PipelineSreError
from pipeline_sre.governance.audit import AuditEvent, AuditValue
from pipeline_sre.governance.identity import AUTOPILOT
from pipeline_sre.lifecycle import postmortem, verify
from pipeline_sre.lifecycle.plans import Plan
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow.source import AIRFLOW
from pipeline_sre.lifecycle.sources.base import Failure, Opening, Source, open_incident
from pipeline_sre.lifecycle.sources.registry import SOURCES, source_name
from pipeline_sre.store.incidents import Incident

log = logging.getLogger("pipeline_sre.respond")
F = TypeVar("F", bound=Failure)
D = TypeVar("D")
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
    reviews: list[str] = field(default_factory=list)  # GitHub reviews judged: "<review id>: <outcome>"
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
            "reviews": self.reviews,
            "errors": self.errors,
        }


async def handle_failed_run(
    rt: Runtime, env: str, dag_id: str, run_id: str, *, shadow: bool = False, report: CycleReport | None = None
) -> Incident | None:
    """A failed Airflow run pushed by its callback, handled as if a cycle had found it."""
    return await handle_failure(rt, AIRFLOW, Failure(env, dag_id, run_id), shadow=shadow, report=report)


async def handle_failure(
    rt: Runtime, source: Source[F, D], failure: F, *, shadow: bool = False, report: CycleReport | None = None
) -> Incident | None:
    """Take one failure through diagnosis, its incident and the runbook's plan: a write proposed for a human
    to approve, an escalation, or (a source that proposes nothing) an announcement. A failed run is claimed
    first, so it is handled once: None if another pass already did. Shadow mode only records the plan and
    opens no incident, so None too."""
    report = report or CycleReport()
    claim = _claim(failure, shadow)
    if claim is not None and not await asyncio.to_thread(rt.incidents.claim_run, failure.environment, *claim):
        return None
    report.detected += 1  # a condition is detected in every cycle it holds; it joins its incident
    async with _retry_on_outage(rt, failure.environment, claim):
        diagnosis = await source.diagnose(rt, failure)
        plan = await source.plan(rt, failure, diagnosis)
    opening = source.evidence(rt, failure, diagnosis)
    if shadow or opening is None:  # shadow, or a run that did not fail after all: nothing to act on
        if shadow and plan is not None:
            await _shadow_plan(rt, failure, plan, report)
        if claim is not None:
            await asyncio.to_thread(rt.incidents.finish_run, failure.environment, *claim)
        return None
    incident, joined = await asyncio.to_thread(open_incident, rt, opening, by=AUTOPILOT.actor)
    if joined:
        report.joined += 1
        return incident
    report.new_incidents.append(incident.id)
    if plan is None:
        await _announce(rt, incident, opening)
        return incident
    env = failure.environment
    result = await asyncio.to_thread(operations.propose_plan, rt, AUTOPILOT, incident.id, plan, env, automated=True)
    return await _follow_plan(rt, incident.id, result, failure.where, report=report)


def _claim(failure: Failure, shadow: bool) -> tuple[str, str] | None:
    """The (subject, run) claim of a failed run; a condition has none. Shadow claims live apart."""
    if failure.run_id is None:
        return None
    return (SHADOW_PREFIX + failure.subject if shadow else failure.subject), failure.run_id


async def _announce(rt: Runtime, incident: Incident, opening: Opening) -> None:
    """A new incident nobody proposes a write for goes to the channels with what its source suggests;
    `advance_open_incidents` verifies it every cycle until it clears or times out."""
    await rt.notifier.send("incident_opened", {**incident.summary(), **opening.announce})


async def _shadow_plan(rt: Runtime, failure: Failure, plan: Plan, report: CycleReport) -> None:
    """Shadow mode: the plan is recorded (audit log) and posted, marked as shadow, so the team can judge it;
    nothing is stored as an incident or a claim a live cycle would join, and no action is proposed."""
    decision = plan.result.get("decision") or {}
    env, subject, run_id = failure.environment, failure.subject, failure.run_id
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
async def _retry_on_outage(rt: Runtime, env: str, claim: tuple[str, str] | None) -> AsyncIterator[None]:
    """A backend outage before the incident exists releases the run's claim, so the next cycle tries it again
    at once (were the release lost too, the claim's lease runs out and any replica takes the run over).
    Other errors keep the claim (retrying would fail the same way)."""
    try:
        yield
    except BackendUnavailable:
        if claim is not None:
            await asyncio.to_thread(rt.incidents.release_run, env, *claim)
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
            **incident_notice(incident),
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
    await _sync_reviews(rt, report)
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


async def _sync_reviews(rt: Runtime, report: CycleReport) -> None:
    """GitHub reviews of config-change pull requests become approvals here too, with no inbound webhook."""
    try:
        synced = await github_reviews.sync_reviews(rt, AUTOPILOT)
    except PipelineSreError as err:
        report.errors.append(f"github reviews: {err.code}: {err.message}")
        return
    report.reviews += [f"{d['review_id']}: {d['outcome']}" for d in synced["decisions"]]
    report.errors += [f"github reviews: {problem}" for problem in synced.get("errors", [])]


def _metrics_without_action(rt: Runtime) -> list[Incident]:
    """Incidents of watched sources (signals, Alertmanager alerts) nobody acted on: their condition is verified
    all the same (it may clear by itself, or persist until the timeout escalates it)."""
    waiting = rt.incidents.list(None, None, ("detected", "triaged", "diagnosed", "proposed"), limit=500)
    watched = {s.name for s in SOURCES if s.watched}
    return [i for i in waiting if i.action_id is None and source_name(i.source) in watched]


async def _advance(rt: Runtime, incident: Incident, report: CycleReport) -> None:
    if incident.state == "awaiting_approval" and incident.action_id:
        record = await asyncio.to_thread(rt.governance.get_action, incident.action_id)
        if record.state in ("denied", "expired", "refused", "failed"):
            await operations.escalate(rt, AUTOPILOT, incident.id, f"action {record.id} was {record.state}")
            report.escalated.append(incident.id)
            return
        if record.state == "succeeded":  # it ran, but the incident's move after the call was lost
            await operations.settle_executed(rt, AUTOPILOT, record)
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
        await rt.notifier.send("resolved", incident_notice(rt.incidents.get(incident.id)))
    elif verdict["verdict"] == "not_recovered":
        failed = "; ".join(c["detail"] for c in verdict["checks"] if c["ok"] is False)
        after = "after the action" if incident.action_id else "and no action was taken"
        await operations.escalate(rt, AUTOPILOT, incident.id, f"not recovered {after}: {failed}")
        report.escalated.append(incident.id)


def polled_sources(rt: Runtime, env: str) -> list[Source[Any, Any]]:
    """What a cycle polls in one environment: each source it configures and `autopilot` does not switch off."""
    conf, options = rt.settings.environments[env], rt.settings.autopilot
    return [source for source in SOURCES if source.enabled(conf, options)]


async def detect_and_handle(
    rt: Runtime, window_minutes: int, *, shadow: bool = False, report: CycleReport | None = None
) -> CycleReport:
    """One detection pass over every environment: each failed run ending in the window, once, and each
    condition holding now. A source that is down is reported; the others still run."""
    report = report or CycleReport()
    since = datetime.now(UTC) - timedelta(minutes=window_minutes)
    for env in rt.selected(None):
        for source in polled_sources(rt, env):
            await _poll(rt, source, env, since, shadow, report)
    return report


async def _poll(
    rt: Runtime, source: Source[F, D], env: str, since: datetime, shadow: bool, report: CycleReport
) -> None:
    try:
        detected = await source.detect(rt, env, since)
    except PipelineSreError as err:
        report.errors.append(f"{env}: {err.message}")
        return
    report.errors += [f"{env}: {problem}" for problem in detected.problems]
    for failure in detected.failures:
        try:
            await handle_failure(rt, source, failure, shadow=shadow, report=report)
        except PipelineSreError as err:
            where = "/".join(p for p in (env, failure.subject, failure.run_id) if p)
            report.errors.append(f"{where}: {err.code}: {err.message}")
