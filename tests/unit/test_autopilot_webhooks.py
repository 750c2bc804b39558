"""The autopilot's intake and cycle against an in-process fake Airflow: auth, bad input, dedup, Alertmanager."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pipeline_sre.app.operating_metrics import OperatingMetrics, StoreMetrics
from pipeline_sre.errors import ConfigError, InvalidInput
from pipeline_sre.lifecycle import verify
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.alerts.source import alert_signature
from pipeline_sre.settings.config import Settings, parse_settings
from pipeline_sre.surfaces.autopilot.watch import (
    MAX_BODY_BYTES,
    Autopilot,
    build_app,
    run_watch,
    webhook_token,
)
from tests.fakes.airflow_api import FakeAirflow, FakeDag, HostRouter

pytestmark = pytest.mark.anyio

TOKEN = "unit-webhook-token-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}
NOW = datetime.now(UTC)
DAG = "orders_daily"
TASKS = [("extract_orders", "PythonOperator"), ("load_orders", "PythonOperator")]
NETWORK_ERROR = [
    "Starting attempt 2 of 2",
    "Traceback (most recent call last):",
    '  File "/opt/airflow/dags/orders.py", line 12, in extract_orders',
    "    fetch(partner_url)",
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.partner.example', port=443): "
    "Max retries exceeded with url: /orders (Caused by NewConnectionError('Failed to establish a new connection'))",
    "Marking task as FAILED.",
]
CODE_BUG = [
    "Traceback (most recent call last):",
    '  File "/opt/airflow/dags/billing.py", line 40, in transform',
    "    total = row['amount'] / row['count']",
    "ZeroDivisionError: division by zero",
]


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")
    monkeypatch.setenv("PSRE_T_WEBHOOK", TOKEN)


def settings_for(tmp: Path, envs: dict[str, str], **extra: Any) -> Settings:
    airflow = {"username_env": "PSRE_T_USER", "password_env": "PSRE_T_PASS", "max_retries": 0}
    data: dict[str, Any] = {
        "environments": {name: {"airflow": {"url": url, **airflow}} for name, url in envs.items()},
        "data_dir": str(tmp / "data"),
        "autopilot": {"webhook_token_env": "PSRE_T_WEBHOOK", "window_minutes": 60},
        "governance": {
            "mode": "dry_run",
            "approvers": ["alice"],
            "environments": {name: {"allow_dags": ["*"], "max_actions_per_dag_per_hour": 100} for name in envs},
        },
        **extra,
    }
    return parse_settings(data, "test")


def add_failed_run(fake: FakeAirflow, run_id: str, lines: list[str], dag_id: str = DAG, minutes_ago: int = 5) -> None:
    fake.add_run(dag_id, run_id, "failed", end=NOW - timedelta(minutes=minutes_ago), first_failed_task=0)
    for try_number in (1, 2):
        fake.set_log(dag_id, run_id, TASKS[0][0], try_number, lines)


def small_fake() -> FakeAirflow:
    fake = FakeAirflow("3")
    fake.add_dag(FakeDag(DAG, ["tier:2", "team:commerce"], "commerce", 3600, TASKS, max_tries=1))
    fake.add_dag(FakeDag("billing_daily", ["tier:3"], "billing", 3600, TASKS, max_tries=1))
    fake.add_run(DAG, "scheduled__2026-01-01T00:00:00+00:00", "success", end=NOW - timedelta(hours=30))
    add_failed_run(fake, "manual__flood", NETWORK_ERROR)
    return fake


@dataclass
class Harness:
    rt: Runtime
    fake: FakeAirflow
    pilot: Autopilot
    client: httpx.AsyncClient
    metrics: OperatingMetrics


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    fake = small_fake()
    rt = Runtime(
        settings_for(tmp_path, {"prod": "http://prod.airflow.test"}),
        transport=HostRouter({"prod.airflow.test": fake.transport()}),
    )
    metrics = OperatingMetrics()
    pilot = Autopilot(rt, metrics=metrics)
    app = build_app(pilot, TOKEN)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://autopilot.test")
    yield Harness(rt, fake, pilot, client, metrics)
    await client.aclose()
    await pilot.aclose()
    await rt.aclose()


def metric(metrics: OperatingMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def stored(rt: Runtime, name: str, **labels: str) -> float:
    """A figure from the store as a scrape of /metrics shows it now (a new collector: nothing cached)."""
    return StoreMetrics(rt).registry.get_sample_value(name, labels) or 0.0


def push(run_id: str = "manual__flood", **over: Any) -> dict[str, Any]:
    return {"environment": "prod", "dag_id": DAG, "run_id": run_id, "task_id": "extract_orders", **over}


# -- auth ---------------------------------------------------------------------------------------------


async def test_requests_without_a_valid_token_are_refused_and_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "pipeline_sre.autopilot")
    c = harness.client
    none = await c.post("/hooks/airflow", json=push())
    wrong = await c.post("/hooks/airflow", json=push(), headers={"authorization": "Bearer not-the-token-at-all"})
    basic = await c.post("/hooks/alertmanager", json={"alerts": []}, headers={"authorization": f"Basic {TOKEN}"})
    scrape = await c.get("/metrics")
    assert [r.status_code for r in (none, wrong, basic, scrape)] == [401, 401, 401, 401]
    assert none.json()["error"] == "unauthorized" and none.headers["www-authenticate"] == "Bearer"
    assert harness.pilot.pushes["queued"] == 0
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused 401")]
    assert len(refusals) == 4 and all(TOKEN not in m for m in refusals)
    assert "POST /hooks/airflow" in refusals[0]
    # liveness needs no token and says nothing sensitive
    health = await c.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    scraped = await c.get("/metrics", headers=AUTH)
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    assert 'pipeline_sre_webhook_requests_total{hook="airflow",status="401"} 2.0' in scraped.text


def test_bind_rules_follow_serve() -> None:
    settings = parse_settings(
        {"environments": {"prod": {"airflow": {"url": "http://x"}}}, "autopilot": {"webhook_token_env": "NOPE_X"}},
        "test",
    )
    os.environ.pop("NOPE_X", None)
    with pytest.raises(ConfigError, match="NOPE_X"):
        webhook_token(settings, "127.0.0.1", insecure_local=False)
    assert webhook_token(settings, "127.0.0.1", insecure_local=True) is None
    with pytest.raises(ConfigError, match="loopback"):
        webhook_token(settings, "0.0.0.0", insecure_local=True)
    os.environ["NOPE_X"] = "short"
    try:
        with pytest.raises(ConfigError, match="too short"):
            webhook_token(settings, "0.0.0.0", insecure_local=False)
    finally:
        os.environ.pop("NOPE_X")
    with pytest.raises(InvalidInput, match="--once"):
        run_watch(settings, once=True, http="127.0.0.1:9")


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "error", "says"),
    [
        (b"{not json", 400, "malformed_json", "not valid JSON"),
        (b"", 400, "malformed_json", "empty"),
        (b'{"a": "\xc3\x28"}', 400, "malformed_json", "UTF-8"),
        (b"[1, 2]", 400, "invalid_payload", "JSON object"),
        (json.dumps({"environment": "prod"}).encode(), 400, "missing_fields", "dag_id, run_id"),
        (json.dumps({**push(), "run_id": ""}).encode(), 400, "missing_fields", "run_id"),
        (json.dumps({**push(), "dag_id": 7}).encode(), 400, "invalid_fields", "dag_id"),
        (json.dumps({**push(), "run_id": "x" * 300}).encode(), 400, "invalid_fields", "250"),
        (json.dumps(push(environment="staging")).encode(), 404, "unknown_environment", "valid environments: prod"),
    ],
)
async def test_bad_airflow_pushes_say_what_is_wrong(
    harness: Harness, caplog: pytest.LogCaptureFixture, body: bytes, status: int, error: str, says: str
) -> None:
    caplog.set_level(logging.WARNING, "pipeline_sre.autopilot")
    response = await harness.client.post("/hooks/airflow", content=body, headers=AUTH)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error and says in response.json()["message"]
    assert any(
        f"refused {status} POST /hooks/airflow" in r.getMessage() and error in r.getMessage() for r in caplog.records
    )
    assert harness.pilot.pushes["queued"] == 0


async def test_bodies_over_256_kb_are_refused(harness: Harness) -> None:
    big = json.dumps({**push(), "padding": "x" * MAX_BODY_BYTES}).encode()
    declared = await harness.client.post("/hooks/airflow", content=big, headers=AUTH)
    assert declared.status_code == 413 and declared.json()["error"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no content-length: the limit holds while streaming
        for i in range(0, len(big), 64 * 1024):
            yield big[i : i + 64 * 1024]

    streamed = await harness.client.post("/hooks/alertmanager", content=chunks(), headers=AUTH)
    assert streamed.status_code == 413
    assert harness.pilot.pushes["queued"] == 0


async def test_a_state_that_is_not_a_failure_is_ignored(harness: Harness) -> None:
    response = await harness.client.post("/hooks/airflow", json=push(state="success"), headers=AUTH)
    assert response.status_code == 202 and response.json()["status"] == "ignored"
    assert harness.pilot.pushes["queued"] == 0


# -- dedup --------------------------------------------------------------------------------------------


async def test_a_flood_of_1000_identical_failures_opens_one_incident(harness: Harness) -> None:
    statuses: list[int] = []
    for batch in range(10):
        responses = await asyncio.gather(
            *(harness.client.post("/hooks/airflow", json=push(), headers=AUTH) for _ in range(100))
        )
        statuses += [r.status_code for r in responses]
        if batch == 4:  # half-way, let the worker finish: later pushes meet the run claim, not the queue
            assert await harness.pilot.drain(30)
    assert statuses == [202] * 1000
    assert await harness.pilot.drain(30)
    incidents = harness.rt.incidents.list(limit=100)
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident.subject == DAG and incident.category == "transient_network"
    assert incident.state == "awaiting_approval" and incident.action_id
    assert harness.pilot.pushes["handled"] + harness.pilot.pushes["duplicate"] == 1000
    assert harness.pilot.pushes["duplicate"] >= 900  # most never reached the store
    # the run was triaged once: one run summary read, however many pushes
    assert harness.fake.count("GET /dags/{dag_id}/dagRuns/{run_id}") <= 3
    assert stored(harness.rt, "pipeline_sre_incidents_opened", category="transient_network", environment="prod") == 1
    assert stored(harness.rt, "pipeline_sre_incidents_handling", handling="plan_only", environment="prod") == 1
    # a poll cycle afterwards finds the same run already claimed
    report = await harness.pilot.cycle()
    assert report.detected == 0 and report.new_incidents == [] and not report.errors
    assert len(harness.rt.incidents.list(limit=100)) == 1


async def test_distinct_runs_with_the_same_failure_join_one_incident(harness: Harness) -> None:
    for i in range(20):
        add_failed_run(harness.fake, f"manual__again_{i:02d}", NETWORK_ERROR, minutes_ago=4)
    for i in range(20):
        r = await harness.client.post("/hooks/airflow", json=push(f"manual__again_{i:02d}"), headers=AUTH)
        assert r.status_code == 202 and r.json()["status"] == "queued"
    assert await harness.pilot.drain(60)
    [incident] = harness.rt.incidents.list(limit=100)
    assert incident.occurrences == 20
    assert stored(harness.rt, "pipeline_sre_incidents_opened", category="transient_network", environment="prod") == 1


# -- Alertmanager -------------------------------------------------------------------------------------


def alert(name: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "severity": "critical", **labels},
        "annotations": {"summary": f"{name} is firing", "description": "freshness over 2h"},
        "startsAt": (NOW - timedelta(minutes=3)).isoformat(),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": "abc123",
    }


def am_body(*alerts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "status": "firing",
        "receiver": "pipeline-sre",
        "alerts": list(alerts),
        "commonLabels": {},
        **extra,
    }


async def test_alertmanager_firing_opens_then_joins_then_resolved_is_noted(harness: Harness) -> None:
    c = harness.client
    first = await c.post(
        "/hooks/alertmanager",
        json=am_body(alert("DagFreshness", dag_id=DAG, environment="prod"), alert("DiskFull", instance="db-1")),
        headers=AUTH,
    )
    assert first.status_code == 200, first.text
    assert len(first.json()["opened"]) == 2 and first.json()["joined"] == 0
    again = await c.post(
        "/hooks/alertmanager", json=am_body(alert("DagFreshness", environment="prod", dag_id=DAG)), headers=AUTH
    )
    assert again.json() == {"opened": [], "joined": 1, "resolved_noted": 0, "resolved_unmatched": 0}
    incidents = {i.subject: i for i in harness.rt.incidents.list(limit=10)}
    freshness = incidents[DAG]
    assert freshness.source == "metric" and freshness.severity == "SEV2" and freshness.occurrences == 2
    assert freshness.category == "metric_alert" and freshness.title == "DagFreshness: DagFreshness is firing"
    assert freshness.signature == alert_signature(
        {"alertname": "DagFreshness", "severity": "critical", "dag_id": DAG, "environment": "prod"}
    )
    assert incidents["DiskFull"].environment == "prod"  # the only environment, though no label names it

    done = await c.post(
        "/hooks/alertmanager",
        json=am_body(alert("DagFreshness", "resolved", dag_id=DAG, environment="prod")),
        headers=AUTH,
    )
    assert done.json()["resolved_noted"] == 1
    assert harness.rt.incidents.get(freshness.id).facts["alert_status"] == "resolved"
    # the verify step of the next cycle sees it resolved; the quiet period then runs
    verdict = await verify.check_recovery(harness.rt, freshness.id)
    assert [c["rule"] for c in verdict["checks"]] == ["alert_resolved", "stays_clear"]
    refired = await c.post(
        "/hooks/alertmanager", json=am_body(alert("DagFreshness", environment="prod", dag_id=DAG)), headers=AUTH
    )
    assert refired.json()["joined"] == 1
    assert harness.rt.incidents.get(freshness.id).facts["alert_status"] == "firing"  # no longer resolved
    stray = await c.post("/hooks/alertmanager", json=am_body(alert("Other", "resolved")), headers=AUTH)
    assert stray.json()["resolved_unmatched"] == 1
    assert stored(harness.rt, "pipeline_sre_incidents_opened", category="metric_alert", environment="prod") == 2


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"version": "4"}, 400, "alerts"),
        ({"version": "3", "alerts": []}, 400, "version"),
        (am_body({"status": "firing", "labels": {}}), 400, "alertname"),
        (am_body({"status": "pending", "labels": {"alertname": "A"}}), 400, "status"),
        (am_body({"status": "firing", "labels": {"alertname": "A", "n": 1}}), 400, "labels"),
        (am_body(alert("A", environment="staging")), 404, "valid environments: prod"),
    ],
)
async def test_bad_alertmanager_payloads_are_refused(harness: Harness, body: Any, status: int, says: str) -> None:
    response = await harness.client.post("/hooks/alertmanager", json=body, headers=AUTH)
    assert response.status_code == status and says in response.json()["message"], response.text
    assert harness.rt.incidents.list() == []


# -- cycles -------------------------------------------------------------------------------------------


async def test_one_unreachable_environment_does_not_stop_the_cycle(tmp_path: Path) -> None:
    fake = small_fake()
    add_failed_run(fake, "manual__bug", CODE_BUG, dag_id="billing_daily")
    settings = settings_for(tmp_path, {"prod": "http://prod.airflow.test", "down": "http://down.airflow.test"})
    rt = Runtime(settings, transport=HostRouter({"prod.airflow.test": fake.transport()}))
    metrics = OperatingMetrics()
    pilot = Autopilot(rt, metrics=metrics)
    try:
        report = await pilot.cycle()
        assert any(e.startswith("down:") for e in report.errors), report.errors
        assert len(report.new_incidents) == 2 and report.detected == 2
        assert len(report.escalated) == 1 and len(report.proposed) == 1
        assert len(report.postmortems) == 1  # the escalated code bug gets its postmortem in the same cycle
        second = await pilot.cycle()
        assert second.new_incidents == [] and second.detected == 0
        # counted once, however many cycles see them
        assert stored(rt, "pipeline_sre_incidents_opened", category="transient_network", environment="prod") == 1
        assert stored(rt, "pipeline_sre_incidents_outcome", outcome="escalated", environment="prod") == 1
        assert metric(metrics, "pipeline_sre_autopilot_cycles_total", result="errors") == 2
    finally:
        await pilot.aclose()
        await rt.aclose()


async def test_shadow_mode_only_writes_plans(tmp_path: Path) -> None:
    fake = small_fake()
    rt = Runtime(
        settings_for(tmp_path, {"prod": "http://prod.airflow.test"}),
        transport=HostRouter({"prod.airflow.test": fake.transport()}),
    )
    metrics = OperatingMetrics()
    pilot = Autopilot(rt, shadow=True, metrics=metrics)
    try:
        report = await pilot.cycle()
        assert rt.incidents.list() == [] and report.new_incidents == [] and report.proposed == []
        assert [p["kind"] for p in report.shadow_plans] == ["clear_failed_tasks"] and report.postmortems == []
        assert rt.governance.list_pending() == []
        assert stored(rt, "pipeline_sre_shadow_plans", kind="clear_failed_tasks", environment="prod") == 1
        assert fake.cleared == [] and fake.triggered == []
        live = await Autopilot(rt, metrics=OperatingMetrics()).cycle()  # going live sees what shadow saw
        [incident] = rt.incidents.list()
        assert live.new_incidents == [incident.id] and len(live.proposed) == 1
        assert incident.state == "awaiting_approval" and incident.action_id == live.proposed[0]
    finally:
        await pilot.aclose()
        await rt.aclose()


# -- the real command ---------------------------------------------------------------------------------


@pytest.fixture
def served_fake() -> Iterator[tuple[FakeAirflow, str]]:
    fake = small_fake()
    with fake.serve() as url:
        yield fake, url


def test_watch_once_prints_the_cycle_report(
    served_fake: tuple[FakeAirflow, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = served_fake
    code = run_watch(settings_for(tmp_path, {"prod": url}), once=True)
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 0 and report["detected"] == 1 and len(report["proposed"]) == 1
    summary = json.loads(next(line for line in err.splitlines() if '"autopilot.cycle"' in line))
    assert summary["new_incidents"] == 1 and summary["errors"] == 0 and summary["cycle"] == 1


def test_watch_stops_cleanly_on_sigterm(served_fake: tuple[FakeAirflow, str], tmp_path: Path) -> None:
    _, url = served_fake
    settings = settings_for(tmp_path, {"prod": url})
    config = tmp_path / "pipeline-sre.yaml"
    config.write_text(yaml.safe_dump(json.loads(settings.model_dump_json(exclude_none=True))))
    env = {**os.environ, "PIPELINE_SRE_DATA_DIR": str(tmp_path / "data")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline_sre",
            "watch",
            "--interval",
            "1",
            "--config",
            str(config),
            "--http",
            f"127.0.0.1:{port}",
            "--insecure-local",
        ],
        env={k: v for k, v in env.items() if k != "PSRE_T_WEBHOOK"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        lines: list[str] = []
        while time.monotonic() < deadline and sum('"autopilot.cycle"' in line for line in lines) < 2:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
        assert sum('"autopilot.cycle"' in line for line in lines) >= 2, "".join(lines)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_each_cycle_is_a_heartbeat_on_metrics_and_in_the_store(tmp_path: Path) -> None:
    from pipeline_sre.app import operations

    fake = small_fake()
    rt = Runtime(
        settings_for(tmp_path, {"prod": "http://prod.airflow.test"}),
        transport=HostRouter({"prod.airflow.test": fake.transport()}),
    )
    metrics = OperatingMetrics()
    pilot = Autopilot(rt, metrics=metrics)
    try:
        await pilot.cycle()
        await pilot.cycle()
        [replica] = operations.replicas(rt)
        assert replica.instance_id == rt.governance.instance_id and replica.role == "watch" and replica.cycles == 2
        text = metrics.render().decode()
        assert f'pipeline_sre_replica_heartbeat_age_seconds{{instance="{replica.instance_id}",role="watch"}}' in text
    finally:
        await pilot.aclose()
        await rt.aclose()
