"""Incident memory as the incident flow shows it: for a failure (at triage and proposal) or an incident (its
page, its postmortem), the past incidents like it, what was done, whether it recovered, who approved it, and
each action kind's success for that failure.

Titles, params and reasons were redacted when they were stored; they pass through the redactor again here
because memory carries them into new answers, far from where they were captured.
"""

from __future__ import annotations

from typing import Any

from pipeline_sre.lifecycle.compact import clip, dumps
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.models import iso
from pipeline_sre.store.incident_memory import (
    LOOKBACK,
    NO_SIGNATURE,
    Failure,
    IncidentMemory,
    KindRecord,
    PastAction,
    PastIncident,
    Recall,
)
from pipeline_sre.store.incidents import Incident

PROPOSAL_INCIDENTS = 1  # a proposal shows the newest (its ranking has the rest's figures); the incident page all
TRIAGE_KINDS = 3


def failure_of(env: str, subject: str, errors: dict[str, Any]) -> Failure:
    """A diagnosed run's failure, keyed as the incident it opens would be (remediate.open_incident)."""
    root = errors["tasks"][0] if errors.get("tasks") else {}
    return Failure(
        environment=env,
        signature=root.get("signature") or NO_SIGNATURE,
        category=root.get("category") or "unknown",
        subject=subject,
    )


def recall(rt: Runtime, failure: Failure) -> Recall:
    """Blocking (store)."""
    return IncidentMemory(rt.governance.db).recall(failure)


def recall_incident(rt: Runtime, incident: Incident) -> Recall:
    """What came before an incident: never itself, nor what was opened after it."""
    failure = Failure(
        environment=incident.environment,
        signature=incident.signature,
        category=incident.category,
        subject=incident.subject,
        exclude=incident.id,
        before=incident.opened_at,
    )
    return recall(rt, failure)


def kind_view(record: KindRecord) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "tries": record.tries,
        "recovered": record.recovered,
        "success_rate": record.success_rate,
    }


def _action_view(rt: Runtime, action: PastAction) -> dict[str, Any]:
    rest = {k: v for k, v in action.params.items() if k != "dag_id"}  # the subject already names it
    view: dict[str, Any] = {"id": action.id, "kind": action.kind, "outcome": action.outcome}
    if rest:
        view["params"] = clip(rt.redact(dumps(rest)), 200)
    view["approved_by"] = list(action.approved_by)
    return view


def _incident_view(rt: Runtime, past: PastIncident) -> dict[str, Any]:
    inc = past.incident
    view: dict[str, Any] = {
        "id": inc.id,
        "subject": inc.subject,
        "matched_by": past.matched_by,
        "title": clip(rt.redact(inc.title), 160),
        "opened": iso(inc.opened_at),
        "ended": inc.steps.get("resolved") or inc.steps.get(inc.state),
        "outcome": past.outcome,
        "time_to_resolve_s": inc.durations().get("time_to_resolve_s"),
        "actions": [_action_view(rt, a) for a in past.actions],
    }
    reason = inc.escalation_reason or inc.close_reason
    if reason and not past.recovered:
        view["reason"] = clip(rt.redact(reason), 200)
    return {k: v for k, v in view.items() if v is not None}


def view(rt: Runtime, found: Recall, limit: int | None = None) -> dict[str, Any] | None:
    """The full memory (None when nothing like it was seen): each past incident and the per-kind figures."""
    if not found.incidents:
        return None
    shown = found.incidents[:limit] if limit is not None else found.incidents
    out: dict[str, Any] = {
        "matched_by": found.basis,
        "lookback_days": LOOKBACK.days,
        "count": len(found.incidents),
        "incidents": [_incident_view(rt, p) for p in shown],
        "by_action": [kind_view(r) for r in found.by_kind],
    }
    if len(shown) < len(found.incidents):
        out["more"] = "get_incident(incident_id) shows every past incident under seen_before"
    return out


def brief(view: dict[str, Any] | None) -> dict[str, Any] | None:
    """A memory `view` in a few hundred bytes, for triage and an agent's proposal: how often, the last
    time, and what worked."""
    if not view:
        return None
    last = view["incidents"][0]
    latest: dict[str, Any] = {"incident_id": last["id"], "outcome": last["outcome"]}
    if last["actions"]:
        done = last["actions"][-1]
        latest.update(action=done["kind"], approved_by=done["approved_by"])
    return {
        "seen": view["count"],
        "matched_by": view["matched_by"],
        "last": latest,
        "by_action": [{k: r[k] for k in ("kind", "tries", "recovered")} for r in view["by_action"][:TRIAGE_KINDS]],
    }


def seen_before(rt: Runtime, incident: Incident) -> dict[str, Any] | None:
    """An incident's memory, as its page and postmortem show it. Blocking (store)."""
    return view(rt, recall_incident(rt, incident))


def _action_line(action: dict[str, Any]) -> str:
    params = f" ({action['params']})" if action.get("params") else ""
    approved = ", ".join(action.get("approved_by") or []) or "nobody (not approved)"
    return f"`{action['kind']}`{params} approved by {approved}: {action['outcome'].replace('_', ' ')}"


def previous_occurrences(seen: dict[str, Any] | None) -> str:
    """The postmortem's "Previous occurrences" section (Markdown) from `seen_before`."""
    lines = ["", "## Previous occurrences", ""]
    if not seen:
        lines.append(f"- None like it in the last {LOOKBACK.days} days.")
        return "\n".join([*lines, ""])
    lines.append(f"Matched by {seen['matched_by']} within {seen['lookback_days']} days, newest first.")
    lines.append("")
    for past in seen["incidents"]:
        took = f" in {past['time_to_resolve_s']:g} s" if past.get("time_to_resolve_s") is not None else ""
        head = f"- `{past['id']}` ({past['subject']}, {past.get('ended') or '?'}): **{past['outcome']}**{took}"
        done = "; ".join(_action_line(a) for a in past["actions"]) or "no action"
        why = f"; {past['reason']}" if past.get("reason") else ""
        lines.append(f"{head}; {done}{why}")
    for kind in seen["by_action"]:
        lines.append(
            f"- `{kind['kind']}` recovered {kind['recovered']} of {kind['tries']} "
            f"({kind['success_rate']:.0%}) for this {seen['matched_by']}"
        )
    return "\n".join([*lines, ""])
