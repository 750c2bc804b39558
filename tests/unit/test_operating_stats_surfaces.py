"""The store's operating statistics on every surface: `/metrics` of `serve --http` and `watch --http` (the
same figures after a restart), the MCP tool, `pipeline-sre stats --json` and the console's dashboard."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.testclient import TestClient
from typer.testing import CliRunner

from pipeline_sre.app.operating_metrics import StoreMetrics
from pipeline_sre.errors import BackendUnavailable
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import Settings, load_settings
from pipeline_sre.store.incidents import IncidentStore
from pipeline_sre.store.users import UserStore
from pipeline_sre.surfaces.autopilot.watch import Autopilot, build_app
from pipeline_sre.surfaces.cli.app import app as cli
from pipeline_sre.surfaces.mcp.server import build_server
from pipeline_sre.surfaces.mcp.transport import http_app
from pipeline_sre.surfaces.web.app import console_app
from tests.unit.test_operating_stats import Clock, Seeded, open_incident, seed

TOKEN = "metrics-token-0123456789"
BASE = "https://testserver"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TRANSIENT = 'pipeline_sre_incidents_opened{category="transient_network",environment="prod"} 3.0'


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two environments sharing one SQLite store, seeded three days ago with known incidents and actions."""
    monkeypatch.delenv("PIPELINE_SRE_DATA_DIR", raising=False)
    monkeypatch.setenv("PIPELINE_SRE_CONSOLE_SECRET", "s" * 48)
    monkeypatch.setenv("PIPELINE_SRE_WEBHOOK_TOKEN", TOKEN)
    airflow = {"url": "http://127.0.0.1:9", "max_retries": 0, "timeout_seconds": 1}
    path = tmp_path / "pipeline-sre.yaml"
    body = {"environments": {"prod": {"airflow": airflow}, "staging": {"airflow": airflow}}, "data_dir": str(tmp_path)}
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    rt = Runtime(load_settings(path))
    clock = Clock(datetime.now(UTC) - timedelta(days=3))
    seeded = Seeded(
        rt.governance.db, clock, IncidentStore(rt.governance.db, dedup_window=timedelta(hours=1), clock=clock)
    )
    seed(seeded)
    open_incident(seeded, "etl_odd", "<b>odd</b>")  # text that must reach every page escaped
    rt.governance.close()
    return path


@pytest.fixture
def settings(config: Path) -> Settings:
    return load_settings(config)


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    yield rt
    rt.governance.close()


# -- /metrics ---------------------------------------------------------------------------------------------


