"""Runbook metric conditions, evaluated: which runbooks a subject's metrics match, and metric verification.

A condition names a quantity. On Prometheus the names are the detectors' (`SignalCondition.metric`) and the
`prometheus.metrics` entries, configured ones over the defaults, so a runbook and the detector that raised
an incident read the same query. A series belongs to a subject (a signal's labels) when each of its labels
is one of the subject's with the same value (so queries aggregate `by` subject labels: a per-app GC ratio
belongs to every stage of that app, a per-executor one to no stage); where several belong, the largest
value counts. `for_minutes` is a
subquery: the smallest value over the period for `>`/`>=` (it held throughout when that passes), the
largest for `<`/`<=`. A relative condition (`of: baseline`) compares with the value at detection.

Verification of a signal incident by its runbook's `check: metric` rules: each rule is proven (True) when it
holds, not yet (None) while it does not within its `within_minutes` of the action (or detection), and
disproven (False) after. Once every rule holds, a quiet period must pass with them holding.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline_sre.connectors.prometheus import PrometheusClient
from pipeline_sre.lifecycle.compact import clip
from pipeline_sre.lifecycle.verify_rules import check, quiet_check
from pipeline_sre.models import iso
from pipeline_sre.runbooks.loader import MetricCondition, Runbook, VerifyRule
from pipeline_sre.settings.backends import PrometheusConnection, default_detectors, default_metrics

# (condition, held over for_minutes, at) -> the value for the reader's subject; None when there is no data
Reader = Callable[[MetricCondition, bool, float], Awaitable[float | None]]


def catalog(conn: PrometheusConnection) -> dict[str, str]:
    """Metric name -> PromQL, from the detectors' named conditions and `metrics` (configured over default)."""
    out: dict[str, str] = {}
    for det in [*default_detectors(), *conn.detectors]:
        for cond in (det.condition, *det.also):
            if cond.metric:
                out[cond.metric] = cond.query
    for metric in [*default_metrics(), *conn.metrics]:
        out[metric.name] = metric.query
    return out


def parse_subject(subject: str) -> dict[str, str]:
    """`app=etl,stage=3` (a Signal's subject) as labels."""
    pairs = (part.partition("=") for part in subject.split(",") if "=" in part)
    return {k.strip(): v for k, _, v in pairs}


