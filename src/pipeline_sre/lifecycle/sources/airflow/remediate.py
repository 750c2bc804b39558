"""Remediate an Airflow run: the incident a diagnosed run opens, and the plan its matching runbook gives
(clear its failed tasks or trigger a new run, else escalate). Nothing is stored or sent here."""

from __future__ import annotations

from typing import Any

from pipeline_sre.errors import InvalidInput
from pipeline_sre.lifecycle.compact import clip
from pipeline_sre.lifecycle.plans import Plan, plan_of
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.base import Opening
from pipeline_sre.models import parse_time

WRITE_KINDS = ("clear_failed_tasks", "trigger_dag")


def _facts(summary: dict[str, Any], root: dict[str, Any] | None) -> dict[str, Any]:
    """The compact facts an incident keeps, captured at detection so a later clear (Airflow keeps only a
    task's latest try) cannot erase the failure: the failed try, its error and its log excerpt. Triage and
    diagnosis already redacted them."""
    keys = ("severity", "tier", "business_critical", "owner", "failed_tasks", "blocked_tasks", "attempts")
    facts = {k: summary.get(k) for k in (*keys, "persistence", "url", "run_id", "severity_rule", "downstream")}
    facts["failed_at"] = summary.get("end")
    if root:
        facts.update({k: root.get(k) for k in ("task_id", "exception", "message", "evidence", "confidence", "basis")})
        facts["try_number"] = root.get("try_number")
        if root.get("excerpt"):
            facts["excerpt"] = clip(str(root["excerpt"]), 1500)
    return facts


def opening(env: str, summary: dict[str, Any], errors: dict[str, Any]) -> Opening:
    """The incident a triaged and diagnosed run opens, or joins when one with the same signature is open."""
    dag_id, run_id = summary["dag_id"], summary["run_id"]
    root = errors["tasks"][0] if errors["tasks"] else None
    category = root["category"] if root else "unknown"
    title = f"{dag_id}: {category}" + (f" in {root['task_id']} ({root.get('exception')})" if root else "")
    return Opening(
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
        failed_at=parse_time(summary.get("end")),
    )


def check_request(action: str | None, conf: dict[str, Any] | None) -> None:
    if action is not None and action not in WRITE_KINDS:
        raise InvalidInput(f"action must be one of {', '.join(WRITE_KINDS)} (or omitted); got {action!r}")
    if conf is not None and action != "trigger_dag":
        raise InvalidInput("conf is only for action='trigger_dag'")


def plan_for(
    rt: Runtime,
    env: str,
    summary: dict[str, Any],
    errors: dict[str, Any],
    *,
    action: str | None = None,
    conf: dict[str, Any] | None = None,
) -> Plan:
    """The runbook's plan for a triaged and diagnosed run; nothing is stored or sent here."""
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
        return Plan(result, runbook.id, None, {})
    params: dict[str, Any] = (
        {"dag_id": dag_id, "dag_run_id": run_id}
        if kind == "clear_failed_tasks"
        else {"dag_id": dag_id, "conf": conf or {}, "note": f"pipeline-sre rerun of {run_id}"}
    )
    return Plan(result, runbook.id, kind, params)
