"""Alertmanager verification: the alert resolved, then quiet for quiet_minutes."""

from __future__ import annotations

from datetime import datetime

from pipeline_sre.lifecycle.verify_rules import Evidence, check, quiet_check
from pipeline_sre.models import iso, parse_time
from pipeline_sre.settings.config import VerifyConfig
from pipeline_sre.store.incidents import Incident


def evidence(incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
    """An Alertmanager incident recovers when Alertmanager reports the alert resolved and it stays so for
    quiet_minutes (a re-firing alert joins the incident and sets it firing again)."""
    facts = incident.facts
    if facts.get("alert_status") != "resolved":
        pending = check("alert_resolved", None, "Alertmanager still reports the alert firing")
        return Evidence([pending], incident.opened_at, "detection")
    resolved_at = parse_time(facts.get("alert_resolved_at")) or now
    resolved_at = min(max(resolved_at, incident.opened_at), now)  # within what we have seen of it
    checks = [
        check("alert_resolved", True, f"Alertmanager resolved the alert at {iso(resolved_at)}"),
        quiet_check("stays_clear", resolved_at, now, rules.quiet_minutes, "re-firing of the alert"),
    ]
    return Evidence(checks, incident.opened_at, "detection")
