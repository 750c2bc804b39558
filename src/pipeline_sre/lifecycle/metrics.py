"""Metric signals: PromQL answers summarised per series, signal detectors, and Spark conf suggestions.

`get_metric` never returns raw points: each series becomes last/min/max/mean/p50/p95 and a trend (the
sign of the least-squares slope and the change it implies over the window, relative to the mean), the
series with the largest last values first, capped in count and bytes, plus an overall line that still
accounts for every series. Plain Python: for the ~100 points per series a range query returns, it beats
converting to arrays.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import operator
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline_sre.connectors.prometheus import PrometheusClient
from pipeline_sre.errors import InvalidInput, PipelineSreError
from pipeline_sre.lifecycle import conf_advice, kinesis, runbook_metrics
from pipeline_sre.lifecycle.compact import clip, fit
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.models import CATEGORIES
from pipeline_sre.runbooks.loader import Runbook
from pipeline_sre.settings.backends import DetectorConfig, PrometheusConnection, SignalCondition, default_detectors

MAX_WINDOW_S = 7 * 24 * 3600
MAX_POINTS = 1100
DEFAULT_POINTS = 60
MAX_QUERY_CHARS = 4000
FLAT_CHANGE = 0.02  # |relative change| under 2% over the window reads as flat
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


# -- durations and numbers --------------------------------------------------------------------------


def parse_duration(text: str, what: str = "window") -> float:
    """Prometheus-style durations ("90s", "5m", "1h30m"), as seconds."""
    raw = text.strip().lower()
    if not raw or _DURATION.sub("", raw):
        raise InvalidInput(f"{what} must be a duration such as 30s, 5m, 1h or 1h30m; got {text!r}")
    seconds = sum(float(n) * _UNIT_S[u] for n, u in _DURATION.findall(raw))
    if seconds <= 0:
        raise InvalidInput(f"{what} must be positive; got {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 3600:g}h" if seconds % 3600 == 0 else f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def num(value: float) -> float | int | str:
    """Four significant digits; integers stay integers; NaN/Inf as Prometheus spells them."""
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value == int(value) and abs(value) < 1e15:
        return int(value)
    return float(f"{value:.4g}")


# -- summaries --------------------------------------------------------------------------------------


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def trend(times: Sequence[float], values: Sequence[float]) -> tuple[str, float]:
    """Direction of the least-squares slope and the change it implies over the span, relative to the mean."""
    n = len(values)
    if n < 2:
        return "flat", 0.0
    mean_t = sum(times) / n
    mean_v = sum(values) / n
    sxx = sxy = 0.0
    for t, v in zip(times, values, strict=True):
        dt = t - mean_t
        sxx += dt * dt
        sxy += dt * (v - mean_v)
    if sxx == 0:
        return "flat", 0.0
    slope = sxy / sxx
    change = slope * (times[-1] - times[0])
    scale = abs(mean_v) or max(abs(v) for v in values) or 1.0
    relative = change / scale
    if abs(relative) < FLAT_CHANGE:
        return "flat", relative
    return ("up" if slope > 0 else "down"), relative


def summarise(times: Sequence[float], values: Sequence[float]) -> dict[str, Any]:
    """last/min/max/mean/p50/p95/trend of one series; non-finite samples are counted, not averaged."""
    finite_t: list[float] = []
    finite_v: list[float] = []
    for t, v in zip(times, values, strict=True):
        if math.isfinite(v):
            finite_t.append(t)
            finite_v.append(v)
    out: dict[str, Any] = {"last": num(values[-1]) if values else None, "n": len(values)}
    if not finite_v:
        return out
    ordered = sorted(finite_v)
    direction, change = trend(finite_t, finite_v)
    out.update(
        min=num(ordered[0]),
        max=num(ordered[-1]),
        mean=num(sum(finite_v) / len(finite_v)),
        p50=num(_quantile(ordered, 0.5)),
        p95=num(_quantile(ordered, 0.95)),
        trend=direction,
        change=num(round(change, 4)),
    )
    if len(finite_v) != len(values):
        out["non_finite"] = len(values) - len(finite_v)
    return out


def _labels_text(labels: Mapping[str, str], common: Mapping[str, str]) -> str:
    parts = [f"{k}={clip(v, 60)}" for k, v in sorted(labels.items()) if k not in common]
    return ",".join(parts) or "{}"


def _common_labels(series: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Label pairs every series shares (job, instance, __name__...): said once, not per series."""
    if not series:
        return {}
    common = dict(series[0].get("metric") or {})
    for s in series[1:]:
        metric = s.get("metric") or {}
        for key in [k for k, v in common.items() if metric.get(k) != v]:
            del common[key]
        if not common:
            break
    if len(series) == 1:
        common = {k: v for k, v in common.items() if k == "__name__"}
    return common


