"""Alertmanager intake: a firing alert opens or joins a `metric` incident, a resolved one is noted on it
(verification then waits for it to stay quiet). The same books as every other incident."""

from __future__ import annotations

import logging
from typing import Any

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.alerts.source import (
    ALERTS,
    NAME,
    OPENED_BY,
    AlertFailure,
    alert_signature,
    alert_time,
    failure,
)
from pipeline_sre.lifecycle.sources.base import open_incident
from pipeline_sre.store.incidents import OPEN

log = logging.getLogger("pipeline_sre.alerts")


def ingest_alerts(rt: Runtime, alerts: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Open, join or note each alert; returns the summary answered to Alertmanager. Blocking (store)."""
    out: dict[str, Any] = {"opened": [], "joined": 0, "resolved_noted": 0, "resolved_unmatched": 0}
    for env, alert in alerts:
        received = failure(env, alert)
        if alert["status"] == "resolved":
            matched = _note_resolved(rt, received)
            out["resolved_noted" if matched else "resolved_unmatched"] += 1
            continue
        incident, joined = open_incident(rt, ALERTS.evidence(rt, received, None), by=OPENED_BY)
        if joined:
            out["joined"] += 1
            if incident.facts.get("alert_status") != "firing":  # it fired again after a resolve
                rt.incidents.mark(incident.id, facts={**incident.facts, "alert_status": "firing"})
        else:
            out["opened"].append(incident.summary())
    return out


def _note_resolved(rt: Runtime, alert: AlertFailure) -> bool:
    signature = alert_signature(alert.alert["labels"])
    for incident in rt.incidents.list(None, alert.environment, OPEN, limit=500):
        if incident.source == NAME and incident.subject == alert.subject and incident.signature == signature:
            # Alertmanager's endsAt, or now when it sends none (the zero time "0001-01-01...")
            ended = alert_time(alert.alert.get("endsAt")) or rt.incidents.clock()
            facts = {**incident.facts, "alert_status": "resolved", "alert_resolved_at": ended.isoformat()}
            rt.incidents.mark(incident.id, facts=facts)
            log.info("alert resolved for incident %s (%s)", incident.id, alert.subject)
            return True
    return False
