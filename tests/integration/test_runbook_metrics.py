"""Runbook metric conditions against the real Prometheus of `prometheus_plugin`: which runbooks a signal's
metrics match, and signal incidents verified by their runbook's metric rules (stage skew: slowest task down
by more than half, spill lower, GC stable; Kafka lag drained and not growing; Kinesis iterator age under its
threshold and falling), each driven by series the test publishes and changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.app import respond
from pipeline_sre.lifecycle import metrics, verify
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources import base as sources_base
from pipeline_sre.lifecycle.sources.signals import detectors
from pipeline_sre.settings.backends import default_metrics
from pipeline_sre.settings.config import parse_settings
from pipeline_sre.store.incidents import utcnow
from tests.integration.prometheus_plugin import PrometheusInfo, poll_until, prometheus  # noqa: F401
from tests.integration.test_prometheus import fast_detectors
from tests.integration.test_verify_signals import Recorder

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def fast_metrics() -> list[dict[str, Any]]:
    return [
        {**m.model_dump(), "query": m.query.replace("[5m]", "[20s]").replace("[10m]", "[20s]")}
        for m in default_metrics()
    ]


@pytest.fixture
async def rt(
    prometheus: PrometheusInfo,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Runtime]:
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    settings = parse_settings(
        {
            "environments": {
                "metrics": {
                    "airflow": {"url": "http://127.0.0.1:9"},
                    "prometheus": {"url": prometheus.url, "detectors": fast_detectors(), "metrics": fast_metrics()},
                }
            },
            "incidents": {"verify": {"quiet_minutes": 30, "timeout_minutes": 240}},
        },
        "test",
    )
    runtime = Runtime(settings)
    runtime.notifier = Recorder()
    yield runtime
    await runtime.aclose()


@pytest.fixture
def publish(prometheus: PrometheusInfo) -> Iterator[Callable[[str, dict[str, str], Callable[[float], float]], None]]:  # noqa: F811
    """Publish a series for this test only (it goes stale once the test ends)."""
    added: list[tuple[str, tuple[tuple[str, str], ...]]] = []

    def put(name: str, labels: dict[str, str], value: Callable[[float], float]) -> None:
        key = (name, tuple(sorted(labels.items())))
        prometheus.exporter.extra[key] = value
        added.append(key)

    yield put
    for key in added:
        prometheus.exporter.extra.pop(key, None)


async def open_incident(rt: Runtime, subject: str) -> str:
    async def firing() -> list[detectors.Signal]:
        signals, errors, _ = await detectors.signals_for(rt, "metrics")
        assert errors == []
        return [s for s in signals if s.subject == subject]

    found = await poll_until(firing, bool, f"no signal for {subject}")
    opened, _ = await asyncio.to_thread(
        sources_base.open_incident, rt, detectors.opening(found[0], {}), by="system:detect"
    )
    await asyncio.sleep(2)  # a scrape or two after detection, so the baseline is what was seen at detection
    return opened.id


def by_rule(verdict: dict[str, Any]) -> dict[str, bool | None]:
    return {c["rule"]: c["ok"] for c in verdict["checks"]}


async def checks_when(rt: Runtime, incident_id: str, want: dict[str, bool | None]) -> dict[str, Any]:
    return await poll_until(
        lambda: verify.check_recovery(rt, incident_id),
        lambda v: all(by_rule(v).get(rule) is ok for rule, ok in want.items()),
        f"checks never became {want}",
    )


async def test_detected_signals_carry_the_runbooks_their_metrics_match(rt: Runtime) -> None:
    def matched(result: dict[str, Any]) -> bool:  # `for 5m` needs a few stored points of the subquery
        return sum(bool(s.get("runbook_matches")) for s in result["signals"]) == 4

    result = await poll_until(lambda: detectors.detect_signals(rt, "metrics"), matched, "runbook matches")
    assert "errors" not in result, result.get("errors")
    by_kind = {s["kind"]: s for s in result["signals"]}
    skew = {m["runbook_id"]: m for m in by_kind["spark_stage_skew"]["runbook_matches"]}
    assert set(skew) == {"spark_stage_skew"}, skew
    ratio = skew["spark_stage_skew"]["conditions"][0]
    assert ratio == {"condition": "spark_stage_task_duration_p95_over_p50 > 5 for 5m", "holds": True, "value": 12}
    gc = {m["runbook_id"] for m in by_kind["spark_gc_pressure"]["runbook_matches"]}
    assert gc == {"oom", "databricks_job_oom"}  # GC over 40% of CPU, and executor 1 heap at 97%
    lag = {m["runbook_id"] for m in by_kind["kafka_consumer_lag"]["runbook_matches"]}
    assert lag == {"kafka_consumer_lag"}
    kinesis = by_kind["kinesis_iterator_age"]
    assert kinesis["subject"] == "stream_name=clickstream" and kinesis["runbook_id"] == "kinesis_iterator_age"
    assert [m["runbook_id"] for m in kinesis["runbook_matches"]] == ["kinesis_iterator_age"]
    assert by_kind["data_freshness"]["runbook_matches"] == []


async def test_stage_skew_recovers_when_max_task_time_halves_spill_drops_and_gc_holds(
    rt: Runtime, publish: Callable[[str, dict[str, str], Callable[[float], float]], None]
) -> None:
    stage = {"app": "skew_fix", "stage": "5"}
    now = {"max": 400.0, "spill": 4e9}
    publish("spark_executor_gc_time_seconds", {"app": "skew_fix", "executor": "1"}, lambda t: 10 + 0.1 * t)
    publish("spark_executor_cpu_time_seconds", {"app": "skew_fix", "executor": "1"}, lambda t: 100 + t)
    await poll_until(  # the GC ratio is a rate: it has a value at detection once two scrapes are stored
        lambda: metrics.get_metric(rt, 'sum(rate(spark_executor_gc_time_seconds_total{app="skew_fix"}[20s]))', "10s"),
        lambda r: r["series_total"] == 1 and r["series"][0]["last"] != "NaN",
        "GC time of skew_fix",
    )
    publish("spark_stage_task_duration_p95", stage, lambda t: 120.0)
    publish("spark_stage_task_duration_p50", stage, lambda t: 10.0)
    publish("spark_stage_shuffle_read_top_tasks_share", stage, lambda t: 0.8)
    publish("spark_stage_task_duration_max", stage, lambda t: now["max"])
    publish("spark_stage_spill_bytes", stage, lambda t: now["spill"])
    incident_id = await open_incident(rt, "app=skew_fix,stage=5")

    before = await checks_when(rt, incident_id, {"metric:spark_app_gc_time_ratio": True})
    assert before["verdict"] == "pending" and before["baselines"]["spark_stage_task_duration_max"] == 400
    assert by_rule(before)["metric:spark_stage_task_duration_max"] is None
    assert by_rule(before)["metric:spark_stage_spill_bytes"] is None
    slowest = next(c for c in before["checks"] if c["rule"] == "metric:spark_stage_task_duration_max")
    assert slowest["detail"].startswith("Max task time of the stage down by more than 50% from detection: ")
    assert "< 0.5 x baseline (target 200): does not hold" in slowest["detail"]

    now.update(max=250.0, spill=1e9)  # better, but not by half: still unproven
    await checks_when(rt, incident_id, {"metric:spark_stage_spill_bytes": True})
    assert by_rule(await verify.check_recovery(rt, incident_id))["metric:spark_stage_task_duration_max"] is None

    now["max"] = 150.0
    fixed = await checks_when(rt, incident_id, {"metric:spark_stage_task_duration_max": True})
    assert by_rule(fixed) == {
        "metric:spark_stage_task_duration_max": True,
        "metric:spark_stage_spill_bytes": True,
        "metric:spark_app_gc_time_ratio": True,
        "stays_clear": None,
    }
    rt.incidents.clock = lambda: utcnow() + timedelta(minutes=31)
    report = await respond.advance_open_incidents(rt)
    assert report.resolved == [incident_id] and report.errors == [], report


async def test_kafka_lag_recovers_when_drained_and_not_growing_else_escalates(
    rt: Runtime, publish: Callable[[str, dict[str, str], Callable[[float], float]], None]
) -> None:
    lag = {"drained": False}
    for partition in ("0", "1"):
        labels = {"consumergroup": "verify_grp", "topic": "payments", "partition": partition}
        publish("kafka_consumergroup_lag", labels, lambda t: 300.0 if lag["drained"] else 200_000 + 4000 * t)
    stuck = {"consumergroup": "stuck_grp", "topic": "payments", "partition": "0"}
    publish("kafka_consumergroup_lag", stuck, lambda t: 300_000 + 3000 * t)
    drained_id = await open_incident(rt, "consumergroup=verify_grp,topic=payments")
    stuck_id = await open_incident(rt, "consumergroup=stuck_grp,topic=payments")

    pending = await verify.check_recovery(rt, drained_id)
    assert by_rule(pending) == {"metric:kafka_consumergroup_lag": None, "metric:kafka_consumergroup_lag_growth": None}
    lag["drained"] = True
    await checks_when(
        rt, drained_id, {"metric:kafka_consumergroup_lag": True, "metric:kafka_consumergroup_lag_growth": True}
    )

    rt.incidents.clock = lambda: utcnow() + timedelta(minutes=121)
    late = await verify.check_recovery(rt, stuck_id)
    assert late["verdict"] == "not_recovered"
    growth = next(c for c in late["checks"] if c["rule"] == "metric:kafka_consumergroup_lag_growth")
    assert growth["ok"] is False and growth["detail"].endswith("does not hold; not within 120 min")
    assert (await verify.check_recovery(rt, drained_id))["verdict"] == "recovered"


async def test_kinesis_iterator_age_recovers_when_back_under_threshold_and_falling(
    rt: Runtime, publish: Callable[[str, dict[str, str], Callable[[float], float]], None]
) -> None:
    age = {"behind": True}
    name = "aws_kinesis_get_records_iterator_age_milliseconds_maximum"
    publish(name, {"stream_name": "verify_stream"}, lambda t: 200_000 + 1000 * t if age["behind"] else 5000.0)
    incident_id = await open_incident(rt, "stream_name=verify_stream")
    incident = rt.incidents.get(incident_id)
    assert incident.source == "signal:kinesis_iterator_age" and incident.category == "resource_exhausted"

    behind = await verify.check_recovery(rt, incident_id)
    assert by_rule(behind) == {"metric:kinesis_iterator_age_ms": None, "metric:kinesis_iterator_age_growth": None}
    age["behind"] = False
    caught_up = await checks_when(
        rt, incident_id, {"metric:kinesis_iterator_age_ms": True, "metric:kinesis_iterator_age_growth": True}
    )
    assert caught_up["verdict"] == "pending" and by_rule(caught_up)["stays_clear"] is None
