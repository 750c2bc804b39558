"""pytest plugin: a real Prometheus (Debian package `prometheus`) scraping an exporter the tests run.

The exporter (prometheus_client on 127.0.0.1, random port) publishes, as functions of the seconds since
it started, the signals the detectors look for, each with a bad and a good subject:

* Spark stage skew: app etl_orders stage 3 (p95/p50 = 12, top tasks hold 80% of shuffle read: fires),
  stage 4 (ratio 1.2), app even_join stage 7 (ratio 8 but shuffle spread evenly: must NOT fire);
* executor GC: etl_orders executor 1 spends 0.6 s in GC per CPU second (fires), executor 2 0.05;
* Kafka lag: billing/invoices 2 x (100k + 5k/s) (high and rising: fires), search/clicks 50 (low),
  backfill/events 2 x (500k - 2k/s) (high but draining: must NOT fire);
* freshness: dataset orders succeeded a minute ago, ledger three hours ago (fires), plus the datasets a
  test puts in `exporter.last_success` (dataset -> Unix time), for as long as it keeps them there;
* `psre_series{id="0".."999"}` = id (the 1,000-series cap), `psre_ramp{dir="up"|"down"}` = +-t;
* what runbook metric conditions read: the slowest task and spill of each stage above, JVM heap used/max
  of the two executors (executor 1 at 97%), and Kinesis iterator age (stream clickstream 120 s + 1 s/s:
  fires; orders_cdc 0.5 s);
* the series a test puts in `exporter.extra` ((metric, labels) -> value as a function of t), for as long
  as it keeps them there (a metric the exporter publishes anyway; labels new to it).

Prometheus scrapes every second into a temporary TSDB and listens on 127.0.0.1 (random port). Tests
skip with a clear message when /usr/bin/prometheus is absent (CI installs it: apt-get install prometheus).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PROMETHEUS_BIN = "/usr/bin/prometheus"
SERIES = 1000
START_TIMEOUT = 60.0


class SignalsExporter(Collector):
    def __init__(self) -> None:
        self.started = time.time()
        self.last_success: dict[str, float] = {}
        self.extra: dict[tuple[str, tuple[tuple[str, str], ...]], Callable[[float], float]] = {}

    def collect(self) -> Iterable[Metric]:
        t = time.time() - self.started
        p95 = GaugeMetricFamily("spark_stage_task_duration_p95", "p95 task duration (s)", labels=["app", "stage"])
        p50 = GaugeMetricFamily("spark_stage_task_duration_p50", "p50 task duration (s)", labels=["app", "stage"])
        share = GaugeMetricFamily(
            "spark_stage_shuffle_read_top_tasks_share", "shuffle read share of top 5% tasks", labels=["app", "stage"]
        )
        for app, stage, hi, lo, top in (
            ("etl_orders", "3", 120.0, 10.0, 0.8),
            ("etl_orders", "4", 12.0, 10.0, 0.1),
            ("even_join", "7", 80.0, 10.0, 0.2),
        ):
            p95.add_metric([app, stage], hi)
            p50.add_metric([app, stage], lo)
            share.add_metric([app, stage], top)
        gc = CounterMetricFamily("spark_executor_gc_time_seconds", "GC time", labels=["app", "executor"])
        cpu = CounterMetricFamily("spark_executor_cpu_time_seconds", "CPU time", labels=["app", "executor"])
        for executor, gc_share in (("1", 0.6), ("2", 0.05)):
            gc.add_metric(["etl_orders", executor], 100 + gc_share * t)
            cpu.add_metric(["etl_orders", executor], 1000 + t)
        lag = GaugeMetricFamily("kafka_consumergroup_lag", "lag", labels=["consumergroup", "topic", "partition"])
        for partition in ("0", "1"):
            lag.add_metric(["billing", "invoices", partition], 100_000 + 5000 * t)
            lag.add_metric(["search", "clicks", partition], 25)
            lag.add_metric(["backfill", "events", partition], 500_000 - 2000 * t)
        fresh = GaugeMetricFamily("pipeline_last_success_timestamp_seconds", "last success", labels=["dataset"])
        fresh.add_metric(["orders"], self.started - 60)
        fresh.add_metric(["ledger"], self.started - 3 * 3600)
        for dataset, when in list(self.last_success.items()):
            fresh.add_metric([dataset], when)
        series = GaugeMetricFamily("psre_series", "the 1,000-series cap", labels=["id"])
        for i in range(SERIES):
            series.add_metric([str(i)], i)
        ramp = GaugeMetricFamily("psre_ramp", "linear ramps", labels=["dir"])
        ramp.add_metric(["up"], 100 + t)
        ramp.add_metric(["down"], 500 - 5 * t)
        slowest = GaugeMetricFamily("spark_stage_task_duration_max", "slowest task (s)", labels=["app", "stage"])
        spill = GaugeMetricFamily("spark_stage_spill_bytes", "bytes spilled", labels=["app", "stage"])
        for app, stage, top_s, spilled in (
            ("etl_orders", "3", 300.0, 5e9),
            ("etl_orders", "4", 15.0, 0.0),
            ("even_join", "7", 100.0, 0.0),
        ):
            slowest.add_metric([app, stage], top_s)
            spill.add_metric([app, stage], spilled)
        used = GaugeMetricFamily("spark_executor_jvm_heap_used_bytes", "heap used", labels=["app", "executor"])
        heap = GaugeMetricFamily("spark_executor_jvm_heap_max_bytes", "heap max", labels=["app", "executor"])
        for executor, ratio in (("1", 0.97), ("2", 0.5)):
            used.add_metric(["etl_orders", executor], ratio * 8e9)
            heap.add_metric(["etl_orders", executor], 8e9)
        age = GaugeMetricFamily(
            "aws_kinesis_get_records_iterator_age_milliseconds_maximum", "iterator age", labels=["stream_name"]
        )
        age.add_metric(["clickstream"], 120_000 + 1000 * t)
        age.add_metric(["orders_cdc"], 500)
        families = (p95, p50, share, gc, cpu, lag, fresh, series, ramp, slowest, spill, used, heap, age)
        for (name, labels), value in list(self.extra.items()):
            family = next(f for f in families if f.name == name)
            family.add_metric([dict(labels)[k] for k in family.samples[0].labels], value(t))
        yield from families


@dataclass(frozen=True)
class PrometheusInfo:
    url: str
    exporter_url: str
    exporter: SignalsExporter


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_samples(url: str, deadline: float) -> None:
    """Ready, and at least 4 scrapes of the exporter stored (rate()/deriv() need two or more)."""
    query = 'count_over_time(psre_ramp{dir="up"}[1m])'
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=2).json()
            result = answer.get("data", {}).get("result", [])
            if result and float(result[0]["value"][1]) >= 4:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.25)
    raise RuntimeError("Prometheus did not store 4 scrapes of the test exporter in time")


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or (PROMETHEUS_BIN if Path(PROMETHEUS_BIN).exists() else None)


@contextlib.contextmanager
def running_prometheus(root: Path, binary: str) -> Iterator[PrometheusInfo]:
    """The exporter and a Prometheus scraping it every second, until the block ends (also used by bench/)."""
    registry = CollectorRegistry()
    exporter = SignalsExporter()
    registry.register(exporter)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    exporter_url = f"http://127.0.0.1:{server.server_port}"
    config = root / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: psre\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{server.server_port}']\n"
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=2h",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"Prometheus exited with {proc.returncode}; see {root / 'prometheus.log'}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Prometheus did not become ready in time")
            time.sleep(0.2)
        _wait_for_samples(url, deadline)
        yield PrometheusInfo(url=url, exporter_url=exporter_url, exporter=exporter)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusInfo]:
    binary = prometheus_binary()
    if binary is None:
        pytest.skip("Prometheus binary not found (/usr/bin/prometheus): apt-get install -y prometheus")
    with running_prometheus(tmp_path_factory.mktemp("prometheus"), binary) as info:
        yield info


T = TypeVar("T")
SCRAPE_WAIT = 20.0  # seconds for a changed exporter value to be scraped and seen by a query


async def poll_until(fetch: Callable[[], Awaitable[T]], done: Callable[[T], object], what: str) -> T:
    """Call `fetch` every half second until `done(result)` holds; fail naming `what` after SCRAPE_WAIT."""
    deadline = time.monotonic() + SCRAPE_WAIT
    while True:
        result = await fetch()
        if done(result):
            return result
        assert time.monotonic() < deadline, f"{what}: {result}"
        await asyncio.sleep(0.5)
