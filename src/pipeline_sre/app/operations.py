"""The one door: every surface (MCP, CLI, console, Slack, autopilot) proposes, asks for approval, decides,
executes, verifies, escalates and closes through these operations, so an incident keeps one set of books
whichever surface moved it.

The rules kept here and nowhere else:
- A proposal is always linked to its incident. Proposing again for the same failure returns the action
  that is still pending (`reused`), or withdraws it, audibly, when a different write is asked for.
- Asking for approval, deciding and executing move the linked incident on, from any surface.
- Escalating or closing an incident withdraws its pending action, so nobody approves a dead plan.
- Human-typed text (reasons, comments) is redacted before it is stored or returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_sre.app.notices import incident_notice
from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance import github_reviews
from pipeline_sre.governance.anchors import Anchor, AnchorLog
from pipeline_sre.governance.audit import AuditEvent, Checkpoint, VerifyReport
from pipeline_sre.governance.identity import Principal
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.governance.service import PENDING, ActionRecord
from pipeline_sre.lifecycle import incident_memory, verify
from pipeline_sre.lifecycle.compact import fit
from pipeline_sre.lifecycle.plans import Plan, action_view
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow import diagnose, plan_ranking, remediate, triage
from pipeline_sre.lifecycle.sources.base import open_incident
from pipeline_sre.lifecycle.sources.databricks import jobs as dbx
from pipeline_sre.store.incidents import FLOW, TERMINAL, Incident
from pipeline_sre.store.replicas import Heartbeats, Replica

Progress = Callable[[float, float, str], Awaitable[None]]

PROPOSAL_BYTES = 5000
MAX_VERIFY_WAIT_SECONDS = 600
VERIFY_POLL_SECONDS = 10.0
REASON_CHARS = 2000
TRIAGE_BYTES = 2000
BEFORE_PROPOSAL = ("detected", "triaged", "diagnosed")


def _text(rt: Runtime, value: str | None, what: str, *, required: bool = False) -> str | None:
    cleaned = rt.redact((value or "").strip())[:REASON_CHARS]
    if required and not cleaned:
        raise InvalidInput(f"{what} must not be empty")
    return cleaned or None


# -- propose -----------------------------------------------------------------------------------------


async def propose(
    rt: Runtime,
    who: Principal,
    dag_id: str,
    run_id: str,
    environment: str | None = None,
    *,
    action: str | None = None,
    conf: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Triage and diagnose an Airflow run, open (or join) its incident and propose the runbook's write."""
    triage.check_ids(dag_id=dag_id, run_id=run_id)
    remediate.check_request(action, conf)
    env = rt.environment(environment)[0]
    summary = await triage.triage(rt, dag_id, run_id, env)
    if summary["state"] != "failed" and action != "trigger_dag":
        raise InvalidInput(
            f"run {run_id} of {dag_id} is {summary['state']}, not failed: there is nothing to rerun "
            "(a fix in progress is followed with check_recovery_rules)"
        )
    errors = await diagnose.extract_errors(rt, dag_id, run_id, None, env)
    opening = remediate.opening(env, summary, errors)
    incident, _ = await asyncio.to_thread(open_incident, rt, opening, by=who.actor)
    plan = remediate.plan_for(rt, env, summary, errors, action=action, conf=conf)
    plan = await asyncio.to_thread(
        plan_ranking.remembered_plan, rt, env, summary, errors, plan, incident=incident, requested=action
    )
    result = await asyncio.to_thread(propose_plan, rt, who, incident.id, plan, env)
    result["incident_id"] = incident.id
    return result


