"""Incident memory: the ended incidents like a given one, what was done about each, whether it recovered and
who approved it, and how each action kind fared for that failure.

"Like" means the same error signature in the same environment (on any subject: the same failure on another
DAG teaches the same lesson) and, to fill up to `limit`, the same category on the same subject. Read-only and
bounded: the `limit` newest ended incidents within `lookback`, and per-kind figures over the newest
STATS_ACTIONS executed actions; each lookup is an index range scan (migration 0007) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from pipeline_sre.store.db import Database
from pipeline_sre.store.incidents import TERMINAL, Incident, utcnow
from pipeline_sre.store.models import ActionRow, ApprovalRow, IncidentRow

LIMIT = 10
LOOKBACK = timedelta(days=180)
STATS_ACTIONS = 500  # per-kind figures count at most this many of the newest executed actions
DONE = ("succeeded", "failed")  # actions that ran to a known end (an `executing` one proves nothing yet)
# Detection's placeholder when a run showed no decisive error: it names no failure, so nothing is recalled
# by it (only by category on the subject).
NO_SIGNATURE = "no-error-found"
NEVER = datetime.min.replace(tzinfo=UTC)

Basis = Literal["signature", "category"]


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failure is recalled by; `exclude` and `before` keep an incident from remembering itself or
    anything that happened after it was opened."""

    environment: str
    signature: str
    category: str
    subject: str
    exclude: str | None = None
    before: datetime | None = None


@dataclass(frozen=True, slots=True)
class PastAction:
    id: str
    kind: str
    params: dict[str, Any]
    state: str
    approved_by: tuple[str, ...]
    outcome: str  # recovered | did_not_recover | failed


@dataclass(frozen=True, slots=True)
class PastIncident:
    incident: Incident
    matched_by: Basis
    recovered: bool
    actions: tuple[PastAction, ...]

    @property
    def outcome(self) -> str:
        """recovered, else how it ended: escalated (a human took it) or closed (by hand)."""
        return "recovered" if self.recovered else self.incident.state


@dataclass(frozen=True, slots=True)
class KindRecord:
    kind: str
    tries: int
    recovered: int

    @property
    def success_rate(self) -> float:
        return round(self.recovered / self.tries, 2) if self.tries else 0.0


@dataclass(frozen=True, slots=True)
class Recall:
    incidents: tuple[PastIncident, ...]
    by_kind: tuple[KindRecord, ...]
    basis: Basis | None  # which match `by_kind` was counted over: the signature's, else the category's

    def record(self, kind: str) -> KindRecord | None:
        return next((r for r in self.by_kind if r.kind == kind), None)


@dataclass(frozen=True, slots=True)
class _Run:
    """An executed action as far as its outcome needs it."""

    id: str
    state: str
    executed_at: datetime | None


def _recovered(state: str, steps: dict[str, Any]) -> bool:
    # A resolved incident may have been closed since; its steps still say it was resolved.
    return state == "resolved" or "resolved" in steps


def _outcomes(recovered: bool, runs: Sequence[_Run]) -> dict[str, str]:
    """Each executed action's outcome: the last one to run gets the credit when the incident recovered."""
    if not runs:
        return {}
    last = max(runs, key=lambda r: (r.executed_at or NEVER, r.id))
    return {
        r.id: "failed" if r.state == "failed" else "recovered" if recovered and r is last else "did_not_recover"
        for r in runs
    }


