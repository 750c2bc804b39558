"""Kinesis iterator age through CloudWatch metrics, on moto: the connector (PutMetricData, then GetMetricData and
ListMetrics read back), detection of the stream that is behind, runbook matches, and verification of the
incident (age back under the threshold and falling) as new datapoints arrive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pipeline_sre.app import respond
from pipeline_sre.connectors.cloudwatch_metrics import ITERATOR_AGE, NAMESPACE, CloudWatchMetrics
from pipeline_sre.errors import InvalidInput, PipelineSreError
from pipeline_sre.lifecycle import verify
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.base import open_incident
from pipeline_sre.lifecycle.sources.signals import detectors, kinesis
from pipeline_sre.settings.backends import KinesisConnection
from pipeline_sre.settings.config import parse_settings

pytestmark = pytest.mark.anyio
REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


def put_ages(client: Any, stream: str, points: list[tuple[float, float]]) -> None:
    """(seconds ago, iterator age ms) datapoints for one stream."""
    now = time.time()
    client.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": ITERATOR_AGE,
                "Dimensions": [{"Name": "StreamName", "Value": stream}],
                "Timestamp": datetime.fromtimestamp(now - ago, UTC),
                "Value": value,
                "Unit": "Milliseconds",
            }
            for ago, value in points
        ],
    )


def minutes_ago(*pairs: tuple[int, float]) -> list[tuple[float, float]]:
    return [(m * 60.0, v) for m, v in pairs]


@pytest.fixture
def rt(aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    settings = parse_settings(
        {
            "environments": {
                "streams": {
                    "airflow": {"url": "http://127.0.0.1:9"},
                    "kinesis": {"region": REGION, "threshold_ms": 60000, "window_minutes": 30},
                }
            },
            "incidents": {"verify": {"quiet_minutes": 30, "timeout_minutes": 240}},
        },
        "test",
    )
    yield Runtime(settings)


def test_connector_reads_back_the_maximum_per_period_and_discovers_streams(aws: Any) -> None:
    put_ages(aws, "clickstream", minutes_ago((6, 90_000), (4, 120_000), (2, 150_000)))
    put_ages(aws, "orders_cdc", minutes_ago((4, 300), (2, 500)))
    cw = CloudWatchMetrics("streams", KinesisConnection(region=REGION), client=aws)
    assert cw.streams() == ["clickstream", "orders_cdc"]
    from_settings = CloudWatchMetrics("streams", KinesisConnection(region=REGION, max_attempts=2))
    assert from_settings.streams() == ["clickstream", "orders_cdc"] and from_settings.calls == 1
    ages = cw.iterator_age(["clickstream", "orders_cdc", "idle"], time.time() - 900, time.time())
    assert [v for _, v in ages["clickstream"]] == [90_000, 120_000, 150_000]
    assert [v for _, v in ages["orders_cdc"]] == [300, 500] and ages["idle"] == []
    assert all(a[0] < b[0] for a, b in zip(ages["clickstream"], ages["clickstream"][1:], strict=False))
    assert CloudWatchMetrics("x", KinesisConnection(streams=["only"]), client=aws).streams() == ["only"]


def test_aws_errors_are_typed_and_name_the_environment(aws: Any) -> None:
    cw = CloudWatchMetrics("streams", KinesisConnection(region=REGION), client=aws)
    with pytest.raises(PipelineSreError) as caught:
        cw.iterator_age(["s"], time.time(), time.time() - 60)  # end before start: CloudWatch rejects it
    assert "'streams'" in caught.value.message and "CloudWatch GetMetricData" in caught.value.message


async def test_the_stream_behind_is_detected_matched_and_verified_as_it_catches_up(rt: Runtime, aws: Any) -> None:
    put_ages(aws, "clickstream", minutes_ago((12, 100_000), (10, 140_000), (8, 180_000), (6, 220_000)))
    put_ages(aws, "orders_cdc", minutes_ago((8, 400), (6, 500)))
    result = await detectors.detect_signals(rt)
    assert "errors" not in result, result.get("errors")
    assert result["evaluated"] == {"streams": [kinesis.CLOUDWATCH_DETECTOR]}
    [signal] = result["signals"]
    assert signal["kind"] == "kinesis_iterator_age" and signal["subject"] == "stream_name=clickstream"
    assert signal["detector"] == kinesis.CLOUDWATCH_DETECTOR and signal["runbook_id"] == "kinesis_iterator_age"
    assert signal["value"] == 220_000 and "growth" in signal["evidence"]
    assert [m["runbook_id"] for m in signal["runbook_matches"]] == ["kinesis_iterator_age"]

    found, errors, _ = await detectors.signals_for(rt, "streams")
    assert errors == []
    [signal_found] = found
    opened, _ = await asyncio.to_thread(open_incident, rt, detectors.opening(signal_found, {}), by="system:detect")
    incident_id = opened.id
    assert rt.incidents.get(incident_id).source == f"signal:{kinesis.CLOUDWATCH_DETECTOR}"

    behind = await verify.check_recovery(rt, incident_id)
    assert behind["verdict"] == "pending"
    rules = {c["rule"]: c for c in behind["checks"]}
    assert rules["metric:kinesis_iterator_age_ms"]["ok"] is None
    assert rules["metric:kinesis_iterator_age_growth"]["ok"] is None  # still rising

    put_ages(aws, "clickstream", minutes_ago((5, 90_000), (3, 30_000), (1, 5000)))  # the consumer catches up
    caught_up = await verify.check_recovery(rt, incident_id)
    rules = {c["rule"]: c for c in caught_up["checks"]}
    assert rules["metric:kinesis_iterator_age_ms"]["ok"] is True
    assert (
        "Iterator age back under 60 s: kinesis_iterator_age_ms = 5000"
        in rules["metric:kinesis_iterator_age_ms"]["detail"]
    )
    assert rules["metric:kinesis_iterator_age_growth"]["ok"] is True
    assert caught_up["verdict"] == "pending" and rules["stays_clear"]["ok"] is None


async def test_an_environment_without_kinesis_or_prometheus_is_refused(rt: Runtime) -> None:
    rt2 = Runtime(parse_settings({"environments": {"plain": {"airflow": {"url": "http://127.0.0.1:9"}}}}, "test"))
    with pytest.raises(InvalidInput, match="no prometheus section"):
        await detectors.detect_signals(rt2, "plain")
    with pytest.raises(InvalidInput, match="no kinesis section"):
        kinesis.connection(rt2, "plain")


async def test_a_shadow_cycle_opens_no_signal_incident(rt: Runtime, aws: Any) -> None:
    """Shadow mode opens no incident, signals included, so the live cycle opens and announces the condition."""
    put_ages(aws, "clickstream", minutes_ago((8, 180_000), (6, 220_000)))
    shadow = await respond.detect_and_handle(rt, 60, shadow=True)
    assert shadow.detected == 1 and shadow.new_incidents == [] and rt.incidents.list(None, None, None) == []
    live = await respond.detect_and_handle(rt, 60)
    [incident] = rt.incidents.list(None, None, None)
    assert live.new_incidents == [incident.id] and incident.source == f"signal:{kinesis.CLOUDWATCH_DETECTOR}"
