"""suggest_conf's specifics, computed from the plan context: stage skew (broadcast threshold, shuffle partitions at
2-3x cores, AQE skew join, broadcast / repartition / salt), Spark OOM (memory fraction, smaller partitions, AQE,
+1 worker; the Databricks driver OOM with its repair runbook), Kafka lag (poll interval, fetch sizes, consumer
concurrency, hot partitions) and Kinesis iterator age (parallelization factor, batch size, shards, EFO)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.signals import advice, conf_advice
from pipeline_sre.settings.config import parse_settings


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    yield Runtime(parse_settings({"environments": {"prod": {"airflow": {"url": "http://127.0.0.1:9"}}}}, "test"))


def deltas(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["key"]: d for d in result["conf_deltas"]}


def test_stage_skew_broadcasts_a_small_side_that_fits_and_sizes_partitions_from_cores(rt: Runtime) -> None:
    context = (
        "spark.executor.instances=8 spark.executor.cores=8 spark.sql.shuffle.partitions=200 "
        "spark.sql.autoBroadcastJoinThreshold=10MB small_side=60MB skew_ratio=12 spark.sql.adaptive.enabled=true"
    )
    result = advice.suggest_conf(rt, "stage 4 has a few straggler tasks", context)
    assert result["kind"] == "spark_stage_skew" and result["runbook_id"] == "spark_stage_skew"
    got = deltas(result)
    broadcast = got["spark.sql.autoBroadcastJoinThreshold"]
    assert broadcast["proposed"] == "100MB" and broadcast["current"] == "10MB"
    assert "60MB, which fits under 100MB" in broadcast["reason"]
    partitions = got["spark.sql.shuffle.partitions"]
    assert partitions["proposed"] == "192" and partitions["current"] == "200"
    assert "8 executors x 8 cores" in partitions["reason"] and "128-192" in partitions["reason"]
    assert got["spark.sql.adaptive.skewJoin.enabled"]["proposed"] == "true"
    assert "spark.sql.adaptive.enabled" not in got  # already as proposed
    assert all(d["reason"] for d in result["conf_deltas"])
    broadcast_step, repartition, salt = result["steps"]
    assert broadcast_step.startswith("Broadcast the small side") and "(60MB fits)" in broadcast_step
    assert repartition.startswith("Repartition") and "floor(rand() * 12)" in salt


def test_stage_skew_with_a_large_small_side_salts_instead_of_broadcasting(rt: Runtime) -> None:
    result = advice.suggest_conf(rt, "spark_stage_skew", "cores=32 small_side=2g spark.sql.shuffle.partitions=80")
    got = deltas(result)
    assert "spark.sql.autoBroadcastJoinThreshold" not in got
    assert result["steps"][0].startswith("Do not broadcast: the smaller side is 2048MB")
    assert "spark.sql.shuffle.partitions" not in got  # 80 is within 2-3x 32 cores
    medium = deltas(advice.suggest_conf(rt, "spark_stage_skew", "small_side=300MB"))
    assert medium["spark.sql.autoBroadcastJoinThreshold"]["proposed"] == "330MB"
    assert "check their memory" in medium["spark.sql.autoBroadcastJoinThreshold"]["reason"]
    unknown = deltas(advice.suggest_conf(rt, "spark_stage_skew"))
    assert unknown["spark.sql.autoBroadcastJoinThreshold"]["proposed"] == "100MB"
    assert unknown["spark.sql.shuffle.partitions"]["proposed"] == "2-3x the cluster's total cores"


def test_spark_oom_lowers_memory_fraction_shrinks_partitions_enables_aqe_and_adds_a_worker(rt: Runtime) -> None:
    context = "spark.memory.fraction=0.8 spark.sql.shuffle.partitions=200 num_workers=4"
    result = advice.suggest_conf(rt, "executor OutOfMemoryError in the join", context)
    assert result["kind"] == "spark_oom" and result["runbook_id"] == "oom"
    got = deltas(result)
    assert got["spark.memory.fraction"] == {
        "key": "spark.memory.fraction",
        "proposed": "0.6",
        "reason": got["spark.memory.fraction"]["reason"],
        "current": "0.8",
    }
    assert got["spark.sql.shuffle.partitions"]["proposed"] == "400"
    assert got["spark.sql.files.maxPartitionBytes"]["proposed"] == "64MB"
    assert got["spark.sql.adaptive.enabled"]["proposed"] == "true"
    assert got["num_workers"]["proposed"] == "5" and got["num_workers"]["current"] == "4"
    assert "spark.driver.maxResultSize" not in got


def test_databricks_driver_oom_gets_the_repair_runbook_and_driver_settings(rt: Runtime) -> None:
    result = advice.suggest_conf(rt, "The spark driver has stopped unexpectedly", "spark.driver.memory=8g")
    assert result["kind"] == "spark_oom" and result["runbook_id"] == "databricks_job_oom"
    assert [s["action"] for s in result["plan"]] == ["observe", "repair_run", "escalate"]
    got = deltas(result)
    assert got["spark.driver.memory"]["proposed"] == "12g" and got["spark.driver.maxResultSize"]["proposed"] == "2g"
    assert got["spark.memory.fraction"]["proposed"] == "0.6" and got["num_workers"]["proposed"] == "+1"
    by_id = advice.suggest_conf(rt, "databricks_job_oom")
    assert by_id["runbook_id"] == "databricks_job_oom" and "spark.memory.fraction" in deltas(by_id)


def test_kafka_lag_from_poll_time_fetch_sizes_and_consumer_concurrency(rt: Runtime) -> None:
    context = "max.poll.interval.ms=300000 max.poll.records=500 poll_ms=240000 partitions=24 consumers=6"
    result = advice.suggest_conf(rt, "consumer lag rising on billing", context)
    assert result["kind"] == "kafka_consumer_lag" and result["runbook_id"] == "kafka_consumer_lag"
    got = deltas(result)
    assert got["max.poll.interval.ms"]["proposed"] == "480000" and "240000 ms" in got["max.poll.interval.ms"]["reason"]
    assert got["max.poll.records"]["proposed"] == "250"
    assert got["fetch.max.bytes"]["proposed"] == "104857600"
    assert got["max.partition.fetch.bytes"]["proposed"] == "4194304"
    assert got["consumers"]["proposed"] == "12" and "24 partitions" in got["consumers"]["reason"]
    assert any(c.startswith("Hot partition:") for c in result["commands"])
    saturated = deltas(advice.suggest_conf(rt, "kafka lag", "partitions=12 consumers=12 max.poll.interval.ms=900000"))
    assert saturated["partitions"]["proposed"] == "24" and "consumers" not in saturated
    assert "max.poll.interval.ms" not in saturated  # already above what it would propose without a poll time
    unmeasured = deltas(advice.suggest_conf(rt, "kafka lag"))
    assert (
        unmeasured["max.poll.interval.ms"]["proposed"] == "600000"
        and "poll_ms=N" in unmeasured["max.poll.interval.ms"]["reason"]
    )


def test_kinesis_iterator_age_scales_the_consumer_before_the_stream(rt: Runtime) -> None:
    context = (
        "shards=4 consumers=3 ParallelizationFactor=1 BatchSize=100 records_per_s=2000 record_ms=5 incoming_mb_s=6"
    )
    result = advice.suggest_conf(rt, "kinesis iterator age growing on clickstream", context)
    assert result["kind"] == "kinesis_iterator_age" and result["runbook_id"] == "kinesis_iterator_age"
    got = deltas(result)
    assert got["ParallelizationFactor"]["proposed"] == "4"  # 500 rec/s per shard at 5 ms = 2.5 batches x1.5
    assert got["BatchSize"]["proposed"] == "500"
    assert got["shard_count"]["proposed"] == "8" and "6 MB/s read by 3 classic consumer" in got["shard_count"]["reason"]
    assert got["enhanced_fan_out"]["proposed"] == "enabled"
    assert any("GetRecords.IteratorAgeMilliseconds" in c for c in result["commands"])
    single = deltas(advice.suggest_conf(rt, "kinesis_iterator_age", "consumers=1 shards=2 ParallelizationFactor=10"))
    assert "enhanced_fan_out" not in single and "ParallelizationFactor" not in single
    assert single["shard_count"]["proposed"] == "3"


def test_context_parsing_reads_sizes_and_cores() -> None:
    ctx = conf_advice.parse_context("spark.executor.cores: 4, workers=5; small_side=1.5g other")
    assert ctx == {"spark.executor.cores": "4", "workers": "5", "small_side": "1.5g"}
    assert conf_advice.cores_of(ctx) == (20.0, "5 executors x 4 cores")
    assert conf_advice.size_bytes("100MB") == 100 * 1024**2 and conf_advice.size_bytes("x") is None
