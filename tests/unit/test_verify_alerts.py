"""Recovery of Alertmanager (`metric`) incidents: resolved by Alertmanager, then quiet for quiet_minutes;
still firing after timeout_minutes from detection is not_recovered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.app import respond
from pipeline_sre.lifecycle import verify
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.models import iso
from pipeline_sre.settings.config import parse_settings
from pipeline_sre.store.incidents import utcnow


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    config = {
        "environments": {"prod": {"airflow": {"url": "http://127.0.0.1:9"}}},
        "data_dir": str(tmp_path),
        "incidents": {"verify": {"quiet_minutes": 30, "timeout_minutes": 120}},
    }
    yield Runtime(parse_settings(config, "test"))


def alert_incident(rt: Runtime, **facts: Any) -> str:
    incident, _ = rt.incidents.open_or_join(
        environment="prod",
        source="metric",
        subject="orders_daily",
        signature="am:1",
        category="metric_alert",
        severity="SEV2",
        title="DagFreshness: orders_daily is stale",
        run_id=None,
        task_id=None,
        facts={"alert_status": "firing", **facts},
    )
    return incident.id


def rules(verdict: dict[str, Any]) -> dict[str, bool | None]:
    return {c["rule"]: c["ok"] for c in verdict["checks"]}


@pytest.mark.anyio
async def test_resolved_alert_recovers_after_the_quiet_period(rt: Runtime) -> None:
    incident_id = alert_incident(rt)
    firing = await verify.check_recovery(rt, incident_id)
    assert firing["verdict"] == "pending" and rules(firing) == {"alert_resolved": None}

    resolved_at = utcnow()
    incident = rt.incidents.get(incident_id)
    rt.incidents.mark(
        incident_id, facts={**incident.facts, "alert_status": "resolved", "alert_resolved_at": iso(resolved_at)}
    )
    quiet = await verify.check_recovery(rt, incident_id)
    assert quiet["verdict"] == "pending" and rules(quiet) == {"alert_resolved": True, "stays_clear": None}

    rt.incidents.clock = lambda: resolved_at + timedelta(minutes=31)
    done = await verify.check_recovery(rt, incident_id)
    assert done["verdict"] == "recovered", done
    assert rt.incidents.get(incident_id).state == "resolved"


@pytest.mark.anyio
async def test_alert_still_firing_after_the_timeout_is_not_recovered(rt: Runtime) -> None:
    incident_id = alert_incident(rt)
    rt.incidents.clock = lambda: utcnow() + timedelta(minutes=121)
    verdict = await verify.check_recovery(rt, incident_id)
    assert verdict["verdict"] == "not_recovered"
    assert rules(verdict) == {"alert_resolved": None, "timeout": False}
    assert "after detection" in str(verdict["checks"]) and verdict["next"].startswith("escalate(")


@pytest.mark.anyio
async def test_the_autopilot_verifies_alert_incidents_nobody_acted_on(rt: Runtime) -> None:
    resolved_at = utcnow()
    incident_id = alert_incident(rt, alert_status="resolved", alert_resolved_at=iso(resolved_at))
    rt.incidents.clock = lambda: resolved_at + timedelta(minutes=31)
    report = await respond.advance_open_incidents(rt)
    assert report.resolved == [incident_id] and rt.incidents.get(incident_id).state == "resolved"
