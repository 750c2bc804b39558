"""Operating metrics for `/metrics` (prometheus-client, in a registry of their own).

Fed from what the autopilot did (its CycleReport per cycle or push) plus reads of the incident store and
the action records; each (event, id) is counted once per process however many cycles see it again.
The MCP layer reports tool calls with `record_tool_call(name, outcome)`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from pipeline_sre.errors import PipelineSreError
from pipeline_sre.store.incidents import Incident
from pipeline_sre.store.replicas import Replica

if TYPE_CHECKING:
    from pipeline_sre.app.respond import CycleReport
    from pipeline_sre.lifecycle.runtime import Runtime

log = logging.getLogger("pipeline_sre.metrics")

WRITE_KINDS = ("clear_failed_tasks", "trigger_dag")
LABEL_MAX = 64
MINUTES = (60.0, 300.0, 600.0, 1800.0, 3600.0, 2 * 3600.0, 4 * 3600.0, 8 * 3600.0, 24 * 3600.0, 72 * 3600.0)
SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def _label(value: object) -> str:
    text = str(value) if value not in (None, "") else "none"
    return text[:LABEL_MAX]


class OperatingMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, *, remember: int = 100_000) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.incidents_opened = Counter(
            "pipeline_sre_incidents_opened",
            "Incidents opened, by category and environment",
            ["category", "environment"],
            registry=r,
        )
        self.time_to_resolve = Histogram(
            "pipeline_sre_incident_time_to_resolve_seconds",
            "Detection to resolution of resolved incidents (MTTR)",
            ["environment"],
            buckets=MINUTES,
            registry=r,
        )
        self.escalations = Counter(
            "pipeline_sre_incidents_escalated",
            "Incidents handed to a human, by category and environment",
            ["category", "environment"],
            registry=r,
        )
        self.fix_outcomes = Counter(
            "pipeline_sre_fix_outcomes",
            "Incidents closed after an executed action: resolved or escalated (success rate = resolved / all)",
            ["outcome"],
            registry=r,
        )
        self.actions = Counter(
            "pipeline_sre_actions",
            "Actions by mode: plan_only (shadow), proposed (awaiting approval), executed (sent to the backend)",
            ["mode", "kind"],
            registry=r,
        )
        self.approval_latency = Histogram(
            "pipeline_sre_approval_latency_seconds",
            "Approval requested to approved, for executed actions",
            buckets=MINUTES,
            registry=r,
        )
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
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._remember = remember

    def observe_replicas(self, replicas: list[Replica], now: datetime) -> None:
        self.replica_age.clear()
        for replica in replicas:
            self.replica_age.labels(replica.instance_id, replica.role).set(round(replica.age_seconds(now), 1))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def first_time(self, event: str, key: str) -> bool:
        """True once per (event, key): a later cycle that sees the same transition does not count it again."""
        marker = (event, key)
        if marker in self._seen:
            return False
        self._seen[marker] = None
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        return True

    # -- single observations -------------------------------------------------------------------------

    def record_tool_call(self, name: str, outcome: str) -> None:
        self.tool_calls.labels(_label(name), _label(outcome)).inc()

    def incident_opened(self, incident: Incident) -> None:
        if self.first_time("opened", incident.id):
            self.incidents_opened.labels(_label(incident.category), _label(incident.environment)).inc()

    def incident_closed(self, rt: Runtime, incident: Incident) -> None:
        """MTTR, escalations and the fix outcome of a resolved or escalated incident."""
        if incident.state not in ("resolved", "escalated") or not self.first_time("closed", incident.id):
            return
        acted = False
        if incident.action_id:
            try:
                acted = rt.governance.get_action(incident.action_id).executed_at is not None
            except PipelineSreError:
                acted = False
        if incident.state == "resolved":
            seconds = incident.durations().get("time_to_resolve_s")
            if seconds is not None:
                self.time_to_resolve.labels(_label(incident.environment)).observe(max(0.0, seconds))
        else:
            self.escalations.labels(_label(incident.category), _label(incident.environment)).inc()
        if acted:
            self.fix_outcomes.labels(incident.state).inc()

    def action_proposed(self, rt: Runtime, action_id: str) -> None:
        if self.first_time("proposed", action_id):
            kind = rt.governance.get_action(action_id).action.kind
            self.actions.labels("proposed", _label(kind)).inc()

    def action_executed(self, rt: Runtime, action_id: str) -> None:
        if not self.first_time("executed", action_id):
            return
        record = rt.governance.get_action(action_id)
        self.actions.labels("executed", _label(record.action.kind)).inc()
        if record.approval_requested_at and record.approved_at:
            waited = (record.approved_at - record.approval_requested_at).total_seconds()
            self.approval_latency.observe(max(0.0, waited))

    # -- a whole cycle ----------------------------------------------------------------------------------

    def observe_report(self, rt: Runtime, report: CycleReport) -> None:
        """Count what one cycle (or one pushed failure) did; blocking store reads, so run it in a thread."""
        for incident_id in report.new_incidents:
            self._guarded(rt, incident_id)
        for plan in report.shadow_plans:  # shadow mode: the write the runbook would have proposed, or escalate
            self.actions.labels("plan_only", plan["kind"]).inc()
        for action_id in report.proposed:
            self._safe(self.action_proposed, rt, action_id)
        for action_id in report.executed:
            self._safe(self.action_executed, rt, action_id)
        # Incidents closed by this cycle, and those a human closed (the autopilot writes their postmortems).
        closed = dict.fromkeys([*report.resolved, *report.escalated, *(Path(p).stem for p in report.postmortems)])
        for incident_id in closed:
            try:
                self.incident_closed(rt, rt.incidents.get(incident_id))
            except PipelineSreError as err:
                log.warning("metrics: incident %s unreadable: %s", incident_id, err.message)

    def _guarded(self, rt: Runtime, incident_id: str) -> None:
        try:
            incident = rt.incidents.get(incident_id)
        except PipelineSreError as err:
            log.warning("metrics: incident %s unreadable: %s", incident_id, err.message)
            return
        self.incident_opened(incident)

    def _safe(self, fn: Callable[[Runtime, str], None], rt: Runtime, action_id: str) -> None:
        try:
            fn(rt, action_id)
        except PipelineSreError as err:
            log.warning("metrics: action %s unreadable: %s", action_id, err.message)


METRICS = OperatingMetrics()


def record_tool_call(name: str, outcome: str) -> None:
    """Count one MCP tool call (outcome: ok, refused, error, ...) on the process-wide metrics."""
    METRICS.record_tool_call(name, outcome)
