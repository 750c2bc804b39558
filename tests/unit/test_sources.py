"""The source registry: each backend listed once, the autopilot polls what each environment enables, and an
incident reaches its source (for verification) by its stored `source` field, an unknown one refused clearly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.app import respond
from pipeline_sre.errors import InvalidInput
from pipeline_sre.lifecycle import verify
from pipeline_sre.lifecycle.plans import Plan
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources import registry
from pipeline_sre.lifecycle.sources.airflow.source import AIRFLOW
from pipeline_sre.lifecycle.sources.alerts.source import ALERTS
from pipeline_sre.lifecycle.sources.base import Detected, Failure, Opening
from pipeline_sre.lifecycle.sources.databricks.source import DATABRICKS
from pipeline_sre.lifecycle.sources.signals.source import SIGNALS
from pipeline_sre.lifecycle.verify_rules import Evidence, check
from pipeline_sre.settings.autopilot import AutopilotConfig
from pipeline_sre.settings.config import EnvironmentConfig, VerifyConfig, parse_settings
from pipeline_sre.store.incidents import Incident

pytestmark = pytest.mark.anyio


class FakeSource:
    """A source that records what the flow asks of it."""

    watched = False

    def __init__(self, name: str, *, enabled: bool) -> None:
        self.name = name
        self.on = enabled
        self.polled: list[str] = []
        self.verified: list[str] = []

    def enabled(self, env: EnvironmentConfig, options: AutopilotConfig) -> bool:
        return self.on

    async def detect(self, rt: Runtime, env: str, since: datetime) -> Detected[Failure]:
        self.polled.append(env)
        return Detected()

    async def diagnose(self, rt: Runtime, failure: Failure) -> None:
        return None

    async def plan(self, rt: Runtime, failure: Failure, diagnosis: None) -> Plan | None:
        return None

    def evidence(self, rt: Runtime, failure: Failure, diagnosis: None) -> Opening | None:
        return None

    async def verify(self, rt: Runtime, incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
        self.verified.append(incident.id)
        return Evidence([check("fake_recovered", True, "the fake says so")])


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    airflow = {"airflow": {"url": "http://127.0.0.1:9"}}
    yield Runtime(parse_settings({"environments": {"prod": airflow, "staging": airflow}}, "test"))


def _incident(rt: Runtime, source: str) -> Incident:
    incident, _ = rt.incidents.open_or_join(
        environment="prod",
        source=source,
        subject="orders",
        signature="sig",
        category="unknown",
        severity="SEV3",
        title="a failure",
        run_id=None,
        task_id=None,
        facts={},
    )
    return incident


def test_the_registry_lists_each_source_once() -> None:
    assert registry.SOURCES == (AIRFLOW, DATABRICKS, SIGNALS, ALERTS)
    names = [source.name for source in registry.SOURCES]
    assert len(set(names)) == len(names) == len({id(source) for source in registry.SOURCES})


def test_stored_source_strings_resolve_to_their_source() -> None:
    assert registry.source_of("airflow") is AIRFLOW
    assert registry.source_of("databricks") is DATABRICKS
    assert registry.source_of("signal:kinesis_iterator_age_cloudwatch") is SIGNALS
    assert registry.source_of("metric") is ALERTS  # Alertmanager incidents keep their stored name


def test_an_unknown_source_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as refused:
        registry.source_of("nagios")
    assert "'nagios'" in refused.value.message
    assert all(name in refused.value.message for name in ("airflow", "databricks", "signal", "metric"))


async def test_a_cycle_polls_each_enabled_source_once_per_environment(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    on, off = FakeSource("on", enabled=True), FakeSource("off", enabled=False)
    monkeypatch.setattr(respond, "SOURCES", (on, off))
    report = await respond.detect_and_handle(rt, 60)
    assert report.errors == [] and report.detected == 0
    assert sorted(on.polled) == ["prod", "staging"] and off.polled == []
    assert [s.name for s in respond.polled_sources(rt, "prod")] == ["on"]


async def test_verification_asks_the_incidents_source(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSource("fake", enabled=True)
    monkeypatch.setattr(registry, "SOURCES", (*registry.SOURCES, fake))
    incident = _incident(rt, "fake:qualified")
    verdict: dict[str, Any] = await verify.check_recovery(rt, incident.id)
    assert fake.verified == [incident.id]
    assert verdict["verdict"] == "recovered" and [c["rule"] for c in verdict["checks"]] == ["fake_recovered"]


async def test_verifying_an_incident_of_an_unknown_source_is_a_clear_error(rt: Runtime) -> None:
    incident = _incident(rt, "nagios")
    with pytest.raises(InvalidInput) as refused:
        await verify.check_recovery(rt, incident.id)
    assert "the sources are: airflow, databricks, signal, metric" in refused.value.message
    assert rt.incidents.get(incident.id).state == incident.state  # nothing was recorded
