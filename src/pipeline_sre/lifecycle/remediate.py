"""Remediate: a plan from the matching runbook, proposed through the one governed path.

Nothing here writes to a backend: proposing stores an action with its exact call and the policy
decision it would get now; executing goes through GovernanceService.execute, approval-bound.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.governance.service import ActionRecord
from pipeline_sre.lifecycle import diagnose, triage
from pipeline_sre.lifecycle.compact import clip, fit
from pipeline_sre.lifecycle.incidents import TERMINAL, Incident
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.runbooks.loader import Runbook

PROPOSAL_BYTES = 5000
WRITE_KINDS = ("clear_failed_tasks", "trigger_dag")


def action_view(rec: ActionRecord) -> dict[str, Any]:
    """What an agent or approver needs of an action: no internal columns."""
    d = rec.to_dict()
    keep = (
        "id", "kind", "environment", "state", "params", "run_id", "requested_by", "incident_id",
        "digest", "call", "mode", "required_approvals", "approvals", "decision", "approval_reason",
        "result", "error",
    )  # fmt: skip
    return {k: d[k] for k in keep if d.get(k) not in (None, [], {})}


def plan_of(rb: Runbook) -> dict[str, Any]:
    """A runbook as a proposal shows it: why, the steps, impact, risk, rollback, verify and prevention."""
    return {
        "runbook": rb.id,
        "title": rb.title,
        "why": clip(rb.why.strip(), 400),
        "steps": [{"title": s.title, "action": s.action, "reversible": s.reversible} for s in rb.plan],
        "impact": rb.impact,
        "risk": rb.risk.model_dump(),
        "rollback": rb.rollback,
        "verify": [v.model_dump(exclude_none=True, exclude_defaults=True) | {"check": v.check} for v in rb.verify],
        "prevention": rb.prevention[:4],
    }


async def propose_action(
    rt: Runtime,
    dag_id: str,
    run_id: str,
    environment: str | None = None,
    *,
    requested_by: str,
    action: str | None = None,
    conf: dict[str, Any] | None = None,
) -> dict[str, Any]:
    triage.check_ids(dag_id=dag_id, run_id=run_id)
    if action is not None and action not in WRITE_KINDS:
        raise InvalidInput(f"action must be one of {', '.join(WRITE_KINDS)} (or omitted); got {action!r}")
    if conf is not None and action != "trigger_dag":
        raise InvalidInput("conf is only for action='trigger_dag'")
    env = rt.environment(environment)[0]
    summary = await triage.triage(rt, dag_id, run_id, env)
    errors = await diagnose.extract_errors(rt, dag_id, run_id, None, env)
    incident, _ = await asyncio.to_thread(open_incident, rt, env, summary, errors)
    result = await asyncio.to_thread(
        plan_and_propose, rt, env, summary, errors, requested_by=requested_by, action=action, conf=conf,
        incident_id=incident.id,
    )  # fmt: skip
    result["incident_id"] = incident.id
    await asyncio.to_thread(record_plan, rt, incident.id, result)
    return result


def _facts(summary: dict[str, Any], root: dict[str, Any] | None) -> dict[str, Any]:
    """The compact facts an incident keeps; triage and diagnosis already redacted them."""
    keys = ("severity", "tier", "business_critical", "owner", "failed_tasks", "blocked_tasks", "attempts",
            "persistence", "url")  # fmt: skip
    facts = {k: summary.get(k) for k in keys}
    if root:
        facts.update({k: root.get(k) for k in ("exception", "message", "evidence", "confidence", "try_number")})
    return facts


def open_incident(rt: Runtime, env: str, summary: dict[str, Any], errors: dict[str, Any]) -> tuple[Incident, bool]:
    """Open the incident for a triaged and diagnosed run, or join the open one with the same signature.

    Returns (incident, joined); a new incident is marked triaged and diagnosed."""
    dag_id, run_id = summary["dag_id"], summary["run_id"]
    root = errors["tasks"][0] if errors["tasks"] else None
    category = root["category"] if root else "unknown"
    title = f"{dag_id}: {category}" + (f" in {root['task_id']} ({root.get('exception')})" if root else "")
    incident, joined = rt.incidents.open_or_join(
        environment=env,
        source="airflow",
        subject=dag_id,
        signature=(root or {}).get("signature") or "no-error-found",
        category=category,
        severity=summary["severity"],
        title=clip(title, 300) or title,
        run_id=run_id,
        task_id=root["task_id"] if root else summary.get("first_failed_task"),
        facts=_facts(summary, root),
    )
    if not joined:
        rt.incidents.advance(incident.id, "triaged")
        incident = rt.incidents.advance(incident.id, "diagnosed")
    return incident, joined


def record_plan(rt: Runtime, incident_id: str, plan: dict[str, Any]) -> Incident:
    """The incident moves to `proposed` with its runbook and the proposed action, if one was stored."""
    incident = rt.incidents.get(incident_id)
    action = plan.get("action")
    if incident.state not in ("detected", "triaged", "diagnosed"):
        return incident
    facts = {**incident.facts, "plan": {"runbook": plan["plan"]["runbook"], "decision": plan.get("decision")}}
    return rt.incidents.advance(
        incident_id, "proposed", runbook_id=plan["plan"]["runbook"], action_id=action["id"] if action else None,
        facts=facts,
    )  # fmt: skip


def request_approval(rt: Runtime, action_id: str, reason: str, requested_by: str) -> dict[str, Any]:
    rec = rt.governance.request_approval(action_id, rt.redact(reason)[:2000], requested_by)
    incident = rt.incidents.by_action(action_id)
    if incident is not None and incident.state == "proposed":
        rt.incidents.advance(incident.id, "awaiting_approval")
    return {
        "action": action_view(rec),
        "incident_id": incident.id if incident else None,
        "how_to_approve": f"a configured approver runs: pipeline-sre approvals approve {rec.id} --as NAME",
        "then": f"call {rec.action.kind}('{rec.id}') once it is approved",
    }


async def execute(rt: Runtime, action_id: str, caller: str, kind: str | None = None) -> dict[str, Any]:
    """Execute through the governed path; the linked incident moves on to verification."""
    outcome = await rt.governance.execute(action_id, caller, expected_kind=kind)
    incident = await asyncio.to_thread(rt.incidents.by_action, action_id)
    if outcome.sent and incident is not None and incident.state not in TERMINAL:
        rt.incidents.advance(incident.id, "executing")
        rt.incidents.advance(incident.id, "verifying")
    out = outcome.to_dict()
    out["incident_id"] = incident.id if incident else None
    out["next"] = (
        "verify: check_recovery_rules(incident_id) once the run has had time to finish"
        if outcome.sent
        else "dry_run mode: the exact call above was audited and NOT sent; an operator sets governance.mode: live"
    )
    return out


def plan_and_propose(
    rt: Runtime,
    env: str,
    summary: dict[str, Any],
    errors: dict[str, Any],
    *,
    requested_by: str,
    action: str | None = None,
    conf: dict[str, Any] | None = None,
    incident_id: str | None = None,
    automated: bool = False,
    shadow: bool = False,
) -> dict[str, Any]:
    """The runbook's plan for a triaged and diagnosed run; unless `shadow`, its write is stored as a
    proposal (never sent) with the exact call and the policy decision it would get now."""
    dag_id, run_id = summary["dag_id"], summary["run_id"]
    root = errors["tasks"][0] if errors["tasks"] else None
    category = root["category"] if root else "unknown"
    evidence = " ".join(str(root.get(k) or "") for k in ("exception", "message", "evidence")) if root else ""
    matches = rt.runbooks.match(category=category, signature_text=evidence or None)
    runbook = matches[0].runbook if matches else rt.runbooks.get("unknown")
    result: dict[str, Any] = {
        "env": env,
        "dag_id": dag_id,
        "run_id": run_id,
        "severity": summary["severity"],
        "diagnosis": {
            "task_id": root["task_id"] if root else None,
            "category": category,
            "confidence": root["confidence"] if root else 0.0,
            "signature": root["signature"] if root else None,
            "evidence": root["evidence"] if root else None,
        },
        "runbook_match": matches[0].to_dict() if matches else {"id": "unknown", "reasons": ["no match"]},
        "plan": plan_of(runbook),
    }
    kind = action or next((s.action for s in runbook.plan if s.action in WRITE_KINDS), None)
    if runbook.escalate or kind is None:
        owner = f" ({summary['owner']})" if summary.get("owner") else ""
        result["decision"] = {
            "allowed": False,
            "rule": f"runbook.{runbook.id}.escalate",
            "message": f"{category}: a rerun cannot fix this; escalate to the DAG owner{owner} with the evidence",
        }
        result["next"] = "escalate to a human with the diagnosis; no write is proposed"
        return fit(result, PROPOSAL_BYTES, "plan")
    if shadow:
        result["decision"] = {"allowed": False, "rule": "autopilot.shadow", "message": "shadow mode: plan only"}
        return fit(result, PROPOSAL_BYTES, "plan")
    params: dict[str, Any] = (
        {"dag_id": dag_id, "dag_run_id": run_id}
        if kind == "clear_failed_tasks"
        else {"dag_id": dag_id, "conf": conf or {}, "note": f"pipeline-sre rerun of {run_id}"}
    )
    try:
        record = rt.governance.propose(
            kind,
            env,
            params,
            requested_by,
            incident_id=incident_id,
            automated=automated,
            runbook_id=runbook.id,
            plan={"runbook": runbook.id, "category": category, "severity": summary["severity"]},
        )
    except PolicyRefusal as refusal:
        result["decision"] = refusal.to_dict()
        result["next"] = "the policy refuses this action now; the refusal says what would allow it"
        return fit(result, PROPOSAL_BYTES, "plan")
    result["action"] = action_view(record)
    result["decision"] = result["action"].pop("decision", None)
    result["next"] = f"request_approval('{record.id}', reason) and give the approval command to a human"
    return fit(result, PROPOSAL_BYTES, "plan")