async def propose_and_ask(
    rt: Runtime,
    who: Principal,
    dag_id: str,
    run_id: str,
    environment: str | None = None,
    *,
    action: str | None = None,
    conf: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """`propose`, then ask a human to approve the proposed write in the same step: what an agent always
    does next. A refusal, a plan without a write or an action already waiting is returned as it is."""
    result = await propose(rt, who, dag_id, run_id, environment, action=action, conf=conf)
    proposed = result.get("action")
    if isinstance(proposed, dict) and proposed.get("state") == "proposed":
        asked = await asyncio.to_thread(request_approval, rt, who, proposed["id"], reason)
        proposed["state"] = asked["action"]["state"]
        result["how_to_approve"] = asked["how_to_approve"]
        result["next"] = asked["then"]
        decision = result.get("decision")
        if isinstance(decision, dict) and decision.get("rule") == "approvals.required":
            decision.pop("allow_hint", None)  # how_to_approve says it, naming this action
    return result


async def propose_job_action(
    rt: Runtime,
    who: Principal,
    job_id: Any,
    run_id: Any = None,
    action: str = "repair_run",
    parameters: Any = None,
    environment: str | None = None,
) -> dict[str, Any]:
    """Propose a Databricks repair_run (a failed run's failed tasks, linked to its incident) or run_now."""
    plan, incident_id, env = await dbx.plan_job_action(rt, job_id, run_id, action, parameters, environment)
    return await asyncio.to_thread(propose_plan, rt, who, incident_id, plan, env)


def propose_plan(
    rt: Runtime, who: Principal, incident_id: str | None, plan: Plan, env: str, *, automated: bool = False
) -> dict[str, Any]:
    """Store the plan's write as a proposal linked to the incident (or reuse the one still pending), and
    record the plan on the incident. Blocking (store calls)."""
    result = dict(plan.result)
    incident = rt.incidents.get(incident_id) if incident_id else None
    if plan.kind is None:
        if incident is not None:
            _record_plan(rt, who, incident, plan, None)
        return fit(result, PROPOSAL_BYTES, "plan")
    current = _linked_action(rt, incident) if incident is not None else None
    if current is not None and current.state in ("executing", "succeeded"):
        result["action"] = action_view(current)
        result["decision"] = {
            "allowed": False,
            "rule": "incident.action_already_executed",
            "message": f"action {current.id} already ran for this incident; a second rerun is not proposed",
        }
        result["next"] = f"check_recovery_rules('{incident_id}'); escalate if it did not recover"
        return fit(_without_plan_copy(result), PROPOSAL_BYTES, "plan")
    if (
        current is not None
        and current.state in PENDING
        and rt.governance.same_request(current, plan.kind, env, plan.params)
    ):
        result["action"] = action_view(current)
        result["decision"] = result["action"].pop("decision", None)
        result["reused"] = True
        result["next"] = _next_for(current)
        return fit(_without_plan_copy(result), PROPOSAL_BYTES, "plan")
    try:
        record = rt.governance.propose(
            plan.kind,
            env,
            plan.params,
            who.actor,
            incident_id=incident.id if incident else None,
            automated=automated,
            runbook_id=plan.runbook_id,
            plan=_stored_plan(plan),
            actor_kind=who.kind,
        )
    except PolicyRefusal as refusal:
        result["decision"] = refusal.to_dict()
        result["next"] = "the policy refuses this action now; the refusal says what would allow it"
        if incident is not None:
            _record_plan(rt, who, incident, plan, None)
        return fit(result, PROPOSAL_BYTES, "plan")
    if current is not None and current.state in PENDING:  # only once the new one stands
        rt.governance.cancel(current.id, who.actor, f"superseded by {record.id} ({plan.kind})", actor_kind=who.kind)
        result["superseded"] = current.id
    result["action"] = action_view(record)
    result["decision"] = result["action"].pop("decision", None)
    result["next"] = _next_for(record)
    if incident is not None:
        _record_plan(rt, who, rt.incidents.get(incident.id), plan, record.id)
    return fit(_without_plan_copy(result), PROPOSAL_BYTES, "plan")


def _stored_plan(plan: Plan) -> dict[str, Any]:
    """What the approver sees wherever they look (console, CLI, Slack, get_action): the runbook's plan and
    the diagnosis it answers."""
    return {
        **plan.result.get("plan", {}),
        "diagnosis": plan.result.get("diagnosis"),
        "severity": plan.result.get("severity"),
    }


def _without_plan_copy(result: dict[str, Any]) -> dict[str, Any]:
    """The proposal shows the plan once, at top level; the action inside it need not repeat it."""
    if isinstance(result.get("action"), dict):
        result["action"].pop("plan", None)
    return result


def _next_for(record: ActionRecord) -> str:
    if record.state == "proposed":
        return f"request_approval('{record.id}', reason) and give the approval command to a human"
    if record.state == "awaiting_approval":
        return f"a human approves it (console, Slack or `pipeline-sre approvals approve {record.id}`)"
    return f"{record.action.kind}('{record.id}') executes it"


def _linked_action(rt: Runtime, incident: Incident) -> ActionRecord | None:
    """The incident's action, if any (a new proposal replaces it only while it is still pending)."""
    return rt.governance.get_action(incident.action_id) if incident.action_id else None


def _record_plan(rt: Runtime, who: Principal, incident: Incident, plan: Plan, action_id: str | None) -> None:
    """The incident keeps the plan's runbook and decision and, when one was stored, its action; it moves to
    `proposed` (back from awaiting_approval when a new proposal replaced the one being approved)."""
    if incident.state in TERMINAL:
        return
    facts = {**incident.facts, "plan": {"runbook": plan.runbook_id, "decision": plan.result.get("decision")}}
    fields: dict[str, Any] = {"runbook_id": plan.runbook_id, "facts": facts}
    if action_id is not None:
        fields["action_id"] = action_id
    replaces = action_id is not None and incident.state == "awaiting_approval"
    if incident.state in BEFORE_PROPOSAL or replaces:
        rt.incidents.advance(incident.id, "proposed", by=who.actor, **fields)
    else:
        rt.incidents.mark(incident.id, **fields)


# -- composite views ---------------------------------------------------------------------------------


async def triage_with_error(rt: Runtime, dag_id: str, run_id: str, environment: str | None) -> dict[str, Any]:
    """Triage and the decisive error in one answer: what an agent always asks for next (the excerpt stays
    behind extract_errors)."""
    summary = await triage.triage(rt, dag_id, run_id, environment)
    if summary["state"] != "failed":
        return summary
    errors = await diagnose.extract_errors(rt, dag_id, run_id, None, summary["env"])
    if errors["tasks"]:
        root = errors["tasks"][0]
        keep = ("task_id", "category", "confidence", "basis", "exception", "message", "signature")
        summary["decisive_error"] = {k: root.get(k) for k in keep if root.get(k) is not None}
        summary["next"] = "propose_action(dag_id, run_id) for the runbook's plan, or extract_errors for the excerpt"
    await _remember(rt, summary, errors)
    return fit(summary, TRIAGE_BYTES, "tags", "failed_tasks")


async def triage_with_memory(rt: Runtime, dag_id: str, run_id: str, environment: str | None) -> dict[str, Any]:
    """Triage, and for a failed run what was done the last times the same failure was seen (`memory`)."""
    summary = await triage.triage(rt, dag_id, run_id, environment)
    if summary["state"] == "failed":
        await _remember(rt, summary, await diagnose.extract_errors(rt, dag_id, run_id, None, summary["env"]))
    return fit(summary, TRIAGE_BYTES, "tags", "failed_tasks")


async def _remember(rt: Runtime, summary: dict[str, Any], errors: dict[str, Any]) -> None:
    failure = incident_memory.failure_of(summary["env"], summary["dag_id"], errors)
    found = await asyncio.to_thread(incident_memory.recall, rt, failure)
    memory = incident_memory.brief(incident_memory.view(rt, found, 1))
    if memory is not None:
        summary["memory"] = memory


# -- approval ----------------------------------------------------------------------------------------


def request_approval(rt: Runtime, who: Principal, action_id: str, reason: str | None = None) -> dict[str, Any]:
    """Ask a human to approve; without a `reason`, the one the stored plan gives (why, impact, risk, rollback)."""
    text = _text(rt, reason, "reason") or _reason_from_plan(rt.governance.get_action(action_id))
    rec = rt.governance.request_approval(action_id, text, who.actor, actor_kind=who.kind)
    incident = _incident_of(rt, rec)
    if incident is not None and incident.state in (*BEFORE_PROPOSAL, "proposed"):
        rt.incidents.advance(incident.id, "awaiting_approval", by=who.actor, action_id=rec.id)
    return {
        "action": action_view(rec),
        "incident_id": incident.id if incident else None,
        "how_to_approve": (
            f"a configured approver other than the requester approves it in the console, in Slack, or with "
            f"`pipeline-sre approvals approve {rec.id}` (signed in: PIPELINE_SRE_TOKEN or a password prompt)"
        ),
        "then": f"call {rec.action.kind}('{rec.id}') once it is approved",
    }


async def ask_approval(rt: Runtime, who: Principal, action_id: str, reason: str | None = None) -> dict[str, Any]:
    """`request_approval`, then, for a config change in a repository that approves by review, open the pull
    request its reviewers approve (`review`: its number, URL and head commit, or why it is not open yet)."""
    out = await asyncio.to_thread(request_approval, rt, who, action_id, reason)
    review = await github_reviews.open_review(rt.governance, action_id, who.actor, who.kind)
    if review is not None:
        out["review"] = review
        out["how_to_approve"] += (
            f"; or an approving review of pull request {review['url']} by a reviewer mapped in github.user_map"
            if review["state"] == "open"
            else ""
        )
    return out


def _reason_from_plan(record: ActionRecord) -> str:
    plan = record.plan or {}
    diagnosis = plan.get("diagnosis") or {}
    risk = plan.get("risk") or {}
    parts = [
        f"{diagnosis.get('category', 'failure')} in {record.action.params.get('dag_id', record.action.environment)}",
        str(plan.get("why") or "").strip(),
        f"Impact: {plan['impact']}" if plan.get("impact") else "",
        f"Risk: {risk.get('level')}" if isinstance(risk, dict) and risk.get("level") else "",
        f"Rollback: {plan['rollback']}" if plan.get("rollback") else "",
    ]
    return " ".join(p for p in parts if p)[:REASON_CHARS] or f"{record.action.kind} {record.id}"


def decide(rt: Runtime, who: Principal, action_id: str, *, approve: bool, comment: str | None) -> ActionRecord:
    """An approver's decision. A denial hands the incident to a human (escalated): the plan was rejected."""
    note = _text(rt, comment, "comment")
    if approve:
        return rt.governance.approve(action_id, who.name, note, actor_kind=who.kind)
    record = rt.governance.deny(action_id, who.name, note, actor_kind=who.kind)
    incident = _incident_of(rt, record)
    if incident is not None and incident.state not in TERMINAL and incident.action_id == record.id:
        reason = f"action {record.id} was denied by {who.name}" + (f": {note}" if note else "")
        rt.incidents.advance(incident.id, "escalated", by=who.actor, escalation_reason=reason)
    return record


def _incident_of(rt: Runtime, record: ActionRecord) -> Incident | None:
    incident = rt.incidents.by_action(record.id)
    if incident is None and record.action.incident_id:
        incident = rt.incidents.get(record.action.incident_id)
    return incident


# -- execute and verify ------------------------------------------------------------------------------


async def execute(rt: Runtime, who: Principal, action_id: str, kind: str | None = None) -> dict[str, Any]:
    """Execute through the governed path; the linked incident moves on to verification. Executing again an action
    that already ran is refused (exactly once), but its incident is first moved on if the move after the call was
    lost, so a person retrying after an error is not left with an incident stuck awaiting approval."""
    try:
        outcome = await rt.governance.execute(action_id, who.actor, expected_kind=kind, actor_kind=who.kind)
    except PolicyRefusal as refusal:
        if refusal.rule == "action.already_executed":
            record = await asyncio.to_thread(rt.governance.get_action, action_id)
            if record.state == "succeeded":
                await settle_executed(rt, who, record)
        raise
    record = await asyncio.to_thread(rt.governance.get_action, action_id)
    incident = await asyncio.to_thread(_incident_of, rt, record)
    if outcome.sent and incident is not None and incident.state not in TERMINAL:
        await asyncio.to_thread(_executed, rt, incident, who, record.id)
    if outcome.sent:  # what changed, for the channel (a pull request's link, a cleared run)
        now = await asyncio.to_thread(rt.incidents.get, incident.id) if incident is not None else None
        summary = now.summary() if now is not None else {"env": record.action.environment}
        await rt.notifier.send(
            "action_executed",
            {**summary, "action_id": record.id, "kind": record.action.kind, "by": who.actor, "result": record.result},
        )
    out = outcome.to_dict()
    out["incident_id"] = incident.id if incident else None
    out["next"] = (
        "verify: check_recovery_rules(incident_id) once the run has had time to finish"
        if outcome.sent
        else "dry_run mode: the exact call above was audited and NOT sent; an operator sets governance.mode: live"
    )
    return out


def _executed(rt: Runtime, incident: Incident, who: Principal, action_id: str) -> None:
    """The action ran: the incident records when mitigation started, then waits for verification. Only forward:
    the executor and a process refused as the second executor both settle the incident (the refused one in case
    the executor's move was lost), and whichever comes second finds it already moved."""
    rt.incidents.reach(incident.id, "executing", by=who.actor, action_id=action_id)
    rt.incidents.reach(incident.id, "verifying", by=who.actor, action_id=action_id)


async def recover_stuck(rt: Runtime, who: Principal) -> list[ActionRecord]:
    """Actions left `executing` past their lease (their process died, or their result could not be
    saved): the backend is asked first, nothing is sent twice; their incidents then move on as if the
    action had just run. Every replica calls this each cycle, not only at start-up."""
    recovered = await rt.governance.recover_executing(caller=who.actor)
    for record in recovered:
        if record.state == "succeeded":
            await settle_executed(rt, who, record)
    return recovered


async def settle_executed(rt: Runtime, who: Principal, record: ActionRecord) -> None:
    """An action that succeeded while its incident still waits to hear of it (the move after the call was
    lost: the store failed in between, or the executor's process died): the incident moves on to
    verification now, as if the action had just run. Nothing is sent again."""
    incident = await asyncio.to_thread(_incident_of, rt, record)
    if (
        incident is not None
        and incident.state not in TERMINAL
        and FLOW.index(incident.state) < FLOW.index("verifying")
        and incident.action_id in (None, record.id)  # not an incident that has moved on to a newer action
    ):
        await asyncio.to_thread(_executed, rt, incident, who, record.id)


async def verify_recovery(
    rt: Runtime,
    who: Principal,
    incident_id: str,
    wait_seconds: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The recovery verdict; with `wait_seconds`, a pending verdict is checked again until it settles or
    the wait is over, so a caller waits once instead of polling: every few seconds (a run may finish, or a
    new failure end a quiet period, any moment) and as a quiet period ends. `progress(elapsed, total,
    message)` hears about each wait."""
    if not 0 <= wait_seconds <= MAX_VERIFY_WAIT_SECONDS:
        raise InvalidInput(f"wait_seconds must be between 0 and {MAX_VERIFY_WAIT_SECONDS}; got {wait_seconds}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        out = await verify.check_recovery(rt, incident_id, by=who.actor)
        remaining = deadline - loop.time()
        if out["verdict"] != "pending" or remaining <= 0:
            return out
        pause = min(VERIFY_POLL_SECONDS, remaining)
        settles = verify.settles_at(out.get("checks") or [])
        if settles is not None:  # look again right as the quiet period ends
            pause = min(pause, (settles - rt.incidents.clock()).total_seconds())
        pause = max(1.0, pause)
        if progress is not None:
            elapsed = wait_seconds - remaining
            await progress(elapsed, float(wait_seconds), f"pending: next check at {out['next_check_at']}")
        await asyncio.sleep(pause)


# -- hand over or close ------------------------------------------------------------------------------


async def escalate(rt: Runtime, who: Principal, incident_id: str, reason: str) -> dict[str, Any]:
    text = _text(rt, reason, "reason (what failed, what was tried)", required=True) or ""
    incident = await asyncio.to_thread(rt.incidents.get, incident_id)
    if incident.state == "escalated":
        return {"incident": incident.summary(), "message": "already escalated"}
    if incident.state == "closed":
        raise InvalidInput(f"incident {incident_id} is closed; nothing to escalate")
    cancelled = await asyncio.to_thread(_withdraw_pending, rt, who, incident, f"incident escalated: {text}")
    incident, moved = await asyncio.to_thread(
        rt.incidents.move, incident_id, "escalated", by=who.actor, escalation_reason=text
    )
    if moved:  # replicas racing to escalate page once
        await rt.notifier.send("escalated", {**incident_notice(incident), "reason": text, "by": who.actor})
    out: dict[str, Any] = {"incident": incident.summary(), "reason": text, "notified": moved}
    if cancelled:
        out["cancelled_action"] = cancelled
    return out


async def close(rt: Runtime, who: Principal, incident_id: str, reason: str) -> dict[str, Any]:
    """Close an incident by hand (a false alarm, fixed outside pipeline-sre, a duplicate), with the reason."""
    text = _text(rt, reason, "reason (why it can be closed)", required=True) or ""
    incident = await asyncio.to_thread(rt.incidents.get, incident_id)
    if incident.state == "closed":
        return {"incident": incident.summary(), "message": "already closed"}
    cancelled = await asyncio.to_thread(_withdraw_pending, rt, who, incident, f"incident closed: {text}")
    incident = await asyncio.to_thread(rt.incidents.advance, incident_id, "closed", by=who.actor, close_reason=text)
    event = AuditEvent("incident.closed", who.actor, who.kind, detail={"incident_id": incident_id, "reason": text})
    await asyncio.to_thread(rt.governance.audit.append, event)
    out: dict[str, Any] = {"incident": incident.summary(), "reason": text}
    if cancelled:
        out["cancelled_action"] = cancelled
    return out


def _withdraw_pending(rt: Runtime, who: Principal, incident: Incident, reason: str) -> str | None:
    if not incident.action_id:
        return None
    cancelled = rt.governance.cancel(incident.action_id, who.actor, reason, actor_kind=who.kind)
    return cancelled.id if cancelled else None


# -- views -------------------------------------------------------------------------------------------


def get_action(rt: Runtime, action_id: str) -> dict[str, Any]:
    return action_view(rt.governance.get_action(action_id))


def list_pending(rt: Runtime, environment: str | None, limit: int = 20) -> dict[str, Any]:
    if environment is not None:
        rt.environment(environment)
    records = rt.governance.list_pending(environment)
    return {"count": len(records), "actions": [_pending_view(r) for r in records[:limit]]}


def _pending_view(record: ActionRecord) -> dict[str, Any]:
    view = action_view(record)
    plan = view.pop("plan", None)
    if isinstance(plan, dict) and plan.get("title"):
        view["plan"] = {k: plan.get(k) for k in ("runbook", "title", "impact", "risk") if plan.get(k)}
    return view


def anchor_log(rt: Runtime) -> AnchorLog:
    config = rt.settings.governance.audit_anchor
    return AnchorLog(config.file or rt.settings.resolved_data_dir() / "audit-anchors.jsonl", config.key())


def anchor_audit(rt: Runtime, *, only_if_due: bool = False) -> Anchor | None:
    """Write the audit head to the anchor file outside the store (when due, if `only_if_due`)."""
    log = anchor_log(rt)
    if only_if_due:
        last = log.last_at()
        every = timedelta(minutes=rt.settings.governance.audit_anchor.every_minutes)
        if last is not None and datetime.now(UTC) - last < every:
            return None
    return log.append(rt.governance.audit.head())


def verify_audit(rt: Runtime, checkpoint: Checkpoint | None = None) -> VerifyReport:
    """The hash chain checked against every valid anchor outside the store (and `checkpoint`, if given).
    An anchor line whose signature does not verify is itself a problem."""
    anchors = anchor_log(rt).read()
    report = rt.governance.audit.verify(checkpoint, [a.checkpoint for a in anchors if a.valid])
    for bad in (a for a in anchors if not a.valid):
        report.fail(None, f"an anchor line ({bad.at}) does not verify: forged, or signed with another key")
    good = [a for a in anchors if a.valid]
    if good:
        last = good[-1]
        report.last_anchor = {**last.checkpoint.to_dict(), "at": last.at, "signed": last.signed}
    return report


def heartbeat(rt: Runtime, role: str) -> list[Replica]:
    """Record that this replica is alive; returns every replica sharing the store, newest heartbeat first."""
    beats = Heartbeats(rt.governance.db)
    beats.beat(rt.governance.instance_id, role)
    return beats.replicas()


def replicas(rt: Runtime) -> list[Replica]:
    return Heartbeats(rt.governance.db).replicas()


def list_incidents(rt: Runtime, state: str | None, environment: str | None) -> dict[str, Any]:
    if environment is not None:
        rt.environment(environment)
    found = rt.incidents.list(state, environment)
    return {"count": len(found), "incidents": [i.summary() for i in found]}


def get_incident(rt: Runtime, incident_id: str) -> dict[str, Any]:
    incident = rt.incidents.get(incident_id)
    out = incident.to_dict()
    seen = seen_before(rt, incident)
    if seen is not None:
        out["seen_before"] = seen
    return out


def seen_before(rt: Runtime, incident: Incident) -> dict[str, Any] | None:
    """The past incidents like this one: what was done, whether it recovered, who approved it."""
    return incident_memory.seen_before(rt, incident)
