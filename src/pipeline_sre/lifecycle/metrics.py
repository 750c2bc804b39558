"""Metrics: PromQL answers summarised per series (`get_metric`).

`get_metric` never returns raw points: each series becomes last/min/max/mean/p50/p95 and a trend (the
sign of the least-squares slope and the change it implies over the window, relative to the mean), the
series with the largest last values first, capped in count and bytes, plus an overall line that still
accounts for every series. Plain Python: for the ~100 points per series a range query returns, it beats
converting to arrays.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline_sre.errors import InvalidInput
from pipeline_sre.lifecycle.compact import clip, fit
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.backends import PrometheusConnection

MAX_WINDOW_S = 7 * 24 * 3600
MAX_POINTS = 1100
DEFAULT_POINTS = 60
MAX_QUERY_CHARS = 4000
FLAT_CHANGE = 0.02  # |relative change| under 2% over the window reads as flat
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


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


def prometheus_of(rt: Runtime, environment: str | None) -> tuple[str, PrometheusConnection]:
    env_name, env = rt.environment(environment)
    conn = env.prometheus
    if conn is None:
        with_prom = [n for n, e in rt.settings.environments.items() if e.prometheus is not None]
        raise InvalidInput(
            f"environment '{env_name}' has no prometheus section in its configuration; "
            f"environments with Prometheus: {', '.join(with_prom) or '(none)'}"
        )
    return env_name, conn


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
    env, conn = prometheus_of(rt, environment)
    end = time.time()
    async with rt.clients.prometheus(env) as client:
        data = await client.query_range(query, end - span, end, step_s)
    header = {"env": env, "query": clip(query, 300), "window": window, "step": format_duration(step_s)}
    return await asyncio.to_thread(
        summarise_result, data, max_series=conn.max_series, max_bytes=conn.max_result_bytes, header=header
    )
