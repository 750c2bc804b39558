"""check_recovery for signal incidents against the real Prometheus of `prometheus_plugin`: the data freshness
detector re-evaluated for the incident's dataset, clearing once the exporter reports a fresh load, and the
autopilot resolving or escalating what it finds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.app import respond
from pipeline_sre.lifecycle import postmortem, verify
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources import base as sources_base
from pipeline_sre.lifecycle.sources.signals import detectors
from pipeline_sre.settings.backends import default_detectors
from pipeline_sre.settings.config import parse_settings
from pipeline_sre.store.incidents import utcnow
from tests.integration.prometheus_plugin import PrometheusInfo, poll_until, prometheus  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
DATASET = "invoices_verify"


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        self.events.append((event, payload["id"]))


def notified(rt: Runtime) -> list[tuple[str, str]]:
    assert isinstance(rt.notifier, Recorder)
    return rt.notifier.events


@pytest.fixture
async def rt(
    prometheus: PrometheusInfo,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Runtime]:
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    freshness = next(d for d in default_detectors() if d.kind == "data_freshness")
    settings = parse_settings(
        {
            "environments": {
                "metrics": {
                    "airflow": {"url": "http://127.0.0.1:9"},
                    "prometheus": {"url": prometheus.url, "detectors": [freshness.model_dump()]},
                }
            },
            "incidents": {"verify": {"quiet_minutes": 30, "timeout_minutes": 120}},
        },
        "test",
    )
    runtime = Runtime(settings)
    runtime.notifier = Recorder()
    yield runtime
    prometheus.exporter.last_success.pop(DATASET, None)  # the series goes stale: other tests never see it
    await runtime.aclose()


async def open_incident(rt: Runtime, subject: str) -> str:
    """Wait for the detector to fire for `subject` and open its incident, as detection does."""

    async def firing() -> list[detectors.Signal]:
        signals, errors, _ = await detectors.signals_for(rt, "metrics")
        assert errors == []
        return [s for s in signals if s.subject == subject]

    found = await poll_until(firing, bool, f"no signal for {subject}")
    opened, _ = await asyncio.to_thread(
        sources_base.open_incident, rt, detectors.opening(found[0], {}), by="system:detect"
    )
    return opened.id


async def verdict_when(rt: Runtime, incident_id: str, cleared: bool | None) -> dict[str, Any]:
    """check_recovery until the condition_cleared check is `cleared` (after the next scrapes)."""
    return await poll_until(
        lambda: verify.check_recovery(rt, incident_id),
        lambda verdict: verdict["checks"][0]["ok"] is cleared,
        f"condition_cleared never became {cleared}",
    )


async def test_signal_recovers_once_clear_for_the_quiet_period(
    rt: Runtime,
    prometheus: PrometheusInfo,  # noqa: F811
) -> None:
    exporter = prometheus.exporter
    exporter.last_success[DATASET] = time.time() - 3 * 3600
    incident_id = await open_incident(rt, f"dataset={DATASET}")
    incident = rt.incidents.get(incident_id)
    assert incident.source == "signal:data_freshness" and incident.action_id is None

    stale = await verify.check_recovery(rt, incident_id)
    assert stale["verdict"] == "pending" and stale["checks"][0]["rule"] == "condition_cleared"
    assert stale["checks"][0]["detail"].startswith("still firing: seconds since last success = ")
    assert "clear_since" not in stale

    exporter.last_success[DATASET] = time.time()  # the load succeeded
    clear = await verdict_when(rt, incident_id, True)
    assert clear["verdict"] == "pending" and clear["clear_since"]
    assert [c["rule"] for c in clear["checks"]] == ["condition_cleared", "stays_clear"]
    assert "data_freshness no longer fires for dataset=invoices_verify" in clear["checks"][0]["detail"]
    stays = clear["checks"][1]
    assert {k: stays[k] for k in ("rule", "ok", "detail")} == {
        "rule": "stays_clear",
        "ok": None,
        "detail": "quiet period: 30 min left",
    }
    assert stays["until"] == clear["next_check_at"].replace("Z", "+00:00")  # when looking again can change it
    still = await verify.check_recovery(rt, incident_id)
    assert still["clear_since"] == clear["clear_since"]  # measured from the first clear evaluation

    exporter.last_success[DATASET] = time.time() - 3 * 3600  # stale again: the clear time starts over
    again = await verdict_when(rt, incident_id, None)
    assert again["verdict"] == "pending" and "clear_since" not in again
    exporter.last_success[DATASET] = time.time()
    await verdict_when(rt, incident_id, True)

    rt.incidents.clock = lambda: utcnow() + timedelta(minutes=31)
    report = await respond.advance_open_incidents(rt)
    assert report.resolved == [incident_id] and report.errors == [], report
    resolved = rt.incidents.get(incident_id)
    assert resolved.state == "resolved" and resolved.verdict is not None
    assert resolved.verdict["checks"][1]["detail"] == "no data_freshness signal for 30 min after recovery"
    assert ("resolved", incident_id) in notified(rt)
    timeline = await postmortem.build_timeline(rt, incident_id)
    assert "verification: recovered" in [e["what"] for e in timeline["events"]]


async def test_signal_still_firing_at_the_timeout_is_escalated(rt: Runtime) -> None:
    incident_id = await open_incident(rt, "dataset=ledger")
    rt.incidents.clock = lambda: utcnow() + timedelta(minutes=119)
    assert (await respond.advance_open_incidents(rt)).escalated == []
    assert (await verify.check_recovery(rt, incident_id))["verdict"] == "pending"

    rt.incidents.clock = lambda: utcnow() + timedelta(minutes=121)
    report = await respond.advance_open_incidents(rt)
    assert report.escalated == [incident_id] and report.errors == [], report
    incident = rt.incidents.get(incident_id)
    assert incident.state == "escalated" and incident.verdict is not None
    assert incident.verdict["checks"][-1] == {
        "rule": "timeout",
        "ok": False,
        "detail": "still pending 120 min after detection",
    }
    assert incident.escalation_reason == (
        "not recovered and no action was taken: still pending 120 min after detection"
    )
    assert ("escalated", incident_id) in notified(rt)
    assert (
        incident.postmortem_path is not None
        and "verification: not_recovered" in Path(incident.postmortem_path).read_text()
    )


async def test_a_detector_no_longer_configured_cannot_prove_recovery(rt: Runtime) -> None:
    incident, _ = rt.incidents.open_or_join(
        environment="metrics",
        source="signal:retired_detector",
        subject="dataset=orders",
        signature="data_freshness:dataset=orders",
        category="upstream_missing",
        severity="SEV3",
        title="an old signal",
        run_id=None,
        task_id=None,
        facts={},
    )
    verdict = await verify.check_recovery(rt, incident.id)
    assert verdict["verdict"] == "pending"
    assert "detector 'retired_detector' is no longer configured" in verdict["checks"][0]["detail"]
