"""Signal verification: the detector that raised the incident, evaluated afresh for the incident's subject.

Recovered once the condition has been clear for quiet_minutes. The first clear evaluation is kept in the
verdict (`clear_since`) so later checks measure from it; an evaluation that fires again starts it over.
The timeout runs from the executed action, or from detection when nobody acted (signals may only have
had suggestions).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pipeline_sre.lifecycle import metrics
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.verify_rules import Evidence, check, quiet_check
from pipeline_sre.models import iso
from pipeline_sre.settings.config import VerifyConfig
from pipeline_sre.store.incidents import Incident


def _clock(rt: Runtime, incident: Incident) -> tuple[datetime, str]:
    if incident.action_id:
        record = rt.governance.get_action(incident.action_id)
        if record.state == "succeeded" and record.executed_at:
            return record.executed_at, "the action"
    return incident.opened_at, "detection"


async def evidence(rt: Runtime, incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
    started, basis = await asyncio.to_thread(_clock, rt, incident)
    detector = incident.source.split(":", 1)[1]
    fires, measured = await metrics.recheck_signal(rt, incident.environment, detector, incident.subject)
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
