"""Which recorded approvals still count: bound to the action's digest, distinct, configured, not expired.

Approvals come only from a channel the agent cannot drive (the authenticated CLI, the console, Slack).
The four-eyes rule compares people (`identity.same_person`), not the surface they used.
There is deliberately no code path that turns an MCP elicitation answer into an approval.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline_sre.governance.identity import same_person
from pipeline_sre.store.models import ApprovalRow


@dataclass(frozen=True, slots=True)
class ApprovalView:
    approver: str
    decision: str
    comment: str | None
    created_at: datetime
    valid: bool
    why_not: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "approver": self.approver,
            "decision": self.decision,
            "comment": self.comment,
            "at": self.created_at.isoformat(timespec="seconds"),
            "valid": self.valid,
            "why_not": self.why_not,
        }


@dataclass(frozen=True, slots=True)
class ApprovalStatus:
    views: tuple[ApprovalView, ...]
    valid_approvers: tuple[str, ...]
    expired: int
    tampered: int


def approval_mac(key: bytes, action_id: str, digest: str, approver: str, decision: str) -> str:
    """Binds an approval to the action's digest with a key kept outside the store: rewriting an action's
    params, call and digest together (and the approval's digest) no longer yields a valid approval."""
    return hmac.new(key, f"{action_id}|{digest}|{approver}|{decision}".encode(), hashlib.sha256).hexdigest()


def evaluate(
    rows: Sequence[ApprovalRow],
    *,
    digest: str,
    requested_by: str,
    approvers: frozenset[str],
    ttl: timedelta,
    now: datetime,
    key: bytes | None = None,
) -> ApprovalStatus:
    views: list[ApprovalView] = []
    valid: list[str] = []
    expired = tampered = 0
    for row in rows:
        why: str | None = None
        if row.decision != "approve":
            why = "denied"
        elif row.digest != digest:
            why = "given for a different version of the action (it changed after approval)"
            tampered += 1
        elif key is not None and not hmac.compare_digest(
            row.mac or "", approval_mac(key, row.action_id, row.digest, row.approver, row.decision)
        ):
            why = "its signature does not match (the action or the approval was rewritten in the store)"
            tampered += 1
        elif row.approver not in approvers:
            why = "approver is no longer configured"
        elif same_person(row.approver, requested_by):
            why = "self-approval"
        elif row.approver in valid:
            why = "duplicate approver"
        elif now - row.created_at > ttl:
            why = f"expired (approvals are valid for {int(ttl.total_seconds() // 60)} minutes)"
            expired += 1
        if why is None:
            valid.append(row.approver)
        views.append(ApprovalView(row.approver, row.decision, row.comment, row.created_at, why is None, why))
    return ApprovalStatus(tuple(views), tuple(valid), expired, tampered)
