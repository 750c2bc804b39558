"""The autopilot's signal pass against the real Prometheus of `prometheus_plugin`: a cycle opens one incident
per firing signal (notified with the runbook's suggestions, no write proposed), later cycles join it, and the
verification every cycle resolves it once the condition has cleared for the quiet period, or escalates it at
the timeout without opening it again while it persists."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.app.operating_metrics import OperatingMetrics, StoreMetrics
from pipeline_sre.app.respond import CycleReport
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.backends import default_detectors
from pipeline_sre.settings.config import Settings, parse_settings
from pipeline_sre.store.incidents import Incident, utcnow
from pipeline_sre.surfaces.autopilot.watch import Autopilot
from tests.fakes.airflow_api import FakeAirflow, HostRouter
from tests.integration.prometheus_plugin import PrometheusInfo, poll_until, prometheus  # noqa: F401
from tests.unit.test_verify_databricks import Recorder

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
DATASET = "payments_autopilot"


def settings_for(url: str, **autopilot: Any) -> Settings:
    freshness = next(d for d in default_detectors() if d.kind == "data_freshness")
    airflow = {"url": "http://metrics.airflow.test", "username_env": "PSRE_T_USER", "password_env": "PSRE_T_PASS"}
    return parse_settings(
        {
            "environments": {
                "metrics": {"airflow": airflow, "prometheus": {"url": url, "detectors": [freshness.model_dump()]}}
            },
            "incidents": {"verify": {"quiet_minutes": 30, "timeout_minutes": 120}},
            "autopilot": autopilot,
        },
        "test",
    )


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)


async def start(settings: Settings) -> tuple[Runtime, Autopilot]:
    """A runtime whose Airflow is an empty in-process fake: the signal pass is what is under test."""
    rt = Runtime(settings, transport=HostRouter({"metrics.airflow.test": FakeAirflow("3").transport()}))
    rt.notifier = Recorder()
    return rt, Autopilot(rt, metrics=OperatingMetrics())


@pytest.fixture
async def pilot(prometheus: PrometheusInfo) -> AsyncIterator[Autopilot]:  # noqa: F811
    rt, autopilot = await start(settings_for(prometheus.url))
    yield autopilot
    prometheus.exporter.last_success.pop(DATASET, None)  # the series goes stale: other tests never see it
    await autopilot.aclose()
    await rt.aclose()


def notified(rt: Runtime, incident_id: str) -> list[tuple[str, dict[str, Any]]]:
    assert isinstance(rt.notifier, Recorder)
    return [(e, p) for e, p in rt.notifier.events if p["id"] == incident_id]


def of(rt: Runtime, subject: str) -> list[Incident]:
    return [i for i in rt.incidents.list(limit=100) if i.subject == subject]


async def cycle_until(pilot: Autopilot, done: Callable[[CycleReport], object]) -> CycleReport:
    """Autopilot cycles until `done(report)` holds (the detector sees a change after the next scrapes)."""

    async def cycle() -> CycleReport:
        report = await pilot.cycle()
        assert report.errors == [], report
        return report

    return await poll_until(cycle, done, "the autopilot cycle never got there")


async def test_a_signal_opens_one_incident_then_resolves_once_clear(
    pilot: Autopilot,
    prometheus: PrometheusInfo,  # noqa: F811
) -> None:
    rt = pilot.rt
    prometheus.exporter.last_success[DATASET] = time.time() - 3 * 3600
    subject = f"dataset={DATASET}"
    first = await cycle_until(pilot, lambda r: any(rt.incidents.get(i).subject == subject for i in r.new_incidents))
    [incident] = of(rt, subject)
    assert incident.source == "signal:data_freshness" and incident.category == "upstream_missing"
    assert incident.runbook_id == "upstream_missing" and incident.action_id is None
    assert first.proposed == [] and rt.governance.list_pending() == []  # suggestions only, no write
    [(event, payload)] = notified(rt, incident.id)
    assert event == "incident_opened" and payload["signal"]["subject"] == subject
    plan = payload["plan"]
    assert plan["kind"] == "data_freshness" and plan["runbook_id"] == "upstream_missing" and plan["plan"]
    assert any("producing DAG" in c for c in plan["commands"]) and "rollout_config" in plan["note"]
    assert StoreMetrics(rt).registry.get_sample_value(
        "pipeline_sre_incidents_opened", {"category": "upstream_missing", "environment": "metrics"}
    ) == len([i for i in rt.incidents.list(limit=100) if i.category == "upstream_missing"])

    second = await pilot.cycle()
    assert second.new_incidents == [] and second.joined >= 1 and second.errors == [], second
    [same] = of(rt, subject)
    assert same.id == incident.id and same.occurrences == 2 and same.state == "detected"
    assert same.verdict is not None and same.verdict["verdict"] == "pending"  # verified every cycle

    prometheus.exporter.last_success[DATASET] = time.time()  # the load succeeded
    await cycle_until(pilot, lambda r: (rt.incidents.get(incident.id).verdict or {}).get("clear_since"))
    assert rt.incidents.get(incident.id).state == "detected"  # clear, but not yet for the quiet period

    rt.incidents.clock = lambda: utcnow() + timedelta(minutes=31)
    done = await pilot.cycle()
    assert done.resolved == [incident.id] and done.errors == [], done
    resolved = rt.incidents.get(incident.id)
    assert resolved.state == "resolved" and resolved.postmortem_path in done.postmortems
    assert [e for e, _ in notified(rt, incident.id)] == ["incident_opened", "resolved"]
    assert of(rt, subject) == [resolved]  # the cleared signal opens nothing new


async def test_a_signal_still_firing_at_the_timeout_is_escalated_once(pilot: Autopilot) -> None:
    rt = pilot.rt
    subject = "dataset=ledger"  # three hours stale for as long as the exporter runs
    await cycle_until(pilot, lambda r: any(rt.incidents.get(i).subject == subject for i in r.new_incidents))
    [incident] = of(rt, subject)

    rt.incidents.clock = lambda: utcnow() + timedelta(minutes=121)
    report = await pilot.cycle()
    assert report.escalated == [incident.id] and report.errors == [], report
    escalated = rt.incidents.get(incident.id)
    assert escalated.escalation_reason == "not recovered and no action was taken: still pending 120 min after detection"
    assert [e for e, _ in notified(rt, incident.id)] == ["incident_opened", "escalated"]

    again = await pilot.cycle()  # still firing: the human already has it, nothing opens or pages again
    assert again.new_incidents == [] and again.escalated == [] and of(rt, subject) == [escalated]

    rt.incidents.advance(incident.id, "closed")  # once the human closes it, a persisting condition is news again
    reopened = await pilot.cycle()
    assert len(reopened.new_incidents) == 1 and len(of(rt, subject)) == 2


async def test_the_signal_pass_can_be_switched_off(prometheus: PrometheusInfo) -> None:  # noqa: F811
    rt, pilot = await start(settings_for(prometheus.url, signals=False))
    try:
        report = await pilot.cycle()
        assert report.new_incidents == [] and report.detected == 0 and report.errors == []
        assert rt.incidents.list() == []
    finally:
        await pilot.aclose()
        await rt.aclose()
