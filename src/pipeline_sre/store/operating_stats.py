"""Operating statistics computed from the store: what every surface did (autopilot, MCP, CLI, console),
over a window of days, optionally for one environment. Nothing is counted in memory, so a restart loses
nothing and every replica reports the same figures.

- incidents opened in the window: by category, by source, by outcome (resolved, escalated, closed, open)
  and by handling (an executed write, a plan only, no plan);
- time to resolve (MTTR) of the incidents resolved in the window: from the failure (its run's end, else
  detection) to resolution, as median, p90 and a daily series;
- fixes: actions executed in the window by the outcome of their incident (resolved, not resolved, still
  open, no incident), overall and per action kind;
- approval latency of the actions a human approved in the window;
- shadow plans the autopilot recorded in the window (audit log).

Counts are SQL aggregates; durations are read as (start, end) pairs of the window's resolved incidents
and approved actions (indexed ranges) and their quantiles taken here, the same way on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from pipeline_sre.models import iso
from pipeline_sre.store.db import Database
from pipeline_sre.store.models import OPEN_INCIDENT_STATES, ActionRow, ApprovalRow, AuditRow, IncidentRow

SHADOW_PLAN_EVENT = "autopilot.shadow_plan"
OUTCOMES = ("resolved", "escalated", "closed", "open")
HANDLING = ("executed", "plan_only", "no_plan")
FIX_OUTCOMES = ("resolved", "not_resolved", "pending", "no_incident")


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by linear interpolation between the closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(frozen=True, slots=True)
class Durations:
    """Seconds of one kind of wait: how many were measured, their median and 90th percentile."""

    count: int
    median_s: float | None
    p90_s: float | None

    @classmethod
    def of(cls, seconds: list[float]) -> Durations:
        return cls(len(seconds), _r(percentile(seconds, 0.5)), _r(percentile(seconds, 0.9)))

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "median_s": self.median_s, "p90_s": self.p90_s}


@dataclass(frozen=True, slots=True)
class DailyMttr:
    day: date
    resolved: int
    median_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "resolved": self.resolved, "median_s": self.median_s}


@dataclass(frozen=True, slots=True)
class FixCounts:
    """Executed actions by the outcome of their incident. The success rate counts settled incidents only:
    a fix still being verified has not succeeded or failed yet, and an action with no incident has no
    outcome to judge."""

    resolved: int = 0
    not_resolved: int = 0
    pending: int = 0
    no_incident: int = 0

    @property
    def executed(self) -> int:
        return self.resolved + self.not_resolved + self.pending + self.no_incident

    @property
    def success_rate(self) -> float | None:
        settled = self.resolved + self.not_resolved
        return round(self.resolved / settled, 3) if settled else None

    def plus(self, other: FixCounts) -> FixCounts:
        return FixCounts(
            self.resolved + other.resolved,
            self.not_resolved + other.not_resolved,
            self.pending + other.pending,
            self.no_incident + other.no_incident,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "executed": self.executed,
            "resolved": self.resolved,
            "not_resolved": self.not_resolved,
            "pending": self.pending,
            "no_incident": self.no_incident,
            "success_rate": self.success_rate,
        }


@dataclass(frozen=True, slots=True)
class OperatingStats:
    since: datetime
    until: datetime
    environment: str | None
    opened: int
    by_category: dict[str, int]
    by_source: dict[str, int]
    by_outcome: dict[str, int]
    handling: dict[str, int]
    shadow_plans: dict[str, int]
    time_to_resolve: Durations
    mttr_daily: list[DailyMttr]
    fixes: FixCounts
    fixes_by_kind: dict[str, FixCounts]
    approval_latency: Durations

    @property
    def window_days(self) -> int:
        return round((self.until - self.since) / timedelta(days=1))

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": {
                "days": self.window_days,
                "since": iso(self.since),
                "until": iso(self.until),
                "environment": self.environment,
            },
            "incidents": {
                "opened": self.opened,
                "by_category": self.by_category,
                "by_source": self.by_source,
                "by_outcome": self.by_outcome,
                "handling": self.handling,
            },
            "time_to_resolve": {**self.time_to_resolve.to_dict(), "daily": [d.to_dict() for d in self.mttr_daily]},
            "fixes": {**self.fixes.to_dict(), "by_kind": {k: v.to_dict() for k, v in self.fixes_by_kind.items()}},
            "approval_latency": self.approval_latency.to_dict(),
            "shadow_plans": self.shadow_plans,
        }


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    """Largest first, then by name: the order a chart and a table show."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _in_env(column: Any, environment: str | None) -> ColumnElement[bool]:
    return column == environment if environment is not None else true()


