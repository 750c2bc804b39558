"""Signals benchmark: get_metric over 1,000 series vs raw points; CloudWatch tail vs paging from the head.

Run: .venv/bin/python bench/bench_signals.py        (about 90 s; writes bench/results/signals.md)

1. A real Prometheus (/usr/bin/prometheus) scrapes the test exporter (tests/integration/prometheus_plugin.py)
   every second; after 65 s of history, `psre_series` (1,000 series) is queried over 1m at 1s steps
   (61 points per series): get_metric's summary (HTTP + parse + summarise) against returning the raw
   points (the same range query, dumped as compact JSON, as generic Prometheus MCP servers do).
2. moto's CloudWatch Logs server holds one task-try stream of N events; the last 200 lines are read with
   CloudWatchTaskLogs.tail (GetLogEvents from the tail) against paging the stream from its head with
   nextForwardToken and keeping the last 200 lines.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (ROOT / "src", ROOT):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from tests.integration.prometheus_plugin import prometheus_binary, running_prometheus  # noqa: E402

from pipeline_sre.connectors.cloudwatch import CloudWatchTaskLogs, stream_name  # noqa: E402
from pipeline_sre.connectors.prometheus import PrometheusClient  # noqa: E402
from pipeline_sre.lifecycle import metrics  # noqa: E402
from pipeline_sre.lifecycle.compact import dumps, size  # noqa: E402
from pipeline_sre.lifecycle.runtime import Runtime  # noqa: E402
from pipeline_sre.settings.backends import MwaaConnection  # noqa: E402
from pipeline_sre.settings.config import parse_settings  # noqa: E402

HISTORY_S = 65
QUERY = "psre_series"
REPEATS = 7
LOG_SIZES = (10_000, 50_000)
TAIL = 200


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


async def bench_metric(url: str) -> list[list[str]]:
    rt = Runtime(
        parse_settings(
            {"environments": {"m": {"airflow": {"url": "http://127.0.0.1:9"}, "prometheus": {"url": url}}}}, "bench"
        )
    )
    conn = rt.settings.environments["m"].prometheus
    assert conn is not None
    rows: list[list[str]] = []
    summary_walls: list[float] = []
    summarise_only: list[float] = []
    raw_walls: list[float] = []
    answer: dict[str, Any] = {}
    raw_bytes = 0
    points = 0
    for _ in range(REPEATS):
        began = time.perf_counter()
        answer = await metrics.get_metric(rt, QUERY, window="1m", step="1s", environment="m")
        summary_walls.append(time.perf_counter() - began)
        async with PrometheusClient("m", conn) as client:
            end = time.time()
            began = time.perf_counter()
            data = await client.query_range(QUERY, end - 60, end, 1)
            raw = dumps(data["result"])
            raw_walls.append(time.perf_counter() - began)
        raw_bytes = len(raw.encode())
        points = sum(len(s["values"]) for s in data["result"])
        began = time.perf_counter()
        metrics.summarise_result(data, max_series=conn.max_series, max_bytes=conn.max_result_bytes, header={})
        summarise_only.append(time.perf_counter() - began)
    await rt.aclose()
    med = statistics.median
    rows.append(
        [
            "get_metric (summary)",
            f"{answer['series_total']:,}",
            f"{points:,}",
            ms(med(summary_walls)),
            ms(max(summary_walls)),
            f"{size(answer):,}",
            f"summarise only: {ms(med(summarise_only))} ms; {len(answer['series'])} series shown in full",
        ]
    )
    rows.append(
        [
            "raw points (same query_range, compact JSON)",
            f"{answer['series_total']:,}",
            f"{points:,}",
            ms(med(raw_walls)),
            ms(max(raw_walls)),
            f"{raw_bytes:,}",
            f"{raw_bytes / max(1, size(answer)):,.0f}x the summary's bytes",
        ]
    )
    verdict = med(summary_walls) < 0.2 and size(answer) < 4096
    rows.append(["budget: < 200 ms and < 4 KB", "", "", "", "", "", "met" if verdict else "NOT met"])
    return rows


def head_pages(client: Any, group: str, stream: str, lines: int) -> tuple[list[str], int]:
    tail: deque[str] = deque(maxlen=lines)
    calls = 0
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        page = client.get_log_events(**kwargs)
        calls += 1
        for event in page["events"]:
            tail.extend(str(event["message"]).split("\n"))
        if page.get("nextForwardToken") == token or not page["events"]:
            return list(tail), calls
        token = page["nextForwardToken"]


async def bench_cloudwatch() -> list[list[str]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ.update(AWS_ACCESS_KEY_ID="AKIABENCH0000000", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    client = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    conn = MwaaConnection(name="bench", region="us-east-1", logs_endpoint_url=endpoint)
    group = conn.task_log_group
    client.create_log_group(logGroupName=group)
    rows: list[list[str]] = []
    try:
        for n in LOG_SIZES:
            task = f"load_{n}"
            stream = stream_name("etl", "scheduled__2026-01-01T00:00:00+00:00", task, 1)
            client.create_log_stream(logGroupName=group, logStreamName=stream)
            base = int(time.time() * 1000) - n
            for start in range(0, n, 5000):
                events = [
                    {"timestamp": base + i, "message": f"[{i}] INFO - step {i} done"}
                    for i in range(start, start + 5000)
                ]
                client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
            logs = CloudWatchTaskLogs("bench", conn)
            await logs.tail("etl", "scheduled__2026-01-01T00:00:00+00:00", task, 1, lines=1)  # client warm-up
            logs.calls = 0
            began = time.perf_counter()
            lines, _ = await logs.tail("etl", "scheduled__2026-01-01T00:00:00+00:00", task, 1, lines=TAIL)
            tail_s = time.perf_counter() - began
            began = time.perf_counter()
            head, head_calls = head_pages(client, group, stream, TAIL)
            head_s = time.perf_counter() - began
            assert lines == head and len(lines) == TAIL
            rows.append([f"{n:,}", "tail (GetLogEvents startFromHead=False)", str(logs.calls), ms(tail_s)])
            rows.append([f"{n:,}", "page from head (nextForwardToken), keep last 200", str(head_calls), ms(head_s)])
    finally:
        server.stop()
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


async def main() -> None:
    began = time.perf_counter()
    binary = prometheus_binary()
    if binary is None:
        raise SystemExit("prometheus not installed: apt-get install -y prometheus")
    with tempfile.TemporaryDirectory() as tmp, running_prometheus(Path(tmp), binary) as info:
        print(f"waiting {HISTORY_S} s for a minute of scraped history ...", flush=True)
        time.sleep(HISTORY_S)
        metric_rows = await bench_metric(info.url)
    cw_rows = await bench_cloudwatch()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = f"""# Signals benchmark ({stamp})

`python bench/bench_signals.py`, Python {platform.python_version()}, {os.cpu_count()} CPUs visible (shared); \
total run time {time.perf_counter() - began:.1f} s.

## get_metric over 1,000 series (real Prometheus {Path(binary).name}, loopback, median of {REPEATS})

Query `{QUERY}` over 1m at 1s steps: 1,000 series x 61 points.

{table(["approach", "series", "points", "wall ms (median)", "wall ms (max)", "answer bytes", "notes"], metric_rows)}

## CloudWatch Logs: last {TAIL} lines of one task try (moto server, loopback)

{table(["events in stream", "approach", "API calls", "wall ms"], cw_rows)}

moto answers every page from the full, re-sorted event list, so its per-call time grows with the stream;
the call counts are what carries over to AWS (GetLogEvents pages are at most 10,000 events / 1 MB).
"""
    out = ROOT / "bench" / "results" / "signals.md"
    out.write_text(report)
    print(report)


if __name__ == "__main__":
    asyncio.run(main())
