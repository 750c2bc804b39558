"""Plans: what a runbook says to do about one diagnosed failure, and how an action is shown with its plan.

Nothing here stores an action or writes to a backend: `app.operations` proposes a plan's write through the
governed path and keeps the incident's books.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline_sre.governance.service import ActionRecord
from pipeline_sre.lifecycle.compact import clip
from pipeline_sre.runbooks.loader import Runbook


@dataclass(frozen=True, slots=True)
class Plan:
    """What a runbook says to do about one diagnosed failure: the answer shown to the caller (`result`), and
    the write it proposes (`kind` + `params`), None when a human must act instead."""

    result: dict[str, Any]
    runbook_id: str
    kind: str | None
    params: dict[str, Any]


def action_view(rec: ActionRecord) -> dict[str, Any]:
    """What an agent or approver needs of an action, with the plan it was proposed under: no internal columns
    (the run id a trigger creates is in its exact call)."""
    d = rec.to_dict()
    keep = (
        "id",
        "kind",
        "environment",
        "state",
        "params",
        "requested_by",
        "incident_id",
        "digest",
        "call",
        "mode",
        "required_approvals",
        "approvals",
        "decision",
        "approval_reason",
        "plan",
        "result",
        "error",
        "review",
    )
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