def summarise_result(
    data: Mapping[str, Any], *, max_series: int, max_bytes: int, header: dict[str, Any]
) -> dict[str, Any]:
    """A Prometheus `data` block (matrix or vector) as per-series summaries within `max_bytes`."""
    kind = data.get("resultType")
    raw = data.get("result")
    if kind == "scalar" and isinstance(raw, list):
        raw = [{"metric": {}, "value": raw}]
    series_in: list[dict[str, Any]] = raw if isinstance(raw, list) else []
    common = _common_labels(series_in)
    rows: list[tuple[float, dict[str, Any]]] = []
    directions = {"up": 0, "down": 0, "flat": 0}
    overall_min, overall_max = math.inf, -math.inf
    for s in series_in:
        points = s.get("values") or ([s["value"]] if "value" in s else [])
        times = [float(p[0]) for p in points]
        values = [float(p[1]) for p in points]
        summary = summarise(times, values)
        if "trend" in summary:
            directions[summary["trend"]] += 1
            overall_min = min(overall_min, float(summary["min"]))
            overall_max = max(overall_max, float(summary["max"]))
        last = values[-1] if values else -math.inf
        sort_key = last if math.isfinite(last) else -math.inf
        rows.append((sort_key, {"labels": _labels_text(s.get("metric") or {}, common), **summary}))
    rows.sort(key=lambda r: -r[0])
    shown = [r for _, r in rows[:max_series]]
    result: dict[str, Any] = dict(header)
    if "__name__" in common:
        result["metric"] = common.pop("__name__")
    if common:
        result["common_labels"] = {k: clip(v, 60) for k, v in sorted(common.items())}
    result["series_total"] = len(rows)
    if rows:
        lasts = [k for k, _ in rows if math.isfinite(k)]
        result["overall"] = {
            "min": num(overall_min) if math.isfinite(overall_min) else None,
            "max": num(overall_max) if math.isfinite(overall_max) else None,
            "last_max": num(max(lasts)) if lasts else None,
            "last_min": num(min(lasts)) if lasts else None,
            **directions,
        }
    result["sorted_by"] = "last value, largest first"
    result["series"] = shown
    if len(rows) > len(shown):
        result["series_omitted"] = len(rows) - len(shown)
    return fit(result, max_bytes, "series")


def _prometheus(rt: Runtime, environment: str | None) -> tuple[str, PrometheusConnection]:
    env_name, env = rt.environment(environment)
    conn = env.prometheus
    if conn is None:
        with_prom = [n for n, e in rt.settings.environments.items() if e.prometheus is not None]
        raise InvalidInput(
            f"environment '{env_name}' has no prometheus section in its configuration; "
            f"environments with Prometheus: {', '.join(with_prom) or '(none)'}"
        )
    return env_name, conn


prometheus_of = _prometheus


def _check_query(query: str) -> None:
    if not query.strip():
        raise InvalidInput("query must be a PromQL expression; got an empty string")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query must be at most {MAX_QUERY_CHARS} characters; got {len(query)}")


