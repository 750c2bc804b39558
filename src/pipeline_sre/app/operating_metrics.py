"""Operating metrics for `/metrics` of `serve --http` and `watch --http` (prometheus-client).

Two kinds, rendered together:
- what this process did (`OperatingMetrics`, one registry per process): tool calls, autopilot cycles and
  their duration, webhook requests, the age of each replica's heartbeat;
- what every surface did, from the store (`StoreMetrics`, a custom collector): incidents, time to resolve,
  fix outcomes, handling, approval latency and shadow plans over the last DEFAULT_WINDOW_DAYS days, per
  environment. Computed at scrape time and kept for a few seconds, so a restart loses nothing, every
  replica reports the same figures (aggregate replicas with max, not sum) and a burst of scrapes reads the
  store once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pipeline_sre.app.operating_stats import DEFAULT_WINDOW_DAYS, operating_stats
from pipeline_sre.errors import PipelineSreError
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.store.operating_stats import FIX_OUTCOMES, Durations, OperatingStats
from pipeline_sre.store.replicas import Replica

log = logging.getLogger("pipeline_sre.metrics")

LABEL_MAX = 64
SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
CACHE_SECONDS = 10.0


def _label(value: object) -> str:
    text = str(value) if value not in (None, "") else "none"
    return text[:LABEL_MAX]


class OperatingMetrics:
    """What this process did: counted in memory, per process (a restart starts them again)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.tool_calls = Counter(
            "pipeline_sre_tool_calls", "MCP tool calls by tool and outcome", ["tool", "outcome"], registry=r
        )
        self.cycles = Counter("pipeline_sre_autopilot_cycles", "Autopilot cycles by result", ["result"], registry=r)
        self.cycle_seconds = Histogram(
            "pipeline_sre_autopilot_cycle_seconds", "Duration of one autopilot cycle", buckets=SECONDS, registry=r
        )
        self.webhook_requests = Counter(
            "pipeline_sre_webhook_requests",
            "Webhook intake requests by hook and HTTP status",
            ["hook", "status"],
            registry=r,
        )
        self.replica_age = Gauge(
            "pipeline_sre_replica_heartbeat_age_seconds",
            "Seconds since each replica sharing the store last completed a cycle",
            ["instance", "role"],
            registry=r,
        )

    def observe_replicas(self, replicas: list[Replica], now: datetime) -> None:
        self.replica_age.clear()
        for replica in replicas:
            self.replica_age.labels(replica.instance_id, replica.role).set(round(replica.age_seconds(now), 1))

    def record_tool_call(self, name: str, outcome: str) -> None:
        self.tool_calls.labels(_label(name), _label(outcome)).inc()

    def render(self, store: StoreMetrics | None = None) -> bytes:
        """The Prometheus text of this process, then the store's figures. Blocking when `store` is given."""
        text = generate_latest(self.registry)
        return text + generate_latest(store.registry) if store is not None else text


