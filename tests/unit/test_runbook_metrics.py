"""Runbook metric conditions without a server: names every runbook uses are defined, subject joins, baselines,
and metric verification's None / True / False over time (the OOM runbook's rules through a scripted reader)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline_sre.lifecycle.sources.signals import runbook_metrics
from pipeline_sre.runbooks.loader import MetricCondition, RunbookLibrary
from pipeline_sre.settings.backends import PrometheusConnection

pytestmark = pytest.mark.anyio


def test_every_metric_a_builtin_runbook_names_is_a_detector_or_catalog_quantity() -> None:
    known = runbook_metrics.catalog(PrometheusConnection(url="http://prom:9090"))
    used = {
        cond.metric
        for rb in RunbookLibrary.load().all()
        for cond in [*rb.match.metrics, *(v.metric for v in rb.verify if v.metric is not None)]
    }
    assert used and used <= set(known), used - set(known)
    assert known["kafka_consumergroup_lag"] == "sum by (consumergroup, topic) (kafka_consumergroup_lag)"


def test_configured_detector_queries_replace_the_defaults_under_the_same_name() -> None:
    conn = PrometheusConnection.model_validate(
        {
            "url": "http://prom:9090",
            "detectors": [
                {
                    "name": "lag",
                    "kind": "kafka_consumer_lag",
                    "subject_labels": ["consumergroup"],
                    "condition": {
                        "query": "sum by (consumergroup) (my_lag)",
                        "threshold": 5,
                        "metric": "kafka_consumergroup_lag",
                    },
                }
            ],
            "metrics": [{"name": "spark_stage_spill_bytes", "query": "max by (app, stage) (my_spill)"}],
        }
    )
    known = runbook_metrics.catalog(conn)
    assert known["kafka_consumergroup_lag"] == "sum by (consumergroup) (my_lag)"
    assert known["spark_stage_spill_bytes"] == "max by (app, stage) (my_spill)"
    assert "spark_stage_task_duration_max" in known  # defaults stay for names not configured


def test_a_series_belongs_to_a_subject_only_through_labels_the_subject_has() -> None:
    def vector(*series: tuple[dict[str, str], str]) -> dict[str, object]:
        return {"resultType": "vector", "result": [{"metric": m, "value": [1, v]} for m, v in series]}

    subject = {"app": "etl", "stage": "3"}
    per_app = vector(({"app": "etl"}, "0.2"), ({"app": "other"}, "0.9"))
    assert runbook_metrics.subject_value(per_app, subject) == 0.2
    per_executor = vector(({"app": "etl", "executor": "1"}, "0.6"))
    assert runbook_metrics.subject_value(per_executor, subject) is None
    stages = vector(
        ({"app": "etl", "stage": "3"}, "NaN"), ({"app": "etl", "stage": "3"}, "7"), ({"app": "etl", "stage": "4"}, "9")
    )
    assert runbook_metrics.subject_value(stages, subject) == 7
    assert runbook_metrics.subject_value({"resultType": "scalar", "result": [1, "4"]}, subject) == 4
    assert runbook_metrics.parse_subject("app=etl,stage=3") == subject


def test_held_conditions_are_subqueries_in_the_direction_of_the_comparison() -> None:
    above = MetricCondition(metric="m", op=">", value=1, for_minutes=5)
    below = MetricCondition(metric="m", op="<", value=1, for_minutes=10)
    assert runbook_metrics.held("q", above) == "min_over_time((q)[5m:3s])"
    assert runbook_metrics.held("q", below) == "max_over_time((q)[10m:6s])"
    assert runbook_metrics.held("q", MetricCondition(metric="m", op=">", value=1)) == "q"


def test_relative_conditions_compare_with_the_baseline() -> None:
    halved = MetricCondition(metric="max_task", op="<", value=0.5, of="baseline")
    assert halved.describe() == "max_task < 0.5 x baseline"
    assert halved.holds({"max_task": 40}, {"max_task": 100})
    assert not halved.holds({"max_task": 60}, {"max_task": 100})
    assert not halved.holds({"max_task": 1})  # no baseline: cannot hold


async def test_oom_verification_is_pending_then_proven_then_disproven_after_its_window() -> None:
    rb = RunbookLibrary.load().get("oom")
    rules = runbook_metrics.metric_rules(rb)
    assert [r.metric.metric for r in rules if r.metric] == [
        "spark_executor_gc_time_ratio",
        "spark_executor_heap_used_ratio",
    ]
    values = {"spark_executor_gc_time_ratio": 0.5, "spark_executor_heap_used_ratio": 0.97}

    async def read(cond: MetricCondition, over_period: bool, at: float) -> float | None:
        return values.get(cond.metric)

    t0 = datetime(2025, 1, 1, tzinfo=UTC)

    async def at(minutes: int, kept: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        now = t0 + timedelta(minutes=minutes)
        return await runbook_metrics.verify_checks(
            read, rules, started=t0, detected=t0, now=now, quiet_minutes=30, kept=kept
        )

    checks, keep = await at(5, {})
    assert [c["ok"] for c in checks] == [None, None] and "clear_since" not in keep
    assert checks[0]["detail"].startswith("GC back under 10% of CPU time: spark_executor_gc_time_ratio = 0.5")

    values.update(spark_executor_gc_time_ratio=0.05, spark_executor_heap_used_ratio=0.6)
    checks, keep = await at(20, {})
    assert [c["ok"] for c in checks] == [True, True, None] and keep["clear_since"] == "2025-01-01T00:20:00Z"
    checks, _ = await at(51, keep)
    assert [c["rule"] for c in checks][-1] == "stays_clear" and checks[-1]["ok"] is True

    values["spark_executor_heap_used_ratio"] = 0.9
    checks, keep = await at(121, keep)
    assert [c["ok"] for c in checks] == [True, False] and checks[1]["detail"].endswith("not within 120 min")
    assert "clear_since" not in keep
