"""Verify: recovery is proven by rules, not assumed; a failed verification goes to a human.

`check_recovery` asks the incident's source (found by its `source` field in `sources/registry.py`) for the
evidence, and reaches the verdict by `verify_rules`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.registry import source_of
from pipeline_sre.lifecycle.verify_rules import Evidence, decide
from pipeline_sre.models import iso, parse_time
from pipeline_sre.store.incidents import TERMINAL, Incident


async def check_recovery(rt: Runtime, incident_id: str, *, by: str = "system:verify") -> dict[str, Any]:
    incident = rt.incidents.get(incident_id)
    rules = rt.settings.incidents.verify
    now = rt.incidents.clock()  # the store's clock, which also stamps the incident's steps
    evidence = await source_of(incident.source).verify(rt, incident, rules, now)
    return _verdict(rt, incident, decide(evidence, rules, now), evidence, now, by)


RECHECK = timedelta(seconds=60)  # a run still going: its state may change any time


def settles_at(checks: list[dict[str, Any]]) -> datetime | None:
    """When a pending verdict can next change, if only quiet periods are running (the last one's end);
    None when it may change any time (a run still going)."""
    waiting = [c for c in checks if c.get("ok") is None]
    quiet_ends = [end for c in waiting if (end := parse_time(c.get("until"))) is not None]
    if quiet_ends and len(quiet_ends) == len(waiting):
        return max(quiet_ends)
    return None


def _next_check(evidence: Evidence, now: datetime) -> datetime:
    """The end of the last quiet period still running, or a minute from now while a run is still going."""
    return settles_at(evidence.checks) or now + RECHECK


def _verdict(rt: Runtime, incident: Incident, state: str, evidence: Evidence, now: datetime, by: str) -> dict[str, Any]:
    verdict = {"verdict": state, "checked_at": iso(now), "checks": evidence.checks, **evidence.keep}
    resolved_now = False
    if incident.state in TERMINAL:
        rt.incidents.mark(incident.id, verdict=verdict)
    elif state == "recovered":
        if incident.state != "verifying":
            rt.incidents.advance(incident.id, "verifying", by=by)
        resolved_now = rt.incidents.move(incident.id, "resolved", by=by, verdict=verdict)[1]
    else:
        rt.incidents.mark(incident.id, verdict=verdict)
    out: dict[str, Any] = {"incident_id": incident.id, **verdict}
    if state == "pending":  # when looking again can change the answer, so nobody polls blindly
        out["next_check_at"] = iso(_next_check(evidence, now))
    if state == "recovered" and incident.state not in TERMINAL:
        out["resolved_now"] = resolved_now
    if state == "not_recovered":
        out["next"] = f"escalate('{incident.id}', reason): do not retry blindly"
    return out
