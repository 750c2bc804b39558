"""get_metric, detect_signals and suggest_conf against a real Prometheus scraping the test exporter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pipeline_sre.connectors.prometheus import PrometheusClient
from pipeline_sre.errors import BackendUnavailable, InvalidInput
from pipeline_sre.lifecycle import metrics
from pipeline_sre.lifecycle.compact import size
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.signals import advice
from pipeline_sre.lifecycle.sources.signals import detectors as signal_detectors
from pipeline_sre.settings.backends import DetectorConfig, default_detectors
from pipeline_sre.settings.config import parse_settings
from tests.integration.prometheus_plugin import SERIES, PrometheusInfo, prometheus  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def fast_detectors() -> list[dict[str, Any]]:
    """The default detectors with rate/deriv windows short enough for a test that runs for seconds."""
    out = []
    for det in default_detectors():
        data = det.model_dump()
        for cond in [data["condition"], *data["also"]]:
            cond["query"] = cond["query"].replace("[5m]", "[20s]").replace("[10m]", "[20s]")
        out.append(data)
    return out


def settings_for(url: str, detectors: list[dict[str, Any]] | None = None) -> Any:
    prom: dict[str, Any] = {"url": url, "detectors": detectors if detectors is not None else fast_detectors()}
    return parse_settings(
        {
            "environments": {
                "metrics": {"airflow": {"url": "http://127.0.0.1:9"}, "prometheus": prom},
                "plain": {"airflow": {"url": "http://127.0.0.1:9"}},
            }
        },
        "test",
    )


@pytest.fixture
async def rt(prometheus: PrometheusInfo) -> AsyncIterator[Runtime]:  # noqa: F811
    runtime = Runtime(settings_for(prometheus.url))
    yield runtime
    await runtime.aclose()


async def test_summaries_match_the_known_series(rt: Runtime) -> None:
    result = await metrics.get_metric(rt, "psre_series", window="30s", step="2s", environment="metrics")
    assert result["env"] == "metrics" and result["metric"] == "psre_series"
    assert result["series_total"] == SERIES
    top = result["series"][0]
    assert top["labels"] == "id=999"
    for key in ("last", "min", "max", "mean", "p50", "p95"):
        assert top[key] == 999, key
    assert top["trend"] == "flat" and top["change"] == 0
    assert result["overall"]["min"] == 0 and result["overall"]["max"] == 999
    assert result["overall"]["flat"] == SERIES
    assert [s["labels"] for s in result["series"][:3]] == ["id=999", "id=998", "id=997"]


async def test_trend_follows_the_ramps(rt: Runtime) -> None:
    result = await metrics.get_metric(rt, "psre_ramp", window="20s", step="1s", environment="metrics")
    by_dir = {s["labels"]: s for s in result["series"]}
    up, down = by_dir["dir=up"], by_dir["dir=down"]
    assert up["trend"] == "up" and up["change"] > 0
    assert down["trend"] == "down" and down["change"] < 0
    assert up["min"] < up["p50"] < up["p95"] <= up["max"] == up["last"]
    assert down["last"] == down["min"]


async def test_thousand_series_are_capped_in_count_and_bytes(rt: Runtime) -> None:
    result = await metrics.get_metric(rt, 'psre_series or psre_series{id="x"}', window="1m", environment="metrics")
    assert result["series_total"] == SERIES
    assert len(result["series"]) <= 20
    assert result["series_omitted"] + len(result["series"]) + result.get("truncated", {}).get("series", 0) == SERIES
    assert size(result) <= 4000


async def test_invalid_promql_returns_the_servers_message(rt: Runtime) -> None:
    with pytest.raises(InvalidInput) as caught:
        await metrics.get_metric(rt, "sum(rate(psre_series[5m])", environment="metrics")
    message = caught.value.message
    assert "Prometheus in environment 'metrics'" in message
    assert "parse error" in message  # Prometheus' own words
    with pytest.raises(InvalidInput, match="window must be a duration"):
        await metrics.get_metric(rt, "up", window="five minutes", environment="metrics")
    with pytest.raises(InvalidInput, match="maximum is 1100"):
        await metrics.get_metric(rt, "up", window="1d", step="1s", environment="metrics")
    with pytest.raises(InvalidInput, match="no prometheus section"):
        await metrics.get_metric(rt, "up", environment="plain")


async def test_each_detector_fires_on_the_bad_subject_only(rt: Runtime) -> None:
    result = await signal_detectors.detect_signals(rt)
    assert "errors" not in result, result.get("errors")
    assert result["without_prometheus"] == ["plain"]
    fired = {(s["kind"], s["subject"]) for s in result["signals"]}
    assert fired == {
        ("spark_stage_skew", "app=etl_orders,stage=3"),
        ("spark_gc_pressure", "app=etl_orders,executor=1"),
        ("kafka_consumer_lag", "consumergroup=billing,topic=invoices"),
        ("data_freshness", "dataset=ledger"),
        ("kinesis_iterator_age", "stream_name=clickstream"),
    }
    by_kind = {s["kind"]: s for s in result["signals"]}
    skew = by_kind["spark_stage_skew"]
    assert skew["value"] == 12 and skew["threshold"] == 5 and skew["runbook_id"] == "spark_stage_skew"
    assert "shuffle read share" in skew["evidence"]
    assert 0.55 < by_kind["spark_gc_pressure"]["value"] < 0.65
    lag = by_kind["kafka_consumer_lag"]
    assert lag["value"] > 200_000 and "lag growth" in lag["evidence"]
    assert by_kind["data_freshness"]["value"] > 3 * 3600


async def test_a_broken_detector_does_not_hide_the_others(prometheus: PrometheusInfo) -> None:  # noqa: F811
    detectors = fast_detectors()
    broken = DetectorConfig.model_validate(
        {**detectors[0], "name": "broken", "condition": {**detectors[0]["condition"], "query": "max by (app"}}
    )
    rt = Runtime(settings_for(prometheus.url, [broken.model_dump(), detectors[3]]))
    try:
        result = await signal_detectors.detect_signals(rt, "metrics")
    finally:
        await rt.aclose()
    assert [s["kind"] for s in result["signals"]] == ["data_freshness"]
    assert result["errors"][0]["detector"] == "broken" and result["errors"][0]["error"] == "invalid_input"


async def test_unreachable_prometheus_is_a_clear_error() -> None:
    rt = Runtime(settings_for("http://127.0.0.1:9"))
    try:
        with pytest.raises(BackendUnavailable, match=r"Prometheus in environment 'metrics' .* is unavailable"):
            await metrics.get_metric(rt, "up", environment="metrics")
    finally:
        await rt.aclose()


async def test_bearer_token_is_sent_and_never_shown(prometheus: PrometheusInfo, monkeypatch: Any) -> None:  # noqa: F811
    monkeypatch.setenv("PSRE_T_PROM_TOKEN", "s3cr3t-prom-token")
    conn = settings_for(prometheus.url).environments["metrics"].prometheus
    assert conn is not None
    conn = conn.model_copy(update={"token_env": "PSRE_T_PROM_TOKEN"})
    async with PrometheusClient("metrics", conn) as client:
        assert client._http.headers["Authorization"] == "Bearer s3cr3t-prom-token"
        with pytest.raises(InvalidInput) as caught:
            await client.query("sum(")
    assert "s3cr3t" not in caught.value.message


async def test_suggest_conf_uses_the_signal_and_plan_context(rt: Runtime) -> None:
    result = advice.suggest_conf(
        rt, "spark_stage_skew", "spark.sql.adaptive.enabled=true spark.sql.adaptive.skewJoin.enabled=false"
    )
    assert result["runbook_id"] == "spark_stage_skew" and result["plan"][0]["reversible"] is True
    keys = {d["key"]: d for d in result["conf_deltas"]}
    assert "spark.sql.adaptive.enabled" not in keys  # already as proposed
    assert keys["spark.sql.adaptive.skewJoin.enabled"] == {
        "key": "spark.sql.adaptive.skewJoin.enabled",
        "proposed": "true",
        "reason": keys["spark.sql.adaptive.skewJoin.enabled"]["reason"],
        "current": "false",
    }
    gc = advice.suggest_conf(rt, "executors spend 60% of their time in GC", "spark.executor.memory=4g")
    assert gc["kind"] == "spark_gc_pressure"
    memory = next(d for d in gc["conf_deltas"] if d["key"] == "spark.executor.memory")
    assert memory["current"] == "4g" and memory["proposed"] == "6g"
    lag = advice.suggest_conf(rt, "consumer lag rising on billing")
    assert lag["runbook_id"] == "kafka_consumer_lag" and any("kafka-consumer-groups" in c for c in lag["commands"])
    with pytest.raises(InvalidInput, match="no runbook matches"):
        advice.suggest_conf(rt, "the dashboard is purple")
