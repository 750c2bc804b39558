"""Signal verification: the runbook's metric rules when it has them, else the detector evaluated afresh.

With `check: metric` rules (stage skew: the slowest task down by more than half, spill lower, GC stable;
Kafka lag drained and not growing; OOM: GC and heap back to normal; Kinesis iterator age under its
threshold and falling), each rule is measured for the incident's subject (`runbook_metrics`): relative rules
against the value at detection. Without them, the detector that raised the incident is re-evaluated.
Recovered once every check has held for quiet_minutes. The first clear evaluation is kept in the verdict
(`clear_since`) so later checks measure from it; an evaluation that fails again starts it over. The timeout
runs from the executed action, or from detection when nobody acted (signals may only have had suggestions).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

from pipeline_sre.errors import PipelineSreError
from pipeline_sre.lifecycle.metrics import prometheus_of
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.signals import kinesis, runbook_metrics
from pipeline_sre.lifecycle.sources.signals.detectors import recheck_signal
from pipeline_sre.lifecycle.verify_rules import Evidence, check, quiet_check
from pipeline_sre.models import iso
from pipeline_sre.runbooks.loader import Runbook
from pipeline_sre.settings.backends import default_detectors
from pipeline_sre.settings.config import VerifyConfig
from pipeline_sre.store.incidents import Incident


def _clock(rt: Runtime, incident: Incident) -> tuple[datetime, str]:
    if incident.action_id:
        record = rt.governance.get_action(incident.action_id)
        if record.state == "succeeded" and record.executed_at:
            return record.executed_at, "the action"
    return incident.opened_at, "detection"


def _runbook(rt: Runtime, incident: Incident, detector: str) -> Runbook | None:
    """The incident's runbook, else the one its detector names (configured, else the default detector's)."""
    runbook_id = incident.runbook_id or (incident.facts.get("signal") or {}).get("runbook_id")
    if not runbook_id:
        env = rt.settings.environments.get(incident.environment)
        configured = env.prometheus.detectors if env is not None and env.prometheus is not None else []
        det = next((d for d in [*configured, *default_detectors()] if d.name == detector), None)
        runbook_id = det.runbook_id if det is not None else None
    if not runbook_id:
        return None
    try:
        return rt.runbooks.get(runbook_id)
    except PipelineSreError:
        return None


@contextlib.asynccontextmanager
async def _reader(rt: Runtime, incident: Incident, detector: str) -> AsyncIterator[runbook_metrics.Reader]:
    subject = runbook_metrics.parse_subject(incident.subject)
    if detector == kinesis.CLOUDWATCH_DETECTOR:
        yield kinesis.cloudwatch_reader(rt, incident.environment, subject)
        return
    env, conn = prometheus_of(rt, incident.environment)
    async with rt.clients.prometheus(env) as client:
        yield runbook_metrics.prometheus_reader(client, runbook_metrics.catalog(conn), subject)


async def evidence(rt: Runtime, incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
    started, basis = await asyncio.to_thread(_clock, rt, incident)
    detector = incident.source.split(":", 1)[1]
    metric_rules = runbook_metrics.metric_rules(await asyncio.to_thread(_runbook, rt, incident, detector))
    if metric_rules:
        async with _reader(rt, incident, detector) as read:
            checks, keep = await runbook_metrics.verify_checks(
                read,
                metric_rules,
                started=started,
                detected=incident.opened_at,
                now=now,
                quiet_minutes=rules.quiet_minutes,
                kept=incident.verdict or {},
            )
        return Evidence(checks, started, basis, keep)
    fires, measured = await recheck_signal(rt, incident.environment, detector, incident.subject)
    if fires is not False:
        detail = f"still firing: {measured}" if fires else measured
        return Evidence([check("condition_cleared", None, detail)], started, basis)
    previous = (incident.verdict or {}).get("clear_since")
    clear_since = datetime.fromisoformat(previous) if previous else now
    checks = [
        check("condition_cleared", True, f"{detector} no longer fires for {incident.subject}: {measured}"),
        quiet_check("stays_clear", clear_since, now, rules.quiet_minutes, f"{detector} signal"),
    ]
    return Evidence(checks, started, basis, {"clear_since": iso(clear_since)})