async def scrape_watch(settings: Settings) -> str:
    rt = Runtime(settings)
    pilot = Autopilot(rt)
    transport = httpx.ASGITransport(app=build_app(pilot, TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://autopilot.test") as client:
        response = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    await pilot.aclose()
    await rt.aclose()
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.mark.anyio
async def test_watch_metrics_come_from_the_store_and_survive_a_restart(settings: Settings) -> None:
    first = await scrape_watch(settings)
    assert TRANSIENT in first
    assert 'pipeline_sre_incidents_outcome{environment="prod",outcome="resolved"} 3.0' in first
    assert 'pipeline_sre_incident_time_to_resolve_seconds{environment="prod",quantile="0.5"} 3600.0' in first
    assert 'pipeline_sre_fix_outcomes{environment="prod",kind="trigger_dag",outcome="not_resolved"} 1.0' in first
    assert 'pipeline_sre_fix_success_ratio{environment="prod"} 0.75' in first
    assert 'pipeline_sre_incidents_handling{environment="prod",handling="executed"} 4.0' in first
    assert 'pipeline_sre_approval_latency_seconds{environment="prod",quantile="0.5"} 240.0' in first
    assert 'pipeline_sre_incidents_opened{category="oom",environment="staging"} 1.0' in first
    assert "pipeline_sre_stats_up 1.0" in first and "pipeline_sre_stats_window_days 30.0" in first
    assert "pipeline_sre_webhook_requests_total" in first  # the process's own counters are still there
    for gone in (
        "pipeline_sre_incidents_opened_total",
        "pipeline_sre_actions_total",
        "pipeline_sre_fix_outcomes_total",
        "pipeline_sre_incidents_escalated_total",
    ):
        assert gone not in first
    restarted = await scrape_watch(settings)  # a new process: nothing counted in memory is needed
    store_lines = [line for line in first.splitlines() if "webhook_requests" not in line]
    assert store_lines == [line for line in restarted.splitlines() if "webhook_requests" not in line]


def test_serve_metrics_come_from_the_store(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.server.http_token_env, TOKEN)
    app = http_app(settings, "127.0.0.1", insecure_local=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/metrics").status_code == 401
        scraped = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200 and TRANSIENT in scraped.text
    assert 'pipeline_sre_fix_success_ratio{environment="prod"} 0.75' in scraped.text


def test_a_burst_of_scrapes_reads_the_store_once_and_a_store_outage_is_a_gauge(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    collector = StoreMetrics(rt, ttl=10.0, clock=lambda: now[0])
    value = collector.registry.get_sample_value
    assert value("pipeline_sre_incidents_resolved", {"environment": "prod"}) == 3
    rt.incidents.advance(rt.incidents.list(environment="prod", states=("proposed",))[0].id, "resolved")
    assert value("pipeline_sre_incidents_resolved", {"environment": "prod"}) == 3  # cached
    now[0] = 11.0
    assert value("pipeline_sre_incidents_resolved", {"environment": "prod"}) == 4

    def down(*_: Any) -> None:
        raise BackendUnavailable("state store error (sqlite): OperationalError: disk I/O error")

    monkeypatch.setattr("pipeline_sre.app.operating_metrics.operating_stats", down)
    now[0] = 22.0
    assert value("pipeline_sre_stats_up", {}) == 0
    assert value("pipeline_sre_incidents_resolved", {"environment": "prod"}) is None


# -- MCP and the CLI ----------------------------------------------------------------------------------------


def tool_answer(result: Any) -> tuple[bool, dict[str, Any]]:
    answer = result[0][0].text if isinstance(result, tuple) else result.content[0].text
    return bool(getattr(result, "is_error", False)), json.loads(answer)


@pytest.mark.anyio
async def test_the_mcp_tool_answers_compactly_and_names_what_is_allowed(rt: Runtime) -> None:
    server = build_server(rt)
    tools = {t.name: t for t in await server.list_tools()}
    assert tools["operating_stats"].annotations is not None and tools["operating_stats"].annotations.read_only_hint
    failed, body = tool_answer(await server.call_tool("operating_stats", {"window_days": 7, "environment": "prod"}))
    assert not failed and body["incidents"]["opened"] == 8 and body["fixes"]["success_rate"] == 0.75
    assert body["window"]["days"] == 7 and len(json.dumps(body)) < 2500
    failed, body = tool_answer(await server.call_tool("operating_stats", {"window_days": 0}))
    assert failed and body["error"] == "invalid_input" and "1 to 365" in body["message"]
    failed, body = tool_answer(await server.call_tool("operating_stats", {"environment": "nowhere"}))
    assert failed and body["error"] == "unknown_environment" and "prod, staging" in body["message"]


def test_cli_stats_prints_tables_and_json(config: Path) -> None:
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["stats", "--json", "--env", "prod", "--config", str(config)]).output)
    assert data["incidents"]["by_outcome"] == {"resolved": 3, "escalated": 1, "closed": 1, "open": 3}
    assert data["time_to_resolve"]["median_s"] == 3600.0
    shown = runner.invoke(cli, ["stats", "--window-days", "7", "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    for expected in ("Last 7 days, all environments", "transient_network", "75% (3 of 4)", "1h 00m"):
        assert expected in shown.output
    refused = runner.invoke(cli, ["stats", "--window-days", "400", "--config", str(config)])
    assert refused.exit_code == 2 and "1 to 365" in refused.output


# -- the console --------------------------------------------------------------------------------------------


def test_the_dashboard_draws_escaped_svg_charts_with_their_figures(rt: Runtime) -> None:
    UserStore(rt.governance.db).add("vic", "viewer", "viewer-password-89")
    client = TestClient(console_app(rt), base_url=BASE, headers={"origin": BASE})
    assert client.get("/dashboard", follow_redirects=False).status_code == 303  # sign in first
    page = client.get("/login")
    token = CSRF.search(page.text)
    assert token
    form = {"username": "vic", "password": "viewer-password-89", "csrf_token": token.group(1), "next": "/dashboard"}
    html = client.post("/login", data=form).text
    assert 'href="/dashboard"' in html  # in the nav
    assert html.count("<svg") == 4 and html.count('role="img"') == 4
    assert 'aria-label="Executed fixes whose incident resolved: 75% (3 of 4)"' in html
    assert "MTTR median</dt><dd>1h 00m" in html and "Incidents opened</dt><dd>9" in html
    assert "&lt;b&gt;odd&lt;/b&gt;" in html and "<b>odd</b>" not in html
    assert "<script" not in html.split("</head>")[1]  # nothing to run: the CSP allows none inline anyway
    filtered = client.get("/dashboard?environment=staging&days=7").text
    assert "Incidents opened</dt><dd>1" in filtered
    ignored = client.get("/dashboard?environment=nowhere&days=12").text
    assert "unknown environment &#39;nowhere&#39;" in ignored and "choose 7, 30, 90, 365 days" in ignored