class OperatingStatsQuery:
    """The statistics of one window; each method one indexed query."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def compute(self, since: datetime, until: datetime, environment: str | None = None) -> OperatingStats:
        if until <= since:
            raise ValueError("the window must end after it starts")
        opened = self._incidents_opened(since, until, environment)
        resolved = self._resolutions(since, until, environment)
        fixes = self._fixes(since, until, environment)
        total = FixCounts()
        for counts in fixes.values():
            total = total.plus(counts)
        category: Counter[str] = Counter()
        source: Counter[str] = Counter()
        outcome: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
        handling: Counter[str] = Counter(dict.fromkeys(HANDLING, 0))
        for cat, src, out, how, n in opened:
            category[cat] += n
            source[src] += n
            outcome[out] += n
            handling[how] += n
        return OperatingStats(
            since=since,
            until=until,
            environment=environment,
            opened=sum(category.values()),
            by_category=_sorted_counts(category),
            by_source=_sorted_counts(source),
            by_outcome={k: outcome[k] for k in OUTCOMES},
            handling={k: handling[k] for k in HANDLING},
            shadow_plans=_sorted_counts(self._shadow_plans(since, until, environment)),
            time_to_resolve=Durations.of([seconds for _, seconds in resolved]),
            mttr_daily=_daily(resolved),
            fixes=total,
            fixes_by_kind=dict(sorted(fixes.items())),
            approval_latency=Durations.of(self._approval_waits(since, until, environment)),
        )

    def _incidents_opened(
        self, since: datetime, until: datetime, environment: str | None
    ) -> list[tuple[str, str, str, str, int]]:
        """(category, source, outcome, handling, count) of the incidents opened in the window."""
        i = IncidentRow
        outcome = case(
            (i.resolved_at.is_not(None), "resolved"),
            (i.escalated_at.is_not(None), "escalated"),
            (i.state == "closed", "closed"),
            else_="open",
        )
        executed = exists().where(ActionRow.incident_id == i.id, ActionRow.executed_at.is_not(None))
        handling = case(
            (executed, "executed"),
            (i.action_id.is_not(None) | i.runbook_id.is_not(None), "plan_only"),
            else_="no_plan",
        )
        query = (
            select(i.category, i.source, outcome, handling, func.count())
            .where(i.opened_at >= since, i.opened_at < until, _in_env(i.environment, environment))
            .group_by(i.category, i.source, outcome, handling)
        )
        with self.db.session(write=False) as s:
            return [(c, src, o, h, int(n)) for c, src, o, h, n in s.execute(query)]

    def _resolutions(self, since: datetime, until: datetime, environment: str | None) -> list[tuple[datetime, float]]:
        """(resolved at, seconds from the failure) of the incidents resolved in the window."""
        i = IncidentRow
        query = select(i.failed_at, i.resolved_at).where(
            i.resolved_at >= since, i.resolved_at < until, _in_env(i.environment, environment)
        )
        with self.db.session(write=False) as s:
            return [(done, _seconds(start, done)) for start, done in s.execute(query) if start and done]

    def _fixes(self, since: datetime, until: datetime, environment: str | None) -> dict[str, FixCounts]:
        """Actions executed in the window, per kind, by the outcome of their incident."""
        a, i = ActionRow, IncidentRow
        outcome = case(
            (i.id.is_(None), "no_incident"),
            (i.resolved_at.is_not(None), "resolved"),
            (i.state.in_(OPEN_INCIDENT_STATES), "pending"),
            else_="not_resolved",
        )
        query = (
            select(a.kind, outcome, func.count())
            .select_from(a)
            .outerjoin(i, i.id == a.incident_id)
            .where(a.executed_at >= since, a.executed_at < until, _in_env(a.environment, environment))
            .group_by(a.kind, outcome)
        )
        counts: dict[str, Counter[str]] = {}
        with self.db.session(write=False) as s:
            for kind, out, n in s.execute(query):
                counts.setdefault(kind, Counter())[out] += int(n)
        return {kind: FixCounts(**{k: c[k] for k in FIX_OUTCOMES}) for kind, c in counts.items()}

    def _approval_waits(self, since: datetime, until: datetime, environment: str | None) -> list[float]:
        """Seconds from asking to approval of the actions a human approved in the window (an environment
        that needs no approval approves at once; those are not waits)."""
        a = ActionRow
        by_human = exists().where(ApprovalRow.action_id == a.id, ApprovalRow.decision == "approve")
        query = select(a.approval_requested_at, a.approved_at).where(
            a.approved_at >= since,
            a.approved_at < until,
            a.approval_requested_at.is_not(None),
            by_human,
            _in_env(a.environment, environment),
        )
        with self.db.session(write=False) as s:
            return [_seconds(asked, done) for asked, done in s.execute(query) if asked and done]

    def _shadow_plans(self, since: datetime, until: datetime, environment: str | None) -> Counter[str]:
        """Shadow plans by the write they would have proposed ("escalate" for none). The audit log keeps
        them (shadow mode stores no incident); its `ts` is ISO text, so the window compares as text."""
        query = select(AuditRow.detail_json).where(
            AuditRow.event == SHADOW_PLAN_EVENT, AuditRow.ts >= _audit_ts(since), AuditRow.ts < _audit_ts(until)
        )
        found: Counter[str] = Counter()
        with self.db.session(write=False) as s:
            for detail_json in s.scalars(query):
                detail = json.loads(detail_json)
                if environment is None or detail.get("environment") == environment:
                    found[str(detail.get("would_propose") or "escalate")] += 1
        return found


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def _audit_ts(at: datetime) -> str:
    """The audit log's timestamp format (governance.audit): UTC, microseconds, a trailing Z."""
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _daily(resolved: Iterable[tuple[datetime, float]]) -> list[DailyMttr]:
    """Median time to resolve per UTC day of resolution, for the days that had one."""
    days: dict[date, list[float]] = {}
    for done, seconds in resolved:
        days.setdefault(done.astimezone(UTC).date(), []).append(seconds)
    return [DailyMttr(day, len(values), _r(percentile(values, 0.5)) or 0.0) for day, values in sorted(days.items())]
