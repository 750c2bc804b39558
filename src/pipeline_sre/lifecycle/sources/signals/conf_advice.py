"""Configuration deltas computed from a job's plan context: stage skew, Spark OOM, Kafka lag, Kinesis age.

`plan_context` is free text with `key=value` (or `key: value`) pairs: Spark and Kafka settings under their
own names (`spark.sql.shuffle.partitions=200`, `max.poll.interval.ms=300000`) and facts about the job:
`cores` (or `executors` x `spark.executor.cores`), `small_side` (size of the smaller join side), `skew_ratio`
(max / median task time), `partitions` and `consumers` (topic, group), `poll_ms` (time to process one
poll), `workers`, and for Kinesis `shards`, `consumers`, `incoming_mb_s`, `records_per_s`, `record_ms`,
`ParallelizationFactor` and `BatchSize`. Each delta says why, and from which of these it was computed;
without them the delta says what to measure first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PAIR = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)\s*[=:]\s*([^\s,;]+)")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$", re.IGNORECASE)
_UNIT = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
MB = 1024**2
BROADCAST_TARGET = 100 * MB  # a small side up to this size is broadcast without a second thought
BROADCAST_MAX = 512 * MB  # beyond this, broadcasting costs the driver and every executor too much memory
DEFAULT_FETCH_MAX_BYTES = 52_428_800
DEFAULT_PARTITION_FETCH_BYTES = 1_048_576
DEFAULT_POLL_INTERVAL_MS = 300_000


def parse_context(text: str) -> dict[str, str]:
    """Every key=value pair of the plan context; keys keep their case (Spark's are camelCase)."""
    return {k: v for k, v in _PAIR.findall(text)}


def size_bytes(value: str | None) -> float | None:
    """`100MB`, `1g`, `64m`, `10485760` -> bytes; None when not a size."""
    m = _SIZE.match((value or "").strip())
    return float(m.group(1)) * _UNIT[m.group(2).lower()] if m else None


def number(ctx: Mapping[str, str], *keys: str) -> float | None:
    for key in keys:
        raw = ctx.get(key)
        if raw is None:
            continue
        try:
            return float(raw.rstrip("x"))
        except ValueError:
            continue
    return None


def mb(value: float) -> str:
    return f"{math.ceil(value / MB)}MB"


def cores_of(ctx: Mapping[str, str]) -> tuple[float | None, str]:
    """Total cores of the cluster, and how that was read from the context."""
    total = number(ctx, "cores", "total_cores", "cluster_cores")
    if total:
        return total, f"{total:g} cores"
    executors = number(ctx, "executors", "spark.executor.instances", "workers", "num_workers")
    per = number(ctx, "spark.executor.cores", "cores_per_executor", "cores_per_worker")
    if executors and per:
        return executors * per, f"{executors:g} executors x {per:g} cores"
    return None, ""


@dataclass(frozen=True, slots=True)
class Delta:
    key: str
    proposed: str
    reason: str

    def entry(self, ctx: Mapping[str, str]) -> dict[str, Any] | None:
        """The delta as suggest_conf shows it; None when the context already has it as proposed."""
        now = ctx.get(self.key)
        if now is not None and now.lower() == self.proposed.lower():
            return None
        out: dict[str, Any] = {"key": self.key, "proposed": self.proposed, "reason": self.reason}
        if now is not None:
            out["current"] = now
        return out


@dataclass(frozen=True, slots=True)
class Advice:
    deltas: list[Delta]
    steps: list[str]
    commands: list[str]


def _aqe() -> list[Delta]:
    return [
        Delta("spark.sql.adaptive.enabled", "true", "AQE must be on for skew-join handling."),
        Delta(
            "spark.sql.adaptive.skewJoin.enabled",
            "true",
            "Splits oversized shuffle partitions of a sort-merge join into smaller tasks.",
        ),
    ]


def _shuffle_partitions(ctx: Mapping[str, str], why: str) -> Delta:
    cores, source = cores_of(ctx)
    current = number(ctx, "spark.sql.shuffle.partitions")
    if cores:
        low, high = int(2 * cores), int(3 * cores)
        if current is not None and low <= current <= high:
            return Delta("spark.sql.shuffle.partitions", ctx["spark.sql.shuffle.partitions"], "")
        return Delta(
            "spark.sql.shuffle.partitions",
            str(high),
            f"3 x the cluster's cores ({source}; 2-3x, i.e. {low}-{high}): {why}",
        )
    if current is not None:
        return Delta("spark.sql.shuffle.partitions", str(int(current * 2)), f"2 x the current {current:g}: {why}")
    return Delta(
        "spark.sql.shuffle.partitions", "2-3x the cluster's total cores", f"{why} (give cores=N to compute it)"
    )


def stage_skew(ctx: Mapping[str, str]) -> Advice:
    deltas = [
        *_aqe(),
        Delta(
            "spark.sql.adaptive.skewJoin.skewedPartitionFactor",
            "3",
            "A partition larger than 3x the median counts as skewed (default 5), catching milder hot keys.",
        ),
        Delta(
            "spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes",
            "128MB",
            "Lets partitions from 128 MB (default 256 MB) be split.",
        ),
        Delta("spark.sql.adaptive.advisoryPartitionSizeInBytes", "64MB", "Target size of the split partitions."),
    ]
    small = size_bytes(ctx.get("small_side") or ctx.get("small_table"))
    current = size_bytes(ctx.get("spark.sql.autoBroadcastJoinThreshold"))
    broadcast_step = "Broadcast the small side: join(broadcast(small_df), key) or the /*+ BROADCAST(t) */ hint"
    if small is None:
        deltas.append(
            Delta(
                "spark.sql.autoBroadcastJoinThreshold",
                "100MB",
                "If the smaller join side is under 100 MB (check its size in the Spark UI's SQL tab; give "
                "small_side=N), broadcasting it removes the shuffle, so the hot key no longer lands in one task "
                "(default 10 MB).",
            )
        )
    elif small <= BROADCAST_MAX:
        proposed = BROADCAST_TARGET if small <= BROADCAST_TARGET * 0.9 else math.ceil(small * 1.1 / (10 * MB)) * 10 * MB
        if current is None or current < proposed:
            caution = (
                "" if proposed <= BROADCAST_TARGET else "; the driver and every executor hold it: check their memory"
            )
            deltas.append(
                Delta(
                    "spark.sql.autoBroadcastJoinThreshold",
                    mb(proposed),
                    f"The smaller join side is {mb(small)}, which fits under {mb(proposed)}: Spark broadcasts it "
                    f"instead of shuffling both sides, so the hot key no longer lands in one task{caution}.",
                )
            )
        broadcast_step += f" ({mb(small)} fits)"
    else:
        broadcast_step = f"Do not broadcast: the smaller side is {mb(small)}, over {mb(BROADCAST_MAX)}; salt instead"
    deltas.append(_shuffle_partitions(ctx, "smaller partitions, and every core busy while AQE splits the skewed ones"))
    ratio = number(ctx, "skew_ratio", "max_over_median")
    buckets = min(64, max(4, math.ceil(ratio))) if ratio else 8
    basis = f" (about the max/median task time ratio of {ratio:g})" if ratio else " (start with 8; raise to max/median)"
    steps = [
        broadcast_step,
        "Repartition: for an aggregation, repartition on a higher-cardinality column (or the key plus a date) "
        "before the wide step, so one key's rows are spread over many tasks",
        f"Salt the hot key: add salt = floor(rand() * {buckets}) to the large side, explode the small side over "
        f"salt 0..{buckets - 1}, join on (key, salt), then aggregate without the salt{basis}",
    ]
    commands = [
        "Spark UI > Stages > the slow stage: compare Max with Median task duration and Shuffle Read Size",
        "SELECT key, count(*) FROM <input> GROUP BY key ORDER BY 2 DESC LIMIT 20  -- find the hot keys",
    ]
    return Advice(deltas, steps, commands)


def spark_oom(ctx: Mapping[str, str], driver: bool) -> Advice:
    deltas = [
        Delta(
            "spark.memory.fraction",
            "0.6",
            "Heap share for execution and storage; 0.6 (Spark's default) leaves 40% for user objects, UDFs and "
            "internal metadata, which a higher value squeezes until a task runs out of memory.",
        ),
        _shuffle_partitions(ctx, "smaller partitions, so each task's sort and aggregation buffers fit"),
    ]
    split = size_bytes(ctx.get("spark.sql.files.maxPartitionBytes")) or 128 * MB
    deltas.append(
        Delta(
            "spark.sql.files.maxPartitionBytes",
            mb(split / 2),
            f"Half the current {mb(split)} input split: each scan task reads less at once.",
        )
    )
    deltas += [
        Delta("spark.sql.adaptive.enabled", "true", "AQE sizes shuffle partitions from the data it actually sees."),
        Delta(
            "spark.sql.adaptive.advisoryPartitionSizeInBytes",
            "64MB",
            "Target partition size when AQE splits or coalesces shuffle partitions.",
        ),
    ]
    workers = number(ctx, "num_workers", "workers")
    deltas.append(
        Delta(
            "num_workers",
            str(int(workers) + 1) if workers is not None else "+1",
            "One more worker spreads the same partitions over more executor memory (a cluster change; revert "
            "after the incident if the input growth was a one-off).",
        )
    )
    if driver:
        memory = size_bytes(ctx.get("spark.driver.memory"))
        deltas += [
            Delta(
                "spark.driver.maxResultSize",
                "2g",
                "A collect()/toPandas() larger than this fails fast with a clear error instead of killing the driver.",
            ),
            Delta(
                "spark.driver.memory",
                f"{math.ceil(memory * 1.5 / 1024**3)}g" if memory else "a driver node type with more memory",
                'The driver died ("stopped unexpectedly"): broadcasts and collected results live in its heap.',
            ),
        ]
    commands = [
        "Spark UI > Executors: Peak JVM memory and GC time per executor; the driver's row for a driver OOM",
        "Cluster event log: DRIVER_NOT_RESPONDING / executor lost events around the failure",
    ]
    steps = ["Repair (rerun only the failed tasks) once; apply these settings through rollout_config if it fails again"]
    return Advice(deltas, steps, commands)


def kafka_lag(ctx: Mapping[str, str]) -> Advice:
    deltas: list[Delta] = []
    interval = number(ctx, "max.poll.interval.ms") or DEFAULT_POLL_INTERVAL_MS
    poll_ms = number(ctx, "poll_ms", "batch_ms", "processing_ms")
    if poll_ms is not None:
        if poll_ms * 2 > interval:
            proposed = math.ceil(poll_ms * 2 / 60_000) * 60_000
            deltas.append(
                Delta(
                    "max.poll.interval.ms",
                    str(proposed),
                    f"One poll takes {poll_ms:g} ms to process, too close to {interval:g}: a member exceeding it "
                    "leaves the group and every rebalance stops consumption. 2x the processing time.",
                )
            )
            records = number(ctx, "max.poll.records") or 500
            deltas.append(
                Delta(
                    "max.poll.records",
                    str(max(1, int(records / 2))),
                    f"Half of {records:g} records per poll halves the time between polls.",
                )
            )
    elif interval < 600_000:
        deltas.append(
            Delta(
                "max.poll.interval.ms",
                "600000",
                "If the group rebalances (members leave with 'poll interval exceeded'), processing one poll takes "
                "longer than the 300000 ms default; give poll_ms=N to compute it.",
            )
        )
    fetch = number(ctx, "fetch.max.bytes") or DEFAULT_FETCH_MAX_BYTES
    per_partition = number(ctx, "max.partition.fetch.bytes") or DEFAULT_PARTITION_FETCH_BYTES
    deltas += [
        Delta(
            "fetch.max.bytes",
            str(int(fetch * 2)),
            f"2x {fetch:g} bytes per fetch: fewer round trips when consumers wait on the broker rather than "
            "on processing (fetch-latency high, records-per-request low).",
        ),
        Delta(
            "max.partition.fetch.bytes",
            str(int(per_partition * 4)),
            f"4x {per_partition:g} bytes per partition and fetch, so a backlogged partition drains in larger reads.",
        ),
    ]
    partitions = number(ctx, "partitions", "topic_partitions")
    consumers = number(ctx, "consumers", "consumer_count", "concurrency")
    if partitions and consumers and consumers < partitions:
        deltas.append(
            Delta(
                "consumers",
                str(int(min(partitions, consumers * 2))),
                f"{consumers:g} consumers read {partitions:g} partitions: each partition is read by one member, "
                f"so up to {partitions:g} members add throughput.",
            )
        )
    elif partitions and consumers:
        deltas.append(
            Delta(
                "partitions",
                str(int(partitions * 2)),
                f"{consumers:g} consumers already cover {partitions:g} partitions; members beyond the partition "
                "count sit idle, so more partitions (a topic change: key order per partition changes) add throughput.",
            )
        )
    else:
        deltas.append(
            Delta(
                "consumers",
                "the topic's partition count",
                "Consumer concurrency up to one member per partition (give partitions=N consumers=M to compute it).",
            )
        )
    commands = [
        "kafka-consumer-groups.sh --bootstrap-server $BOOTSTRAP --describe --group <consumergroup>",
        'Hot partition: max by (topic) (kafka_consumergroup_lag{consumergroup="<group>"}) / sum by (topic) '
        '(kafka_consumergroup_lag{consumergroup="<group>"}) over 0.5 means one key holds the backlog: more '
        "consumers will not help, the partitioning key must change",
        "Compare consumer count with the topic's partition count; look for frequent rebalances",
    ]
    steps = [
        "Check for a hot partition first (one partition holding most of the lag)",
        "Then scale consumers up to the partition count, or raise fetch sizes when consumers are fetch-bound",
    ]
    return Advice(deltas, steps, commands)


def kinesis_age(ctx: Mapping[str, str]) -> Advice:
    deltas: list[Delta] = []
    shards = number(ctx, "shards", "OpenShardCount", "shard_count")
    consumers = number(ctx, "consumers", "ConsumerCount")
    factor = number(ctx, "ParallelizationFactor", "parallelization_factor") or 1
    rate = number(ctx, "records_per_s", "incoming_records_per_s")
    record_ms = number(ctx, "record_ms")
    if rate and shards and record_ms:
        per_shard = rate / shards
        capacity = 1000 / record_ms  # records/s one batch at a time processes
        needed = min(10, max(1, math.ceil(per_shard / capacity * 1.5)))
        why = (
            f"{per_shard:g} records/s per shard at {record_ms:g} ms a record needs "
            f"{per_shard / capacity:.2g} concurrent batches per shard (x1.5 headroom; at most 10)"
        )
    else:
        needed = int(min(10, factor * 2))
        why = "2x the current factor; give records_per_s, shards and record_ms to compute it"
    if needed > factor:
        deltas.append(
            Delta("ParallelizationFactor", str(needed), f"Lambda batches processed per shard at once: {why}.")
        )
    batch = number(ctx, "BatchSize", "batch_size") or 100
    if batch < 500:
        deltas.append(
            Delta(
                "BatchSize",
                str(int(min(10_000, batch * 5))),
                f"More records per invocation than {batch:g} amortise the per-invocation overhead while behind "
                "(keep the batch's processing time under the function timeout).",
            )
        )
    incoming = number(ctx, "incoming_mb_s")
    if shards:
        readers = max(1.0, consumers or 1)
        needed_shards = math.ceil(incoming * readers / 2) if incoming else int(shards) + 1
        proposed = int(min(shards * 2, max(needed_shards, shards + 1)))
        basis = (
            f"{incoming:g} MB/s read by {readers:g} classic consumer(s) at 2 MB/s per shard"
            if incoming
            else "one more shard at least"
        )
        deltas.append(
            Delta(
                "shard_count",
                str(proposed),
                f"From {shards:g} shards: {basis}; UpdateShardCount at most doubles per call.",
            )
        )
    else:
        deltas.append(Delta("shard_count", "x2", "Give shards=N (and incoming_mb_s) to compute it."))
    if consumers is None or consumers >= 2:
        deltas.append(
            Delta(
                "enhanced_fan_out",
                "enabled",
                "Classic consumers share 2 MB/s and 5 GetRecords calls/s per shard; with an enhanced fan-out "
                "consumer (RegisterStreamConsumer; a Lambda event source with the consumer ARN) each gets its own "
                "2 MB/s pushed" + (f" ({consumers:g} consumers now)." if consumers else "."),
            )
        )
    commands = [
        "aws cloudwatch get-metric-statistics --namespace AWS/Kinesis --metric-name GetRecords.IteratorAgeMilliseconds "
        "--dimensions Name=StreamName,Value=<stream> --statistics Maximum --period 60 --start-time <t> --end-time <t>",
        "aws kinesis describe-stream-summary --stream-name <stream>  # OpenShardCount, ConsumerCount",
        "aws lambda list-event-source-mappings --event-source-arn <stream-arn>  # BatchSize, ParallelizationFactor",
        "ReadProvisionedThroughputExceeded > 0 means the shards, not the consumer, are the limit",
    ]
    steps = [
        "Per shard: one shard far behind points at a hot partition key; all shards behind at throughput",
        "Raise consumer parallelism first (no resharding), then enhanced fan-out, then shards",
    ]
    return Advice(deltas, steps, commands)


def advice(kind: str, ctx: Mapping[str, str], problem: str) -> Advice | None:
    if kind == "spark_stage_skew":
        return stage_skew(ctx)
    if kind == "spark_oom":
        return spark_oom(ctx, driver=bool(re.search(r"driver|databricks", problem, re.IGNORECASE)))
    if kind == "kafka_consumer_lag":
        return kafka_lag(ctx)
    if kind == "kinesis_iterator_age":
        return kinesis_age(ctx)
    return None


def entries(found: Advice, ctx: Mapping[str, str]) -> list[dict[str, Any]]:
    out = [d.entry(ctx) for d in found.deltas if d.reason]
    return [e for e in out if e is not None]
