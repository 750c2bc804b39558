"""Incident memory end to end through the one door: incident 1 is fixed by clear_failed_tasks approved by
bob and recovers; incident 2, the same failure, shows it at triage, in the proposal (where it ranks the
write), in get_incident, on the console's incident page and in the postmortem."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from pipeline_sre.app import operations
from pipeline_sre.governance.identity import Principal
from pipeline_sre.lifecycle import postmortem
from pipeline_sre.lifecycle.compact import size
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow import diagnose, triage
from pipeline_sre.store.users import UserStore
from pipeline_sre.surfaces.cli.render import render_memory
from pipeline_sre.surfaces.web.app import console_app
from tests.fakes.airflow_api import FakeAirflow, FakeDag
from tests.unit.app.test_write_retries import runtime
from tests.unit.test_autopilot_webhooks import DAG, NETWORK_ERROR, TASKS, add_failed_run
from tests.unit.test_incident_memory import Clock, Past

pytestmark = pytest.mark.anyio
ALICE, BOB = Principal("mcp", "alice"), Principal("cli", "bob")
FIRST, SECOND = "manual__first", "manual__second"
BASE = "https://testserver"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "alice-password-123"
VERIFY_NOW = {"incidents": {"verify": {"quiet_minutes": 0}}}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")
    monkeypatch.setenv("PIPELINE_SRE_CONSOLE_SECRET", "s" * 48)


@pytest.fixture
def fake() -> FakeAirflow:
    fake = FakeAirflow("3")
    fake.add_dag(FakeDag(DAG, ["tier:2", "team:commerce"], "commerce", 3600, TASKS, max_tries=1))
    add_failed_run(fake, FIRST, NETWORK_ERROR, minutes_ago=30)
    return fake


@pytest.fixture
async def rt(tmp_path: Path, fake: FakeAirflow) -> AsyncIterator[Runtime]:
    rt = runtime(tmp_path, fake, approvers=("alice", "bob"), more=VERIFY_NOW)
    yield rt
    await rt.aclose()


async def fixed_by_clear(rt: Runtime, fake: FakeAirflow) -> str:
    """Incident 1: clear_failed_tasks, approved by bob, executed, and the cleared run recovers."""
    plan = await operations.propose(rt, ALICE, DAG, FIRST, "prod")
    assert "memory" not in plan  # nothing like it was seen before
    action_id = plan["action"]["id"]
    operations.request_approval(rt, ALICE, action_id, "transient network error: rerun once")
    operations.decide(rt, BOB, action_id, approve=True, comment="ok")
    await operations.execute(rt, ALICE, action_id)
    fake.finish_run(DAG, FIRST, "success", datetime.now(UTC) - timedelta(minutes=1))
    verdict = await operations.verify_recovery(rt, ALICE, plan["incident_id"])
    assert verdict["verdict"] == "recovered", verdict
    return str(plan["incident_id"])


async def console_page(rt: Runtime, path: str) -> str:
    UserStore(rt.governance.db).add("alice", "approver", PASSWORD, replace=True)
    transport = httpx.ASGITransport(app=console_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers={"origin": BASE}) as web:
        token = CSRF.search((await web.get("/login")).text)
        assert token
        form = {"username": "alice", "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
        assert (await web.post("/login", data=form)).status_code == 303
        page = await web.get(path)
        assert page.status_code == 200
        return page.text


async def test_the_second_incident_remembers_the_first_everywhere(rt: Runtime, fake: FakeAirflow) -> None:
    first = await fixed_by_clear(rt, fake)
    add_failed_run(fake, SECOND, NETWORK_ERROR, minutes_ago=0)
    remembered = {"incident_id": first, "outcome": "recovered", "action": "clear_failed_tasks", "approved_by": ["bob"]}

    triaged = await operations.triage_with_error(rt, DAG, SECOND, "prod")  # MCP `triage`
    assert triaged["memory"]["last"] == remembered and size(triaged) <= operations.TRIAGE_BYTES
    assert triaged["memory"]["by_action"] == [{"kind": "clear_failed_tasks", "tries": 1, "recovered": 1}]
    cli = await operations.triage_with_memory(rt, DAG, SECOND, "prod")  # CLI `triage --json`
    assert cli["memory"]["last"] == remembered
    assert {k: v for k, v in cli.items() if k != "memory"} == await triage.triage(rt, DAG, SECOND, "prod")

    proposal = await operations.propose(rt, ALICE, DAG, SECOND, "prod")
    second = proposal["incident_id"]
    assert second != first and proposal["action"]["kind"] == "clear_failed_tasks"
    past = proposal["memory"]["incidents"][0]
    assert (past["id"], past["outcome"], past["matched_by"]) == (first, "recovered", "signature")
    assert [(a["kind"], a["approved_by"], a["outcome"]) for a in past["actions"]] == [
        ("clear_failed_tasks", ["bob"], "recovered")
    ]
    ranking = proposal["plan"]["ranking"]
    assert ranking["chosen"] == "clear_failed_tasks" and "recovered 1 of 1" in ranking["because"]
    assert rt.governance.get_action(proposal["action"]["id"]).plan["ranking"] == ranking  # approvers see why

    seen = operations.get_incident(rt, second)["seen_before"]
    assert seen["incidents"][0]["id"] == first and seen["by_action"][0]["success_rate"] == 1.0
    assert "seen_before" not in operations.get_incident(rt, first)  # nothing came before it

    shown = Console(record=True, width=200)
    render_memory(shown, seen)  # `incidents show` and `propose` in the CLI
    text = shown.export_text()
    assert first in text and "clear_failed_tasks approved by bob: recovered" in text

    html = await console_page(rt, f"/incidents/{second}")
    section = html.split('data-testid="seen-before"')[1].split("</section>")[0]
    assert first in section and "approved by bob" in section and "recovered" in section
    assert "recovered 1 of 1" in html.split('data-testid="ranking"')[1].split("</dd>")[0]  # the approver sees why
    # how the category was reached: the same words as the diagnosis gave over MCP and the CLI
    basis = operations.get_incident(rt, second)["facts"]["basis"]
    assert basis.startswith("rule ") and f"<dt>Reached by</dt><dd>{basis}</dd>" in html

    written = await postmortem.write_postmortem(rt, second)
    previous = written["markdown"].split("## Previous occurrences")[1]
    assert f"- Reached by: {basis}, confidence " in written["markdown"].split("## Root cause")[1]
    assert first in previous and "`clear_failed_tasks`" in previous and "approved by bob: recovered" in previous
    assert "<h2>Previous occurrences</h2>" in await console_page(rt, f"/incidents/{second}/postmortem")


# -- ranking ---------------------------------------------------------------------------------------


def governance(conf_schema: bool) -> dict[str, Any]:
    prod: dict[str, Any] = {"allow_dags": ["*"], "required_approvals": 1}
    if conf_schema:
        prod["conf_schemas"] = [
            {"match": "*", "schema": {"type": "object", "properties": {"batch": {"type": "integer"}}}}
        ]
    return {"governance": {"mode": "live", "approvers": ["alice", "bob"], "environments": {"prod": prod}}}


async def seeded(tmp_path: Path, fake: FakeAirflow, conf_schema: bool) -> Runtime:
    """Clearing never recovered this failure (3 tries); a trigger_dag with conf {"batch": 50} did, once."""
    rt = runtime(tmp_path, fake, more=governance(conf_schema))
    errors = await diagnose.extract_errors(rt, DAG, FIRST, None, "prod")
    root = errors["tasks"][0]
    past = Past(rt.governance.db, Clock())
    like = {"signature": root["signature"], "subject": DAG, "category": root["category"]}
    for _ in range(3):
        past.incident(**like, end="escalated")
    both = (("clear_failed_tasks", "failed"), ("trigger_dag", "succeeded"))
    past.incident(**like, actions=both, conf={"batch": 50})
    return rt


async def test_the_write_that_recovered_this_failure_ranks_first(tmp_path: Path, fake: FakeAirflow) -> None:
    rt = await seeded(tmp_path, fake, conf_schema=True)
    try:
        proposal = await operations.propose(rt, ALICE, DAG, FIRST, "prod")
        assert proposal["action"]["kind"] == "trigger_dag"
        assert proposal["action"]["params"]["conf"] == {"batch": 50}  # the delta that worked
        ranking = proposal["plan"]["ranking"]
        assert ranking["chosen"] == "trigger_dag" and ranking["because"].startswith("ranked first by past success")
        assert [c["kind"] for c in ranking["candidates"]] == ["trigger_dag", "clear_failed_tasks"]
        assert proposal["action"]["state"] == "proposed"  # the policy took it
    finally:
        await rt.aclose()


async def test_a_write_the_policy_would_refuse_is_never_picked(tmp_path: Path, fake: FakeAirflow) -> None:
    rt = await seeded(tmp_path, fake, conf_schema=False)  # no schema: only an empty conf is allowed
    try:
        proposal = await operations.propose(rt, ALICE, DAG, FIRST, "prod")
        assert proposal["action"]["kind"] == "clear_failed_tasks"
        because = proposal["plan"]["ranking"]["because"]
        assert "the policy would refuse it now (conf.schema)" in because and "consider escalating" in because
    finally:
        await rt.aclose()


async def test_a_named_action_is_kept_and_memory_only_informs(tmp_path: Path, fake: FakeAirflow) -> None:
    rt = await seeded(tmp_path, fake, conf_schema=True)
    try:
        proposal = await operations.propose(rt, ALICE, DAG, FIRST, "prod", action="clear_failed_tasks")
        assert proposal["action"]["kind"] == "clear_failed_tasks"
        assert proposal["plan"]["ranking"]["because"].startswith("clear_failed_tasks as requested")
        assert proposal["memory"]["by_action"][0] == {
            "kind": "trigger_dag",
            "tries": 1,
            "recovered": 1,
            "success_rate": 1.0,
        }
    finally:
        await rt.aclose()
