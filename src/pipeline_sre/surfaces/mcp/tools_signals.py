"""MCP tools for metric signals: get_metric, detect_signals, suggest_conf (all read-only)."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline_sre.lifecycle import metrics
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.signals import advice, detectors
from pipeline_sre.surfaces.mcp.tooling import READ, ToolRegistrar


def register_signals(tool: ToolRegistrar, rt: Runtime) -> None:
    """Metric tools: listed only when an environment has Prometheus or Kinesis."""

    @tool(
        "Metric summary (PromQL)",
        "Runs a PromQL range query over the last `window` (e.g. 30s, 5m, 1h; at most 7d) at `step` (default: "
        "window/60, at least 1s; at most 1100 points) against the environment's Prometheus and returns a "
        "SUMMARY per series, never raw points: last, min, max, mean, p50, p95, trend (up/down/flat) and change "
        "(least-squares change over the window relative to the mean), the largest last values first, at most "
        "20 series and 4 KB, plus `series_total` and an `overall` line covering every series. Invalid PromQL "
        "returns invalid_input with Prometheus' own message.",
        READ,
    )
    async def get_metric(
        query: str, window: str = "5m", step: str | None = None, environment: str | None = None
    ) -> dict[str, Any]:
        return await metrics.get_metric(rt, query, window, step, environment)

    @tool(
        "Detect metric signals",
        "Evaluates the configured signal detectors now, in one environment or every environment with "
        "Prometheus: Spark stage skew (p95/p50 task duration and shuffle read held by a few tasks), executor "
        "GC time over 40% of CPU time, Kafka/MSK consumer lag above its threshold AND rising (by consumer group "
        "and topic), data freshness (time since the last successful load) and Kinesis iterator age (Prometheus "
        "exporter, or CloudWatch for environments with a kinesis section). Each signal names its kind, "
        "subject (labels), value, threshold, evidence and the runbook that applies, and `runbook_matches`: the "
        "runbooks whose metric conditions hold for its subject, as measured; pass it to suggest_conf. "
        "Reading only: it opens no incident.",
        READ,
    )
    async def detect_signals(environment: str | None = None) -> dict[str, Any]:
        return await detectors.detect_signals(rt, environment)


def register_conf_advice(tool: ToolRegistrar, rt: Runtime) -> None:
    """Spark, Kafka and Kinesis configuration advice: needs no backend, always listed."""

    @tool(
        "Suggest a Spark / consumer configuration fix",
        "Config advice for a metric problem (`problem`: spark_stage_skew, spark_gc_pressure, spark_oom, "
        "kafka_consumer_lag, kinesis_iterator_age, data_freshness, or words): plan, risk, rollback, verify, "
        "conf deltas with reasons, steps. `plan_context`: key=value facts to compute deltas from (e.g. "
        "'spark.sql.shuffle.partitions=200 cores=64 small_side=80MB'). Changes nothing.",
        READ,
    )
    async def suggest_conf(problem: str, plan_context: str = "") -> dict[str, Any]:
        return await asyncio.to_thread(advice.suggest_conf, rt, problem, plan_context)
