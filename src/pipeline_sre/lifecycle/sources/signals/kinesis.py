"""Kinesis iterator age from CloudWatch metrics: the detector and the reader runbook conditions use.

A stream is behind when the latest `GetRecords.IteratorAgeMilliseconds` (Maximum) in the detection window is
over `kinesis.threshold_ms`. The signal it raises has the same kind, subject (`stream_name=<name>`), runbook
and metric names as the Prometheus detector on the exporter's series, so suggest_conf and verification (age
back under the threshold and falling) treat both alike. `kinesis_iterator_age_ms` is the latest value; with
`for_minutes`, the smallest or largest over that period up to the latest datapoint (CloudWatch lags).
`kinesis_iterator_age_growth` is the least-squares slope of the last 10 minutes, in ms per second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from pipeline_sre.connectors.cloudwatch_metrics import CloudWatchMetrics, Series
from pipeline_sre.errors import InvalidInput
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.signals.runbook_metrics import Reader
from pipeline_sre.runbooks.loader import MetricCondition
from pipeline_sre.settings.backends import KinesisConnection

CLOUDWATCH_DETECTOR = "kinesis_iterator_age_cloudwatch"
KIND = "kinesis_iterator_age"
RUNBOOK = "kinesis_iterator_age"
CATEGORY = "resource_exhausted"
GROWTH_WINDOW_S = 600.0


def connection(rt: Runtime, env: str) -> KinesisConnection:
    conf = rt.settings.environments[env].kinesis
    if conf is None:
        raise InvalidInput(f"environment '{env}' has no kinesis section in its configuration")
    return conf


def reader_for(rt: Runtime, env: str) -> CloudWatchMetrics:
    return CloudWatchMetrics(env, connection(rt, env))


def slope(series: Series) -> float | None:
    """Least-squares slope (value per second); None with fewer than two points."""
    if len(series) < 2:
        return None
    n = len(series)
    mean_t = sum(t for t, _ in series) / n
    mean_v = sum(v for _, v in series) / n
    sxx = sum((t - mean_t) ** 2 for t, _ in series)
    if sxx == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in series) / sxx


async def stream_ages(rt: Runtime, env: str, end: float | None = None) -> dict[str, Series]:
    """Iterator age per stream over the detection window ending at `end` (default now)."""
    cw = reader_for(rt, env)
    until = end if end is not None else time.time()
    start = until - cw.conn.window_minutes * 60

    def read() -> dict[str, Series]:
        return cw.iterator_age(cw.streams(), start, until)

    return await asyncio.to_thread(read)


def cloudwatch_reader(rt: Runtime, env: str, subject: Mapping[str, str]) -> Reader:
    stream = subject.get("stream_name", "")
    cw = reader_for(rt, env)

    async def read(cond: MetricCondition, over_period: bool, at: float) -> float | None:
        if cond.metric not in ("kinesis_iterator_age_ms", "kinesis_iterator_age_growth"):
            raise KeyError(f"unknown metric {cond.metric!r} for CloudWatch Kinesis (known: kinesis_iterator_age_*)")
        span = max(GROWTH_WINDOW_S, cond.for_minutes * 60.0, cw.conn.period_seconds * 3.0)
        series = (await asyncio.to_thread(cw.iterator_age, [stream], at - span, at))[stream]
        if cond.metric == "kinesis_iterator_age_growth":
            return slope([p for p in series if p[0] >= at - GROWTH_WINDOW_S])
        if not series:
            return None
        if over_period and cond.for_minutes:
            last = series[-1][0]  # CloudWatch publishes minutes late: the period ends at its latest datapoint
            held = [v for t, v in series if t >= last - cond.for_minutes * 60]
            return (max if cond.op in ("<", "<=") else min)(held)
        return series[-1][1]

    return read
