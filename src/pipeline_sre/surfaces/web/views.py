"""What the console and Slack show of actions and incidents: plain data, every string redacted once more.

Incident facts and audit details are redacted when they are stored; they pass through the runtime's
redactor again here, so a page or a Slack message never carries text the redactor would have masked
(templates escape it as well: autoescape is on for every template).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pipeline_sre.governance.audit import AuditRecord
from pipeline_sre.governance.service import ActionRecord
from pipeline_sre.lifecycle.plans import action_view

Redact = Callable[[str], str]
MAX_TEXT = 4000


def redact_tree(value: Any, redact: Redact, depth: int = 0) -> Any:
    """A copy of `value` with every string (keys too) run through `redact` and long strings cut."""
    if depth > 12:
        return "(nested too deep)"
    if isinstance(value, str):
        out = redact(value)
        return out if len(out) <= MAX_TEXT else out[:MAX_TEXT] + f"…(cut, {len(out)} chars)"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {redact(str(k)): redact_tree(v, redact, depth + 1) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [redact_tree(v, redact, depth + 1) for v in value]
    return redact(str(value))


def show(value: Any) -> str:
    """A fact as one line of text: lists joined, mappings as compact JSON."""
    if isinstance(value, list | tuple):
        return ", ".join(show(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return "—" if value is None else str(value)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def action_context(record: ActionRecord, redact: Redact, reviewed: Sequence[str] = ()) -> dict[str, Any]:
    """An action as the pages and Slack show it: the approver's view plus plan and timestamps, redacted.
    `reviewed`: the repositories whose config changes are approved by pull-request review."""
    view = action_view(record)
    full = record.to_dict()
    view["plan"] = full.get("plan") or {}
    for key in ("created_at", "approval_requested_at", "approved_at", "executed_at", "finished_at", "executed_by"):
        if full.get(key):
            view[key] = full[key]
    view.setdefault("approvals", [])
    out: dict[str, Any] = redact_tree(view, redact)
    out["pending"] = record.state in ("proposed", "awaiting_approval")
    out["valid_approvals"] = sum(1 for a in record.approvals if a.valid)
    out["by_review"] = record.action.kind == "rollout_config" and record.action.params.get("repo") in reviewed
    return out


def audit_context(rec: AuditRecord, redact: Redact) -> dict[str, Any]:
    try:
        detail = json.loads(rec.detail_json or "{}")
    except ValueError:
        detail = {"unreadable": True}
    return {
        "seq": rec.seq,
        "ts": rec.ts,
        "actor": redact(rec.actor),
        "actor_kind": rec.actor_kind,
        "event": rec.event,
        "action_id": rec.action_id,
        "result": redact(rec.result),
        "detail": redact_tree(detail, redact),
        "hash": rec.hash,
    }