async def get_metric(
    rt: Runtime, query: str, window: str = "5m", step: str | None = None, environment: str | None = None
) -> dict[str, Any]:
    _check_query(query)
    span = parse_duration(window, "window")
    if span > MAX_WINDOW_S:
        raise InvalidInput(f"window must be at most 7d; got {window!r}")
    step_s = parse_duration(step, "step") if step else max(1.0, math.ceil(span / DEFAULT_POINTS))
    if span / step_s + 1 > MAX_POINTS:
        raise InvalidInput(f"window/step gives {int(span / step_s) + 1} points per series; the maximum is {MAX_POINTS}")
    env, conn = _prometheus(rt, environment)
    end = time.time()
    async with rt.clients.prometheus(env) as client:
        data = await client.query_range(query, end - span, end, step_s)
    header = {"env": env, "query": clip(query, 300), "window": window, "step": format_duration(step_s)}
    return await asyncio.to_thread(
        summarise_result, data, max_series=conn.max_series, max_bytes=conn.max_result_bytes, header=header
    )


# -- signal detectors -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signal:
    kind: str
    environment: str
    subject: str
    value: float
    threshold: float
    evidence: str
    runbook_id: str | None
    detector: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    category: str = "unknown"

    @property
    def source(self) -> str:
        return f"signal:{self.detector or self.kind}"

    @property
    def signature(self) -> str:
        return f"{self.kind}:{self.subject}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "detector": self.detector,
            "environment": self.environment,
            "subject": self.subject,
            "value": num(self.value),
            "threshold": num(self.threshold),
            "evidence": self.evidence,
            "runbook_id": self.runbook_id,
        }


def _subjects(data: Mapping[str, Any], labels: Sequence[str]) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = {}
    if data.get("resultType") == "scalar":
        return {tuple("" for _ in labels): float(data["result"][1])}
    for s in data.get("result") or []:
        metric = s.get("metric") or {}
        key = tuple(str(metric.get(name, "")) for name in labels)
        value = float((s.get("value") or [0, "NaN"])[1])
        if key not in out or value > out[key]:
            out[key] = value
    return out


def _holds(cond: SignalCondition, value: float) -> bool:
    return math.isfinite(value) and bool(_OPS[cond.op](value, cond.threshold))


def _describe(cond: SignalCondition, value: float) -> str:
    return f"{cond.label or 'value'} = {num(value)} (threshold {cond.op} {num(cond.threshold)})"


async def _measure(client: PrometheusClient, det: DetectorConfig, at: float) -> list[dict[tuple[str, ...], float]]:
    """Per-subject values of the detector's condition and of each `also` condition, in that order."""
    answers = await asyncio.gather(*(client.query(c.query, at) for c in (det.condition, *det.also)))
    return [_subjects(a, det.subject_labels) for a in answers]


def _reading(det: DetectorConfig, values: list[dict[tuple[str, ...], float]], key: tuple[str, ...]) -> tuple[bool, str]:
    """Whether every condition holds for one subject, and the values measured for it."""
    value = values[0][key]
    extra = [(c, v.get(key)) for c, v in zip(det.also, values[1:], strict=True)]
    fires = _holds(det.condition, value) and all(v is not None and _holds(c, v) for c, v in extra)
    return fires, "; ".join([_describe(det.condition, value)] + [_describe(c, v) for c, v in extra if v is not None])


