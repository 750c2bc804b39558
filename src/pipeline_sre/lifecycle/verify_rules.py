"""The rules every source is verified by: checks with a reason each, and one way to reach a verdict.

A check is {rule, ok, detail}: ok True proves recovery, False disproves it, None is not proven yet.
The verdict: any False -> not_recovered; all True -> recovered; otherwise pending, until the timeout
turns a still unproven fix into not_recovered. Waiting out a quiet period after the fix worked is not
"unproven": a recovery late in the timeout window is not escalated because its quiet period runs past it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipeline_sre.governance.service import ActionRecord
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.models import iso
from pipeline_sre.settings.config import VerifyConfig
from pipeline_sre.store.incidents import Incident

QUIET_RULES = frozenset({"no_new_failure", "stays_clear"})
FAILED_ACTION_STATES = ("failed", "denied", "expired", "refused")


def check(rule: str, ok: bool | None, detail: str) -> dict[str, Any]:
    return {"rule": rule, "ok": ok, "detail": detail}


@dataclass(slots=True)
class Evidence:
    """What one source found: its checks, when the timeout clock started (None: not yet) and from what."""

    checks: list[dict[str, Any]]
    started: datetime | None = None
    basis: str = "the action"
    keep: dict[str, Any] = field(default_factory=dict)  # stored in the verdict for the next check to read


def run_check(what: str, ok: bool | None, state: str) -> dict[str, Any]:
    return check("run_succeeded", ok, f"{what} is {state}")


def tasks_check(incident: Incident, outcome: Mapping[str, bool | None]) -> dict[str, Any]:
    """Each task the incident recorded as failed: True (succeeded), False (failed again), None / absent (not
    finished)."""
    tasks = sorted(set(incident.facts.get("failed_tasks") or ([incident.task_id] if incident.task_id else [])))
    if not tasks:
        return check("failed_tasks_succeeded", True, "the incident recorded no failed task")
    bad = [t for t in tasks if outcome.get(t) is False]
    pending = [t for t in tasks if outcome.get(t) is None]
    if bad:
        return check("failed_tasks_succeeded", False, f"failed again: {bad}")
    if pending:
        return check("failed_tasks_succeeded", None, f"not finished: {pending}")
    return check("failed_tasks_succeeded", True, f"succeeded: {tasks}")


def quiet_check(rule: str, since: datetime, now: datetime, quiet_minutes: int, what: str) -> dict[str, Any]:
    """No `what` for quiet_minutes after `since`: None while the period runs, then True."""
    until = since + timedelta(minutes=quiet_minutes)
    left = until - now
    if left.total_seconds() > 0:
        pending = check(rule, None, f"quiet period: {math.ceil(left.total_seconds() / 60)} min left")
        pending["until"] = until.isoformat(timespec="seconds")
        return pending
    return check(rule, True, f"no {what} for {quiet_minutes} min after recovery")


def no_new_failure(failures: int, ended: datetime, now: datetime, quiet_minutes: int, of: str) -> dict[str, Any]:
    if failures:
        return check("no_new_failure", False, f"{failures} failed run(s) of {of} since recovery")
    return quiet_check("no_new_failure", ended, now, quiet_minutes, f"failed run of {of}")


def decide(evidence: Evidence, rules: VerifyConfig, now: datetime) -> str:
    """The verdict of the checks; a timeout check is added when the fix is still unproven too long."""
    checks = evidence.checks
    if any(c["ok"] is False for c in checks):
        return "not_recovered"
    if all(c["ok"] for c in checks):
        return "recovered"
    unproven = any(c["ok"] is None and c["rule"] not in QUIET_RULES for c in checks)
    limit = timedelta(minutes=rules.timeout_minutes)
    if unproven and evidence.started is not None and now - evidence.started > limit:
        checks.append(check("timeout", False, f"still pending {rules.timeout_minutes} min after {evidence.basis}"))
        return "not_recovered"
    return "pending"


def _executed(rt: Runtime, incident: Incident) -> tuple[ActionRecord | None, dict[str, Any]]:
    """The incident's action once it ran, and the action_executed check either way."""
    if not incident.action_id:
        return None, check("action_executed", None, "no action has been executed for this incident")
    record = rt.governance.get_action(incident.action_id)
    if record.state != "succeeded":
        failed = record.state in FAILED_ACTION_STATES
        return None, check("action_executed", False if failed else None, f"action {record.id} is {record.state}")
    return record, check("action_executed", True, f"{record.action.kind} {record.id} ran at {iso(record.executed_at)}")


async def after_action(
    rt: Runtime, incident: Incident, gather: Callable[[ActionRecord], Awaitable[Evidence]]
) -> Evidence:
    """A run proves the fix, so the action must have run first: until it has, its check is all there is;
    then it leads the evidence `gather` finds about what the action produced."""
    record, executed = await asyncio.to_thread(_executed, rt, incident)
    if record is None:
        return Evidence([executed])
    evidence = await gather(record)
    evidence.checks.insert(0, executed)
    return evidence