class _Families:
    """The store-derived gauges of one scrape."""

    def __init__(self) -> None:
        def gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=labels)

        window = f"over the last {DEFAULT_WINDOW_DAYS} days"
        self.up = gauge("pipeline_sre_stats_up", "1 when the store answered the last statistics query, else 0", [])
        self.window = gauge("pipeline_sre_stats_window_days", "Days the store-derived figures cover", [])
        env = ["environment"]
        self.opened = gauge(
            "pipeline_sre_incidents_opened", f"Incidents opened {window}, by category", [*env, "category"]
        )
        self.by_source = gauge(
            "pipeline_sre_incidents_opened_by_source", f"Incidents opened {window}, by source", [*env, "source"]
        )
        self.outcome = gauge(
            "pipeline_sre_incidents_outcome",
            f"Incidents opened {window}, by outcome: resolved, escalated, closed (by hand), open",
            [*env, "outcome"],
        )
        self.handling = gauge(
            "pipeline_sre_incidents_handling",
            f"Incidents opened {window}: executed (a write ran), plan_only (proposed or planned, nothing ran), no_plan",
            [*env, "handling"],
        )
        self.resolved = gauge("pipeline_sre_incidents_resolved", f"Incidents resolved {window}", env)
        self.time_to_resolve = gauge(
            "pipeline_sre_incident_time_to_resolve_seconds",
            f"Failure to resolution (MTTR) of the incidents resolved {window}: median and p90",
            [*env, "quantile"],
        )
        self.fixes = gauge(
            "pipeline_sre_fix_outcomes",
            f"Actions executed {window} by the outcome of their incident: resolved, not_resolved, pending, no_incident",
            [*env, "kind", "outcome"],
        )
        self.success = gauge(
            "pipeline_sre_fix_success_ratio",
            f"Executed actions whose incident resolved / those whose incident is settled, {window}",
            env,
        )
        self.approval = gauge(
            "pipeline_sre_approval_latency_seconds",
            f"Approval requested to approved by a human, {window}: median and p90",
            [*env, "quantile"],
        )
        self.shadow = gauge(
            "pipeline_sre_shadow_plans", f"Plans written in shadow mode {window}, by the write proposed", [*env, "kind"]
        )

    def all(self) -> list[Metric]:
        return [
            self.up,
            self.window,
            self.opened,
            self.by_source,
            self.outcome,
            self.handling,
            self.resolved,
            self.time_to_resolve,
            self.fixes,
            self.success,
            self.approval,
            self.shadow,
        ]

    def add(self, env: str, stats: OperatingStats) -> None:
        e = _label(env)
        for category, n in stats.by_category.items():
            self.opened.add_metric([e, _label(category)], n)
        for source, n in stats.by_source.items():
            self.by_source.add_metric([e, _label(source)], n)
        for outcome, n in stats.by_outcome.items():
            self.outcome.add_metric([e, outcome], n)
        for handling, n in stats.handling.items():
            self.handling.add_metric([e, handling], n)
        self.resolved.add_metric([e], stats.time_to_resolve.count)
        _quantiles(self.time_to_resolve, e, stats.time_to_resolve)
        _quantiles(self.approval, e, stats.approval_latency)
        for kind, counts in stats.fixes_by_kind.items():
            for outcome in FIX_OUTCOMES:
                self.fixes.add_metric([e, _label(kind), outcome], getattr(counts, outcome))
        if stats.fixes.success_rate is not None:
            self.success.add_metric([e], stats.fixes.success_rate)
        for kind, n in stats.shadow_plans.items():
            self.shadow.add_metric([e, _label(kind)], n)


def _quantiles(family: GaugeMetricFamily, env: str, durations: Durations) -> None:
    """Only measured quantiles: no sample rather than NaN when nothing was resolved or approved."""
    for quantile, value in (("0.5", durations.median_s), ("0.9", durations.p90_s)):
        if value is not None:
            family.add_metric([env, quantile], value)


class StoreMetrics(Collector):
    """The store's figures per configured environment, computed when scraped and cached for `ttl` seconds."""

    def __init__(self, rt: Runtime, *, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.rt = rt
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()  # concurrent scrapes wait for one computation instead of each running one
        self._cached: tuple[float, list[Metric]] | None = None
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def describe(self) -> Iterator[Metric]:
        # The names without samples: registering reads no store.
        return iter(_Families().all())

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = self.clock()
            if self._cached is None or now - self._cached[0] >= self.ttl:
                self._cached = (now, self._compute())
            return iter(self._cached[1])

    def _compute(self) -> list[Metric]:
        families = _Families()
        families.window.add_metric([], DEFAULT_WINDOW_DAYS)
        try:
            per_env = [(env, operating_stats(self.rt, DEFAULT_WINDOW_DAYS, env)) for env in self.rt.selected(None)]
        except PipelineSreError as err:  # the store is down: say so, and keep serving the process metrics
            log.warning("metrics: the store's statistics could not be read: %s", err.message)
            families.up.add_metric([], 0)
            return families.all()
        for env, stats in per_env:
            families.add(env, stats)
        families.up.add_metric([], 1)
        return families.all()


METRICS = OperatingMetrics()


def record_tool_call(name: str, outcome: str) -> None:
    """Count one MCP tool call (outcome: ok, refused, error, ...) on the process-wide metrics."""
    METRICS.record_tool_call(name, outcome)