def held(query: str, cond: MetricCondition) -> str:
    """The query as a value that passes only if the condition held for `for_minutes` (subquery)."""
    if not cond.for_minutes:
        return query
    fn = "max_over_time" if cond.op in ("<", "<=") else "min_over_time"
    step = max(1, cond.for_minutes * 60 // 100)  # ~100 points: a signal minutes old already has several
    return f"{fn}(({query})[{cond.for_minutes}m:{step}s])"


def subject_value(data: Mapping[str, Any], subject: Mapping[str, str]) -> float | None:
    """The largest finite value among the series whose labels are all the subject's, with its values."""
    if data.get("resultType") == "scalar":
        value = float(data["result"][1])
        return value if math.isfinite(value) else None
    best: float | None = None
    for series in data.get("result") or []:
        labels = {k: v for k, v in (series.get("metric") or {}).items() if k != "__name__"}
        if not labels.items() <= subject.items():
            continue
        value = float((series.get("value") or [0, "NaN"])[1])
        if math.isfinite(value) and (best is None or value > best):
            best = value
    return best


def prometheus_reader(client: PrometheusClient, queries: Mapping[str, str], subject: Mapping[str, str]) -> Reader:
    async def read(cond: MetricCondition, over_period: bool, at: float) -> float | None:
        query = queries.get(cond.metric)
        if query is None:
            known = ", ".join(sorted(queries))
            raise KeyError(f"unknown metric {cond.metric!r} (known: {known})")
        data = await client.query(held(query, cond) if over_period else query, at)
        return subject_value(data, subject)

    return read


@dataclass(frozen=True, slots=True)
class Reading:
    condition: MetricCondition
    value: float | None
    target: float | None
    holds: bool | None  # None: cannot be told (no data, no baseline, unknown metric)
    note: str = ""

    def describe(self) -> str:
        cond = self.condition
        if self.value is None:
            return f"{cond.describe()}: {self.note or 'no data'}"
        target = "" if self.target is None or cond.of == "value" else f" (target {_num(self.target)})"
        verdict = "holds" if self.holds else "does not hold" if self.holds is False else self.note
        return f"{cond.metric} = {_num(self.value)}; {cond.describe()}{target}: {verdict}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"condition": self.condition.describe(), "holds": self.holds}
        if self.value is not None:
            out["value"] = _num(self.value)
        if self.target is not None and self.condition.of == "baseline":
            out["target"] = _num(self.target)
        if self.note:
            out["note"] = self.note
        return out


def _num(value: float) -> float | int:
    return int(value) if value == int(value) and abs(value) < 1e15 else float(f"{value:.4g}")


async def read_condition(
    read: Reader, cond: MetricCondition, at: float, baselines: Mapping[str, float | None] | None = None
) -> Reading:
    try:
        value = await read(cond, True, at)
    except KeyError as err:
        return Reading(cond, None, None, None, str(err.args[0]))
    baseline = (baselines or {}).get(cond.metric)
    target = cond.target(baseline)
    if value is None:
        return Reading(cond, None, target, None, "no data for this subject")
    if target is None:
        return Reading(cond, value, None, None, "no baseline: the metric had no value at detection")
    return Reading(cond, value, target, cond.holds({cond.metric: value}, {cond.metric: baseline or 0.0}))


async def baselines_at(read: Reader, conditions: Sequence[MetricCondition], at: float) -> dict[str, float | None]:
    """The value at `at` (detection) of every metric a relative condition compares with."""
    names = sorted({c.metric for c in conditions if c.of == "baseline"})
    out: dict[str, float | None] = {}
    for name in names:
        cond = next(c for c in conditions if c.metric == name)
        try:
            out[name] = await read(cond, False, at)
        except KeyError:
            out[name] = None
    return out


async def match_runbooks(read: Reader, runbooks: Sequence[Runbook], at: float) -> list[dict[str, Any]]:
    """Runbooks whose metric match conditions hold for the reader's subject, with every reading taken."""
    out: list[dict[str, Any]] = []
    for rb in runbooks:
        if not rb.match.metrics:
            continue
        readings = await asyncio.gather(*(read_condition(read, c, at) for c in rb.match.metrics))
        if any(r.holds for r in readings):
            out.append({"runbook_id": rb.id, "conditions": [r.to_dict() for r in readings if r.value is not None]})
    return out


def metric_rules(rb: Runbook | None) -> list[VerifyRule]:
    return [v for v in rb.verify if v.check == "metric" and v.metric is not None] if rb is not None else []


async def verify_checks(
    read: Reader,
    rules: Sequence[VerifyRule],
    *,
    started: datetime,
    detected: datetime,
    now: datetime,
    quiet_minutes: int,
    kept: Mapping[str, Any],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(checks, what the next check reads back): one check per rule, then the quiet period once all hold."""
    conditions = [r.metric for r in rules if r.metric is not None]
    baselines: dict[str, float | None] = dict(kept.get("baselines") or {})
    missing = [c for c in conditions if c.of == "baseline" and baselines.get(c.metric) is None]
    if missing:
        baselines.update(await baselines_at(read, missing, detected.timestamp()))
    at = min(now.timestamp(), time.time())  # a clock set ahead (tests, replays) still reads the latest data
    readings = await asyncio.gather(*(read_condition(read, c, at, baselines) for c in conditions))
    checks: list[dict[str, Any]] = []
    for rule, reading in zip(rules, readings, strict=True):
        ok: bool | None = True if reading.holds else None
        detail = reading.describe()
        if not reading.holds and now > started + timedelta(minutes=rule.within_minutes):
            ok = False
            detail += f"; not within {rule.within_minutes} min"
        name = rule.description or reading.condition.metric
        checks.append(check(f"metric:{reading.condition.metric}", ok, clip(f"{name}: {detail}", 400) or detail))
    keep: dict[str, Any] = {"baselines": {k: v for k, v in baselines.items() if v is not None}}
    if checks and all(c["ok"] for c in checks):
        previous = kept.get("clear_since")
        since = datetime.fromisoformat(previous) if previous else now
        checks.append(quiet_check("stays_clear", since, now, quiet_minutes, "relapse of the metric checks"))
        keep["clear_since"] = iso(since)
    return checks, keep