def _subject(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


async def evaluate_detector(client: PrometheusClient, env: str, det: DetectorConfig, at: float) -> list[Signal]:
    values = await _measure(client, det, at)
    signals: list[Signal] = []
    for key, value in values[0].items():
        fires, evidence = _reading(det, values, key)
        if not fires:
            continue
        labels = dict(zip(det.subject_labels, key, strict=True))
        signals.append(
            Signal(
                kind=det.kind,
                environment=env,
                subject=_subject(labels),
                value=value,
                threshold=det.condition.threshold,
                evidence=evidence,
                runbook_id=det.runbook_id,
                detector=det.name,
                labels=labels,
                category=det.category,
            )
        )
    signals.sort(key=lambda s: -s.value)
    return signals


async def recheck_signal(rt: Runtime, env: str, detector: str, subject: str) -> tuple[bool | None, str]:
    """A fresh evaluation of one detector for the subject of a signal it raised: (fires, what was measured).
    `fires` is None when that cannot be told: the detector is gone or the subject has no finite value."""
    _, conn = _prometheus(rt, env)
    det = next((d for d in conn.detectors if d.name == detector and d.enabled), None)
    if det is None:
        return None, f"detector {detector!r} is no longer configured (or enabled) in environment {env!r}"
    async with rt.clients.prometheus(env) as client:
        values = await _measure(client, det, time.time())
    key = next((k for k in values[0] if _subject(dict(zip(det.subject_labels, k, strict=True))) == subject), None)
    if key is None or not math.isfinite(values[0][key]):
        return None, f"no data for {subject} from: {clip(det.condition.query, 200)}"
    return _reading(det, values, key)


async def kinesis_signals(rt: Runtime, env: str) -> list[Signal]:
    """Streams whose latest CloudWatch iterator age is over the environment's kinesis.threshold_ms."""
    threshold = kinesis.connection(rt, env).threshold_ms
    out: list[Signal] = []
    for stream, series in (await kinesis.stream_ages(rt, env)).items():
        if not series or series[-1][1] <= threshold:
            continue
        growth = kinesis.slope(series[-10:])
        trend_text = f"; growth {num(growth)} ms/s" if growth is not None else ""
        out.append(
            Signal(
                kind=kinesis.KIND,
                environment=env,
                subject=f"stream_name={stream}",
                value=series[-1][1],
                threshold=threshold,
                evidence=f"iterator age (ms) = {num(series[-1][1])} (threshold > {num(threshold)}){trend_text}",
                runbook_id=kinesis.RUNBOOK,
                detector=kinesis.CLOUDWATCH_DETECTOR,
                labels={"stream_name": stream},
                category=kinesis.CATEGORY,
            )
        )
    return out


async def signals_for(rt: Runtime, env: str) -> tuple[list[Signal], list[dict[str, str]], list[str]]:
    """(signals, detector errors, detectors evaluated) for one environment with Prometheus or Kinesis configured."""
    conf = rt.settings.environments.get(env)
    if conf is not None and conf.kinesis is not None:
        try:
            found = await kinesis_signals(rt, env)
            failed: list[dict[str, str]] = []
        except PipelineSreError as err:
            found, failed = [], [{"detector": kinesis.CLOUDWATCH_DETECTOR, "error": err.code, "message": err.message}]
        if conf.prometheus is None:
            return found, failed, [kinesis.CLOUDWATCH_DETECTOR]
        more, errors, names = await signals_for_prometheus(rt, env)
        return (
            sorted([*found, *more], key=lambda s: -s.value),
            [*failed, *errors],
            [*names, kinesis.CLOUDWATCH_DETECTOR],
        )
    return await signals_for_prometheus(rt, env)


async def signals_for_prometheus(rt: Runtime, env: str) -> tuple[list[Signal], list[dict[str, str]], list[str]]:
    _, conn = _prometheus(rt, env)
    detectors = [d for d in conn.detectors if d.enabled]
    at = time.time()
    async with rt.clients.prometheus(env) as client:
        outcomes = await asyncio.gather(
            *(evaluate_detector(client, env, d, at) for d in detectors), return_exceptions=True
        )
    signals: list[Signal] = []
    errors: list[dict[str, str]] = []
    for det, outcome in zip(detectors, outcomes, strict=True):
        if isinstance(outcome, PipelineSreError):
            errors.append({"detector": det.name, "error": outcome.code, "message": clip(outcome.message, 300) or ""})
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            signals += outcome
    return signals, errors, [d.name for d in detectors]


async def detect_signals(rt: Runtime, environment: str | None = None) -> dict[str, Any]:
    """Evaluate the configured detectors in one environment or every environment with Prometheus."""
    if environment is not None:
        name, conf = rt.environment(environment)
        names = [name if conf.kinesis is not None else _prometheus(rt, environment)[0]]
    else:
        names = [n for n, e in rt.settings.environments.items() if e.prometheus is not None or e.kinesis is not None]
    skipped = [n for n in rt.selected(environment) if n not in names]
    results = await rt.each_environment(names, lambda env: signals_for(rt, env))
    signals: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    evaluated: dict[str, list[str]] = {}
    for env, outcome in results:
        if isinstance(outcome, PipelineSreError):
            errors.append({"environment": env, "error": outcome.code, "message": clip(outcome.message, 300) or ""})
            continue
        found, det_errors, dets = outcome
        signals += await _with_runbook_matches(rt, env, found)
        errors += [{"environment": env, **e} for e in det_errors]
        evaluated[env] = dets
    result: dict[str, Any] = {"count": len(signals), "signals": signals, "evaluated": evaluated}
    if errors:
        result["errors"] = errors
    if skipped:
        result["without_prometheus"] = skipped
    if not names:
        result["message"] = "no environment has a prometheus section in its configuration"
    return fit(result, rt.settings.server.max_result_bytes, "signals")


MAX_MATCHED_SIGNALS = 20  # runbook conditions are measured for at most this many signals per environment


async def _with_runbook_matches(rt: Runtime, env: str, found: Sequence[Signal]) -> list[dict[str, Any]]:
    """Each signal's dict, with the runbooks whose metric match conditions hold for its subject, as measured."""
    out = [s.to_dict() for s in found]
    runbooks = [rb for rb in rt.runbooks.all() if rb.match.metrics]
    if not out or not runbooks or env not in rt.settings.environments:
        return out
    conn = rt.settings.environments[env].prometheus
    at = time.time()
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(rt.clients.prometheus(env)) if conn is not None else None
        queries = runbook_metrics.catalog(conn) if conn is not None else {}
        for sig, entry in zip(found[:MAX_MATCHED_SIGNALS], out, strict=False):
            if sig.detector == kinesis.CLOUDWATCH_DETECTOR:
                read = kinesis.cloudwatch_reader(rt, env, sig.labels)
            elif client is not None:
                read = runbook_metrics.prometheus_reader(client, queries, sig.labels)
            else:
                continue
            try:
                entry["runbook_matches"] = await runbook_metrics.match_runbooks(read, runbooks, at)
            except PipelineSreError as err:
                entry["runbook_matches_error"] = clip(err.message, 200)
    return out


def open_signal_incidents(rt: Runtime, signals: Sequence[Signal], severity: str = "SEV3") -> list[dict[str, Any]]:
    """Open (or join, within the dedup window) one incident per signal. Blocking: call in a thread."""
    out: list[dict[str, Any]] = []
    for sig in signals:
        incident, joined = rt.incidents.open_or_join(
            environment=sig.environment,
            source=sig.source,
            subject=sig.subject,
            signature=sig.signature,
            category=sig.category,
            severity=severity,
            title=f"{sig.kind.replace('_', ' ')} on {sig.subject}: {sig.evidence}",
            run_id=None,
            task_id=None,
            facts={"signal": sig.to_dict()},
        )
        out.append({"incident_id": incident.id, "joined": joined, "subject": sig.subject, "kind": sig.kind})
    return out


# -- suggest_conf -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfDelta:
    key: str
    value: str
    reason: str
    scale: float | None = None  # relative to the current value when plan_context gives one


_CONF_DELTAS: dict[str, tuple[ConfDelta, ...]] = {
    "spark_gc_pressure": (
        ConfDelta("spark.executor.memory", "+50%", "More heap per executor lowers collection frequency.", 1.5),
        ConfDelta(
            "spark.executor.cores",
            "-50%",
            "Fewer concurrent tasks share the heap, so each task's working set fits.",
            0.5,
        ),
        ConfDelta(
            "spark.sql.shuffle.partitions",
            "x2",
            "Smaller partitions keep per-task aggregation and sort buffers smaller.",
            2.0,
        ),
        ConfDelta(
            "spark.executor.extraJavaOptions",
            "-XX:+UseG1GC -XX:InitiatingHeapOccupancyPercent=35",
            "G1 with earlier concurrent marking avoids long full collections on large heaps.",
        ),
    ),
    "data_freshness": (),
}
_COMMANDS: dict[str, tuple[str, ...]] = {
    "spark_gc_pressure": ("Spark UI > Executors: GC Time column vs Task Time (red above 10%)",),
    "data_freshness": (
        "list_recent_failures for the producing DAG, then triage its latest failed run",
        "Check that the producing DAG is unpaused and its last run is not stuck in queued/running",
    ),
}
KINDS = (
    "spark_stage_skew",
    "spark_gc_pressure",
    "spark_oom",
    "kafka_consumer_lag",
    "kinesis_iterator_age",
    "data_freshness",
)
_KEYWORDS: tuple[tuple[str, str], ...] = (
    (r"skew|straggler|hot key|p95.*p50|shuffle read", "spark_stage_skew"),
    (r"out ?of ?memory|\boom\b|stopped unexpectedly|exit code 137|container killed", "spark_oom"),
    (r"\bgc\b|garbage|gc time|gc overhead|heap", "spark_gc_pressure"),
    (r"kinesis|iterator ?age|getrecords", "kinesis_iterator_age"),
    (r"lag|consumer ?group|offsets? behind|kafka|msk", "kafka_consumer_lag"),
    (r"fresh|stale|sla|last success|late data", "data_freshness"),
)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([kmgt]?)b?$", re.IGNORECASE)


def _scaled(current: str, factor: float) -> str | None:
    """`4g` x1.5 -> `6g`; `200` x2 -> `400`; None when `current` is not a number or size."""
    m = _SIZE.match(current.strip())
    if not m:
        return None
    value = float(m.group(1)) * factor
    unit = m.group(2)
    if unit:
        return f"{max(1, round(value))}{unit.lower()}"
    return str(max(1, round(value)))


def _deltas(kind: str, rb: Runbook | None, current: Mapping[str, str], problem: str = "") -> list[dict[str, Any]]:
    configured = getattr(rb, "conf_deltas", None) if rb is not None else None
    computed = conf_advice.advice(kind, current, problem)
    if computed is not None and not configured:
        return conf_advice.entries(computed, current)
    base: Sequence[ConfDelta] = (
        [ConfDelta(str(d.key), str(d.value), str(getattr(d, "reason", ""))) for d in configured]
        if configured
        else _CONF_DELTAS.get(kind, ())
    )
    out: list[dict[str, Any]] = []
    for d in base:
        now = current.get(d.key)
        proposed = d.value
        if d.scale is not None and now is not None:
            proposed = _scaled(now, d.scale) or d.value
        if now is not None and now.lower() == proposed.lower():
            continue  # already set as proposed
        entry: dict[str, Any] = {"key": d.key, "proposed": proposed, "reason": d.reason}
        if now is not None:
            entry["current"] = now
        out.append(entry)
    return out


def suggest_conf(rt: Runtime, problem: str, plan_context: str = "") -> dict[str, Any]:
    """The runbook plan for a metric problem, with Spark conf deltas relative to `plan_context`'s values."""
    text = problem.strip()
    if not text:
        raise InvalidInput("problem must name the symptom, e.g. 'stage skew', 'GC time 60%', 'consumer lag rising'")
    if len(text) > 2000 or len(plan_context) > 8000:
        raise InvalidInput("problem must be at most 2000 characters and plan_context at most 8000")
    lowered = text.lower()
    kind = next((k for k in KINDS if k in lowered.replace(" ", "_")), None)
    kind = kind or _RUNBOOK_KINDS.get(lowered.replace(" ", "_"))
    if kind is None:
        kind = next((k for pattern, k in _KEYWORDS if re.search(pattern, lowered)), None)
    reasons: list[str] = []
    rb: Runbook | None = None
    if kind is not None:
        reasons.append(f"problem text reads as {kind}")
        rb_id = _runbook_for(rt, kind, lowered)
        if rb_id:
            try:
                rb = rt.runbooks.get(rb_id)
            except PipelineSreError:
                rb = None
    if rb is None:
        matches = rt.runbooks.match(signature_text=text, category=lowered if lowered in _categories() else None)
        if matches:
            rb = matches[0].runbook
            reasons += list(matches[0].reasons)
    if kind is None and rb is None:
        known = ", ".join(sorted(KINDS))
        raise InvalidInput(f"no runbook matches {clip(text, 80)!r}; describe the symptom or name one of: {known}")
    current = conf_advice.parse_context(plan_context)
    result: dict[str, Any] = {"problem": clip(text, 200), "kind": kind, "matched_because": reasons}
    result.update(_advice(rb, kind, current, text))
    if current:
        result["plan_context_conf"] = current
    result["note"] = "Suggestions only: a conf change is an owner change; use propose_action for anything that writes."
    return fit(result, rt.settings.server.max_result_bytes, "prevention", "commands", "steps", "conf_deltas")


def _advice(rb: Runbook | None, kind: str | None, current: Mapping[str, str], problem: str = "") -> dict[str, Any]:
    """The runbook's plan, the Spark conf deltas (relative to `current`) and the diagnostic commands for a kind."""
    out: dict[str, Any] = {}
    if rb is not None:
        out.update(
            runbook_id=rb.id,
            title=rb.title,
            why=" ".join(rb.why.split()),
            plan=[{"title": s.title, "action": s.action, "reversible": s.reversible} for s in rb.plan],
            risk=rb.risk.level,
            rollback=rb.rollback,
            verify=[v.description or v.check for v in rb.verify],
            prevention=rb.prevention,
        )
    out["conf_deltas"] = _deltas(kind or "", rb, current, problem) if kind else []
    computed = conf_advice.advice(kind or "", current, problem)
    if computed is not None:
        out["steps"] = computed.steps
    configured_cmds = getattr(rb, "commands", None) if rb is not None else None
    default_cmds = computed.commands if computed is not None else _COMMANDS.get(kind or "", ())
    out["commands"] = list(configured_cmds) if configured_cmds else list(default_cmds)
    return out


def signal_advice(rt: Runtime, sig: Signal) -> dict[str, Any]:
    """What suggest_conf says for a signal, from the runbook its detector names. Blocking (runbook files)."""
    rb: Runbook | None = None
    if sig.runbook_id:
        try:
            rb = rt.runbooks.get(sig.runbook_id)
        except PipelineSreError:
            rb = None  # a detector naming a runbook that is gone still gets its kind's deltas and commands
    advice = {"kind": sig.kind, **_advice(rb, sig.kind, {}, sig.evidence)}
    advice["note"] = "Suggestions only: a configuration change goes through rollout_config, approved by a human."
    return advice


_RUNBOOK_KINDS = {"databricks_job_oom": "spark_oom", "oom": "spark_oom", "kafka_consumer": "kafka_consumer_lag"}


def _runbook_for(rt: Runtime, kind: str, problem: str = "") -> str | None:
    """The runbook a configured detector of this kind names, else the default detector's; OOM by its wording."""
    if kind == "spark_oom":
        return "databricks_job_oom" if re.search(r"databricks|driver", problem) else "oom"
    for env in rt.settings.environments.values():
        for det in env.prometheus.detectors if env.prometheus else []:
            if det.kind == kind and det.runbook_id:
                return det.runbook_id
    return next((d.runbook_id for d in default_detectors() if d.kind == kind), None)


def _categories() -> frozenset[str]:
    return frozenset(CATEGORIES)