class IncidentMemory:
    def __init__(
        self,
        db: Database,
        *,
        limit: int = LIMIT,
        lookback: timedelta = LOOKBACK,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.limit = limit
        self.lookback = lookback
        self.clock = clock

    def recall(self, failure: Failure) -> Recall:
        since = self.clock() - self.lookback
        with self.db.session(write=False) as s:
            found: list[tuple[IncidentRow, Basis]] = []
            named = failure.signature not in ("", NO_SIGNATURE)
            bases: tuple[Basis, ...] = ("signature", "category") if named else ("category",)
            for basis in bases:
                room = self.limit - len(found)
                if room > 0:
                    found += [(row, basis) for row in self._ended(s, self._match(failure, basis, since), room)]
            actions = self._actions(s, [row.id for row, _ in found])
            past = tuple(self._past(row, basis, actions.get(row.id, [])) for row, basis in found)
            basis_of_stats = found[0][1] if found else None
            by_kind = self._by_kind(s, self._match(failure, basis_of_stats, since)) if basis_of_stats else ()
        return Recall(past, by_kind, basis_of_stats)

    @staticmethod
    def _match(failure: Failure, basis: Basis, since: datetime) -> list[ColumnElement[bool]]:
        where = [
            IncidentRow.environment == failure.environment,
            IncidentRow.state.in_(TERMINAL),
            IncidentRow.closed_at >= since,
        ]
        if failure.exclude is not None:
            where.append(IncidentRow.id != failure.exclude)
        if failure.before is not None:
            where.append(IncidentRow.opened_at < failure.before)
        if basis == "signature":
            where.append(IncidentRow.signature == failure.signature)
        else:
            where += [
                IncidentRow.subject == failure.subject,
                IncidentRow.category == failure.category,
                IncidentRow.signature != failure.signature,  # those were matched by signature already
            ]
        return where

    @staticmethod
    def _ended(s: Session, where: list[ColumnElement[bool]], limit: int) -> list[IncidentRow]:
        query = select(IncidentRow).where(*where).order_by(IncidentRow.closed_at.desc(), IncidentRow.id).limit(limit)
        return list(s.scalars(query))

    @staticmethod
    def _actions(s: Session, incident_ids: list[str]) -> dict[str, list[tuple[ActionRow, tuple[str, ...]]]]:
        """The executed actions of these incidents, oldest first, each with who approved it (approvals bound
        to the digest it ran with)."""
        if not incident_ids:
            return {}
        rows = list(
            s.scalars(
                select(ActionRow)
                .where(ActionRow.incident_id.in_(incident_ids), ActionRow.state.in_(DONE))
                .order_by(ActionRow.executed_at, ActionRow.id)
            )
        )
        approvers: dict[str, list[str]] = defaultdict(list)
        if rows:
            votes = s.execute(
                select(ApprovalRow.action_id, ApprovalRow.approver)
                .join(ActionRow, ActionRow.id == ApprovalRow.action_id)
                .where(
                    ApprovalRow.action_id.in_([r.id for r in rows]),
                    ApprovalRow.decision == "approve",
                    ApprovalRow.digest == ActionRow.digest,
                )
                .order_by(ApprovalRow.created_at, ApprovalRow.id)
            )
            for action_id, approver in votes:
                approvers[action_id].append(approver)
        out: dict[str, list[tuple[ActionRow, tuple[str, ...]]]] = defaultdict(list)
        for row in rows:
            out[str(row.incident_id)].append((row, tuple(approvers[row.id])))
        return out

    @staticmethod
    def _past(row: IncidentRow, basis: Basis, actions: list[tuple[ActionRow, tuple[str, ...]]]) -> PastIncident:
        incident = Incident.of(row)
        recovered = _recovered(incident.state, incident.steps)
        outcomes = _outcomes(recovered, [_Run(a.id, a.state, a.executed_at) for a, _ in actions])
        done = tuple(
            PastAction(a.id, a.kind, _params(a.params_json), a.state, approved_by, outcomes[a.id])
            for a, approved_by in actions
        )
        return PastIncident(incident, basis, recovered, done)

    @staticmethod
    def _by_kind(s: Session, where: list[ColumnElement[bool]]) -> tuple[KindRecord, ...]:
        """Tries and recoveries per action kind over the newest STATS_ACTIONS executed actions that match."""
        rows = s.execute(
            select(
                IncidentRow.id,
                IncidentRow.state,
                IncidentRow.steps_json,
                ActionRow.id,
                ActionRow.kind,
                ActionRow.state,
                ActionRow.executed_at,
            )
            .join(ActionRow, ActionRow.incident_id == IncidentRow.id)
            .where(*where, ActionRow.state.in_(DONE))
            .order_by(IncidentRow.closed_at.desc(), ActionRow.executed_at.desc())
            .limit(STATS_ACTIONS)
        ).all()
        per_incident: dict[str, list[_Run]] = defaultdict(list)
        recovered: dict[str, bool] = {}
        kinds: dict[str, str] = {}
        for incident_id, state, steps_json, action_id, kind, action_state, executed_at in rows:
            recovered[incident_id] = _recovered(state, json.loads(steps_json or "{}"))
            per_incident[incident_id].append(_Run(action_id, action_state, executed_at))
            kinds[action_id] = kind
        tries: dict[str, int] = defaultdict(int)
        wins: dict[str, int] = defaultdict(int)
        for incident_id, runs in per_incident.items():
            for action_id, outcome in _outcomes(recovered[incident_id], runs).items():
                tries[kinds[action_id]] += 1
                wins[kinds[action_id]] += outcome == "recovered"
        ranked = sorted(tries, key=lambda k: (-wins[k] / tries[k], -tries[k], k))
        return tuple(KindRecord(k, tries[k], wins[k]) for k in ranked)


def _params(params_json: str) -> dict[str, Any]:
    loaded = json.loads(params_json or "{}")
    return loaded if isinstance(loaded, dict) else {}
