"""Lineage-aware severity: the asset-graph walk (Airflow 3 and 2 fakes), the OpenLineage stand-in, degrading
when a lookup fails, and the downstream owners in notifications and on the console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_sre.app import operations
from pipeline_sre.app.notices import incident_notice
from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.connectors.notify import slack_blocks
from pipeline_sre.errors import BackendInvalidResponse
from pipeline_sre.governance.identity import AUTOPILOT
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow import triage
from pipeline_sre.settings.config import AirflowConnection, parse_settings
from pipeline_sre.store.incidents import Incident
from tests.fakes.airflow_api import FakeAirflow, FakeDag
from tests.fakes.openlineage_api import FakeMarquez, HostRouter

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC).replace(microsecond=0)
RUN = "scheduled__2026-11-23T08:00:00+00:00"
TASKS = [("extract", "PythonOperator"), ("stage", "PythonOperator"), ("publish", "PythonOperator")]
ORDERS, REPORT_INPUT = "s3://lake/staging/orders", "s3://lake/marts/orders_daily"


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")


def airflow(version: str = "3") -> FakeAirflow:
    """staging (tier 3) fails; its asset feeds orders_mart (tier 2), whose asset feeds exec_report (tier 1)."""
    fake = FakeAirflow(version)  # type: ignore[arg-type]
    fake.add_dag(FakeDag("staging", ["tier:3", "team:ingest"], "ingest", 3600, TASKS))
    fake.add_dag(FakeDag("orders_mart", ["tier:2"], "airflow", 3600, TASKS))
    fake.add_dag(FakeDag("exec_report", ["tier:1", "business_critical"], "finance-bi", 3600, TASKS))
    fake.add_run("staging", RUN, "failed", end=NOW - timedelta(minutes=20), first_failed_task=1)
    fake.add_asset(ORDERS, [("staging", "publish")], ["orders_mart"])
    fake.add_asset(REPORT_INPUT, [("orders_mart", "publish")], ["exec_report"])
    return fake


def runtime(
    fake: FakeAirflow, lineage: dict[str, Any] | None = None, marquez: FakeMarquez | None = None, **conn: Any
) -> Runtime:
    env: dict[str, Any] = {
        "airflow": {"url": "http://prod.airflow.test", "username_env": "PSRE_T_USER", "password_env": "PSRE_T_PASS"}
    }
    env["airflow"].update(conn)
    if lineage is not None:
        env["lineage"] = lineage
    settings = parse_settings({"environments": {"prod": env}}, "test")
    routes: dict[str, httpx.AsyncBaseTransport] = {"prod.airflow.test": fake.transport()}
    if marquez is not None:
        routes["marquez.test"] = marquez.transport()
    return Runtime(settings, transport=HostRouter(routes))


@pytest.fixture(params=["3", "2"])
async def both(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeAirflow, Runtime]]:
    fake = airflow(request.param)
    rt = runtime(fake)
    yield fake, rt
    await rt.aclose()


# -- the Airflow asset graph ---------------------------------------------------------------------


async def test_walk_is_transitive_and_the_tier1_consumer_raises_severity(both: tuple[FakeAirflow, Runtime]) -> None:
    fake, rt = both
    fake.reset_counters()
    result = await triage.triage(rt, "staging", RUN)
    down = result["downstream"]
    assert down["consumers"] == [
        {
            "dag_id": "exec_report",
            "via_asset": REPORT_INPUT,
            "depth": 2,
            "tier": 1,
            "owners": ["finance-bi"],
            "business_critical": True,
        },
        # Airflow's default owner names nobody: no owner is better than "airflow".
        {"dag_id": "orders_mart", "via_asset": ORDERS, "depth": 1, "tier": 2, "owners": []},
    ]
    assert down["total"] == 2 and down["most_critical"] == "exec_report" and down["complete"] is True
    assert down["owners"] == ["finance-bi"] and down["sources"] == ["airflow_assets"]
    assert result["tier"] == 3 and result["severity"] == "SEV2"
    assert result["severity_rule"] == (
        f"downstream tier-1 consumer exec_report via asset {REPORT_INPUT}: raised SEV4→SEV2 "
        "(severity.rules[1]; own rule severity.default)"
    )
    assets = "/api/v2/assets" if fake.version == "3" else "/api/v1/datasets"
    assert fake.path_counts[assets] == 3  # one request per hop for the whole frontier; the third finds nothing


async def test_a_cycle_ends_the_walk(both: tuple[FakeAirflow, Runtime]) -> None:
    fake, rt = both
    fake.add_asset("s3://lake/feedback", [("exec_report", "publish")], ["staging", "orders_mart"])
    down = (await triage.triage(rt, "staging", RUN))["downstream"]
    assert [c["dag_id"] for c in down["consumers"]] == ["exec_report", "orders_mart"]
    assert down["complete"] is True


async def test_fan_out_and_depth_are_bounded() -> None:
    fake = airflow()
    for i in range(8):
        fake.add_dag(FakeDag(f"reader_{i}", ["tier:4"], "airflow", 3600, TASKS))
    fake.add_asset("s3://lake/wide", [("staging", "publish")], [f"reader_{i}" for i in range(8)])
    rt = runtime(fake, {"max_consumers": 4})
    try:
        down = (await triage.triage(rt, "staging", RUN))["downstream"]
        assert down["total"] == 4 and down["complete"] is False
        assert fake.route_counts["GET /dags/{dag_id}"] == 1 + 4  # the failed DAG, then each consumer once
    finally:
        await rt.aclose()
    rt = runtime(airflow(), {"max_depth": 1})
    try:
        down = (await triage.triage(rt, "staging", RUN))["downstream"]
        assert [c["dag_id"] for c in down["consumers"]] == ["orders_mart"] and down["complete"] is False
    finally:
        await rt.aclose()


async def test_airflow2_without_the_dag_ids_filter_reports_lineage_unavailable() -> None:
    fake = airflow("2")
    fake.datasets_filter_by_dag = False  # Airflow 2 before 2.9: the filter is refused, nothing is guessed
    rt = runtime(fake)
    try:
        result = await triage.triage(rt, "staging", RUN)
    finally:
        await rt.aclose()
    down = result["downstream"]
    assert down["consumers"] == [] and down["sources"] == []
    assert (
        down["unavailable"].startswith("lineage unavailable: Airflow asset graph:")
        and "HTTP 400" in down["unavailable"]
    )
    assert result["severity"] == "SEV4" and result["severity_rule"] == "severity.default"


async def test_an_asset_lookup_outage_degrades_triage_instead_of_failing_it() -> None:
    fake = airflow()
    fake.fail_next(5, status=503, path="/api/v2/assets")
    rt = runtime(fake, max_retries=0)
    try:
        result = await triage.triage(rt, "staging", RUN)
    finally:
        await rt.aclose()
    assert result["first_failed_task"] == "stage" and result["severity"] == "SEV4"
    assert "is unavailable: HTTP 503" in result["downstream"]["unavailable"]


@pytest.mark.parametrize(
    "body",
    [
        {"detail": "login required"},  # a proxy's page as JSON
        {"assets": [{"uri": "s3://x"}], "total_entries": 1},  # an asset without its references
        {
            "assets": [{"uri": "s3://x", "producing_tasks": [{"task_id": "t"}], "scheduled_dags": []}],
            "total_entries": 1,
        },
        {"assets": [], "total_entries": "many"},
    ],
)
async def test_a_foreign_asset_answer_is_invalid_never_empty(body: dict[str, Any]) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    conn = AirflowConnection(url="http://af.test", version="3", max_retries=0)
    client = AirflowClient("prod", conn, transport=transport)
    try:
        with pytest.raises(BackendInvalidResponse):
            await client.asset_consumers(["staging"])
    finally:
        await client.aclose()


async def test_a_foreign_dag_answer_is_invalid() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"dag_id": "x", "tags": "tier:1"}))
    client = AirflowClient("prod", AirflowConnection(url="http://af.test", version="3"), transport=transport)
    try:
        with pytest.raises(BackendInvalidResponse, match="without tags and owners lists"):
            await client.dag_profile("x")
    finally:
        await client.aclose()


async def test_config_globs_decide_a_consumers_tier_before_its_tags() -> None:
    fake = airflow()
    settings_dags = [{"match": "orders_mart", "tier": 1, "business_critical": True, "owner": "marts-team"}]
    env = {"url": "http://prod.airflow.test", "username_env": "PSRE_T_USER", "password_env": "PSRE_T_PASS"}
    settings = parse_settings({"environments": {"prod": {"airflow": env, "dags": settings_dags}}}, "test")
    rt = Runtime(settings, transport=fake.transport())
    try:
        down = (await triage.triage(rt, "staging", RUN))["downstream"]
    finally:
        await rt.aclose()
    assert down["most_critical"] == "orders_mart"  # tier 1 by config, and nearer than exec_report
    assert down["owners"] == ["marts-team", "finance-bi"]


# -- OpenLineage ---------------------------------------------------------------------------------


def marquez() -> FakeMarquez:
    stand_in = FakeMarquez()
    stand_in.add_job("prod", "staging.publish", [], ["staging.orders"])
    stand_in.add_job("prod", "exec_report.build", ["staging.orders"], ["reports.exec"])
    stand_in.add_job("prod", "board_pack.render", ["reports.exec"], [])
    stand_in.add_job("spark", "churn_model", ["staging.orders"], [])  # another scheduler: not a DAG here
    return stand_in


OPENLINEAGE = {"asset_graph": False, "openlineage": {"url": "http://marquez.test", "namespace": "prod"}}


async def test_openlineage_finds_downstream_jobs_and_their_dags() -> None:
    fake, stand_in = airflow(), marquez()
    rt = runtime(fake, OPENLINEAGE, stand_in)
    try:
        result = await triage.triage(rt, "staging", RUN)
    finally:
        await rt.aclose()
    down = result["downstream"]
    assert down["sources"] == ["openlineage"] and "unavailable" not in down
    assert [(c["dag_id"], c["via_asset"], c["depth"], c["tier"]) for c in down["consumers"]] == [
        ("exec_report", "staging.orders", 1, 1),
        ("board_pack", "reports.exec", 2, 3),  # not a DAG of this Airflow: config defaults, no owner
    ]
    assert down["owners"] == ["finance-bi"] and result["severity"] == "SEV2"
    # The failed task and the task it blocked were asked about, root cause first.
    assert stand_in.requests == ["job:prod:staging.stage", "job:prod:staging.publish"]


async def test_openlineage_answers_that_do_not_fit_degrade() -> None:
    fake, stand_in = airflow(), marquez()
    stand_in.answer = {"nodes": []}
    rt = runtime(fake, OPENLINEAGE, stand_in)
    try:
        down = (await triage.triage(rt, "staging", RUN))["downstream"]
    finally:
        await rt.aclose()
    assert down["consumers"] == [] and "OpenLineage: " in down["unavailable"]
    assert "without a 'graph' list" in down["unavailable"]
    empty = FakeMarquez()
    rt = runtime(airflow(), {**OPENLINEAGE, "asset_graph": True}, empty)
    try:
        down = (await triage.triage(rt, "staging", RUN))["downstream"]
    finally:
        await rt.aclose()
    # The asset graph still answered; OpenLineage had no job of the DAG, and says so.
    assert down["sources"] == ["airflow_assets"] and down["most_critical"] == "exec_report"
    assert "no job of DAG 'staging' is recorded in namespace 'prod'" in down["unavailable"]


# -- notifications and the console ---------------------------------------------------------------


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        self.sent.append((event, payload))


def store_runtime(tmp_path: Path) -> Runtime:
    env = {"airflow": {"url": "http://127.0.0.1:9", "version": "3", "max_retries": 0, "timeout_seconds": 1}}
    return Runtime(parse_settings({"environments": {"dev": env}, "data_dir": str(tmp_path / "data")}, "test"))


def staging_incident(rt: Runtime, facts: dict[str, Any]) -> Incident:
    incident, _ = rt.incidents.open_or_join(
        environment="dev",
        source="airflow",
        subject="staging",
        signature="sig",
        category="data_quality",
        severity="SEV2",
        title="staging: data_quality in stage",
        run_id=RUN,
        task_id="stage",
        facts=facts,
    )
    return incident


DOWNSTREAM = {
    "consumers": [
        {
            "dag_id": "exec_report",
            "via_asset": ORDERS,
            "depth": 1,
            "tier": 1,
            "owners": ["finance-bi"],
            "business_critical": True,
        },
        {"dag_id": "orders_mart", "via_asset": ORDERS, "depth": 1, "tier": 2, "owners": ["marts-team"]},
    ],
    "total": 2,
    "most_critical": "exec_report",
    "owners": ["finance-bi", "marts-team"],
    "sources": ["airflow_assets"],
    "complete": True,
}


async def test_the_escalation_notice_names_the_downstream_owners(tmp_path: Path) -> None:
    rt = store_runtime(tmp_path)
    recorder = Recorder()
    rt.notifier = recorder
    try:
        incident = staging_incident(
            rt, {"downstream": DOWNSTREAM, "severity_rule": "downstream tier-1 consumer exec_report ..."}
        )
        await operations.escalate(rt, AUTOPILOT, incident.id, "bad rows in the source data")
    finally:
        await rt.aclose()
    [(event, payload)] = recorder.sent
    assert event == "escalated" and payload["downstream_owners"] == ["finance-bi", "marts-team"]
    assert payload["downstream"] == f"exec_report (tier 1) via {ORDERS} and 1 more"
    _, blocks = slack_blocks(event, payload)
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    blocked = f"*Blocks downstream:* exec_report (tier 1) via {ORDERS} and 1 more"
    assert f"{blocked}\n*Downstream owners:* finance-bi, marts-team" in texts


def test_a_notice_without_downstream_is_the_plain_summary(tmp_path: Path) -> None:
    rt = store_runtime(tmp_path)
    try:
        incident = staging_incident(rt, {"downstream": {**DOWNSTREAM, "consumers": [], "total": 0, "owners": []}})
        assert incident_notice(incident) == incident.summary()
    finally:
        rt.governance.close()


def test_the_console_incident_page_shows_the_downstream_consumers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline_sre.store.users import UserStore
    from tests.unit.test_console_auth import PASSWORDS, browser, login

    monkeypatch.setenv("PIPELINE_SRE_CONSOLE_SECRET", "s" * 48)
    rt = store_runtime(tmp_path)
    try:
        UserStore(rt.governance.db).add("alice", "approver", PASSWORDS["alice"])
        incident = staging_incident(
            rt, {"downstream": DOWNSTREAM, "severity_rule": "downstream tier-1 consumer exec_report: raised"}
        )
        client = browser(rt)
        login(client, "alice")
        page = client.get(f"/incidents/{incident.id}")
    finally:
        rt.governance.close()
    assert page.status_code == 200, page.text
    assert "downstream tier-1 consumer exec_report: raised" in page.text
    shown = page.text.split('data-testid="downstream"', 1)[1].split("</dd>", 1)[0]
    assert "exec_report · tier 1 · business critical" in shown and f"<code>{ORDERS}</code>" in shown
    assert "owners finance-bi" in shown and "owners marts-team" in shown
