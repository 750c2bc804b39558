"""An incident in few calls: propose and ask for approval in one step, a verification that waits for the
verdict instead of being polled, a postmortem answer that carries its headline facts, and the lean
decision the MCP proposal shows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.app import operations
from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.identity import Principal
from pipeline_sre.lifecycle import postmortem
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.surfaces.mcp.server import build_server
from pipeline_sre.surfaces.mcp.tooling import principal_of
from tests.fakes.airflow_api import FakeAirflow, FakeDag
from tests.unit.app.test_write_retries import runtime
from tests.unit.test_autopilot_webhooks import DAG, NETWORK_ERROR, TASKS, add_failed_run

pytestmark = pytest.mark.anyio
ALICE, BOB = Principal("mcp", "alice"), Principal("cli", "bob")
RUN = "manual__lean"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")


@pytest.fixture
def fake() -> FakeAirflow:
    fake = FakeAirflow("3")
    fake.add_dag(FakeDag(DAG, ["tier:2", "team:commerce"], "commerce", 3600, TASKS, max_tries=1))
    add_failed_run(fake, RUN, NETWORK_ERROR, minutes_ago=5)
    return fake


@pytest.fixture
async def rt(tmp_path: Path, fake: FakeAirflow) -> AsyncIterator[Runtime]:
    rt = runtime(tmp_path, fake, approvers=("alice", "bob"), more={"incidents": {"verify": {"quiet_minutes": 0}}})
    yield rt
    await rt.aclose()


async def executed(rt: Runtime) -> dict[str, Any]:
    """Proposed and asked in one step, approved by bob, executed: the cleared run is running again."""
    plan = await operations.propose_and_ask(rt, ALICE, DAG, RUN, "prod")
    operations.decide(rt, BOB, plan["action"]["id"], approve=True, comment="ok")
    await operations.execute(rt, ALICE, plan["action"]["id"])
    return plan


async def test_propose_and_ask_is_one_step_and_asks_once(rt: Runtime) -> None:
    plan = await operations.propose_and_ask(rt, ALICE, DAG, RUN, "prod")
    action_id = plan["action"]["id"]
    assert plan["action"]["state"] == "awaiting_approval"
    assert f"pipeline-sre approvals approve {action_id}" in plan["how_to_approve"]
    assert plan["next"] == f"call clear_failed_tasks('{action_id}') once it is approved"
    assert operations.get_incident(rt, plan["incident_id"])["state"] == "awaiting_approval"

    again = await operations.propose_and_ask(rt, ALICE, DAG, RUN, "prod")
    assert again["reused"] and again["action"]["id"] == action_id and "how_to_approve" not in again
    requests = [e for e in rt.governance.audit.records() if e.event == "approval.requested"]
    assert len(requests) == 1


async def test_a_wait_returns_the_verdict_once_the_run_settles(
    rt: Runtime, fake: FakeAirflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operations, "VERIFY_POLL_SECONDS", 1.0)  # a running run is looked at every second
    plan = await executed(rt)
    incident_id = plan["incident_id"]
    assert (await operations.verify_recovery(rt, ALICE, incident_id))["verdict"] == "pending"
    heard: list[tuple[float, float, str]] = []

    async def progress(elapsed: float, total: float, message: str) -> None:
        heard.append((elapsed, total, message))

    async def scheduler() -> None:
        await asyncio.sleep(0.3)
        fake.finish_run(DAG, RUN, "success", datetime.now(UTC))

    started = asyncio.get_running_loop().time()
    verdict, _ = await asyncio.gather(
        operations.verify_recovery(rt, ALICE, incident_id, wait_seconds=120, progress=progress), scheduler()
    )
    assert verdict["verdict"] == "recovered" and verdict["resolved_now"]
    assert heard and heard[0][1] == 120 and heard[0][2].startswith("pending: next check at ")
    assert asyncio.get_running_loop().time() - started < 10  # looked again within seconds, not a minute later


async def test_a_wait_that_ends_first_answers_pending(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operations, "VERIFY_POLL_SECONDS", 1.0)
    plan = await executed(rt)  # the cleared run is still going and stays so
    looks: list[float] = []

    async def progress(elapsed: float, total: float, message: str) -> None:
        looks.append(elapsed)

    started = asyncio.get_running_loop().time()
    verdict = await operations.verify_recovery(rt, ALICE, plan["incident_id"], wait_seconds=2, progress=progress)
    assert verdict["verdict"] == "pending" and "next_check_at" in verdict
    assert 2 <= asyncio.get_running_loop().time() - started < 10 and len(looks) == 2  # ends at the wait
    at_once = await operations.verify_recovery(rt, ALICE, plan["incident_id"])  # no wait: one look
    assert at_once["verdict"] == "pending"
    with pytest.raises(InvalidInput, match="wait_seconds must be between 0 and 600; got 601"):
        await operations.verify_recovery(rt, ALICE, plan["incident_id"], wait_seconds=601)


async def test_the_mcp_incident_in_few_calls_and_few_bytes(rt: Runtime, fake: FakeAirflow) -> None:
    server = build_server(rt)
    tools = {t.name: t for t in await server.list_tools()}
    assert "ask_approval" in tools["propose_action"].input_schema["properties"]
    assert "wait_seconds" in tools["check_recovery_rules"].input_schema["properties"]

    async def call(name: str, **args: Any) -> dict[str, Any]:
        result = await server.call_tool(name, args)
        text = result[0][0].text if isinstance(result, tuple) else result.content[0].text  # type: ignore[union-attr]
        return dict(json.loads(text))

    plan = await call("propose_action", dag_id=DAG, run_id=RUN, environment="prod", ask_approval=True)
    decision = plan["decision"]
    assert plan["action"]["state"] == "awaiting_approval" and "how_to_approve" in plan
    assert "checks" not in decision and "also_blocking" not in decision  # only approval is missing
    assert "allow_hint" not in decision and plan["action"]["id"] in plan["how_to_approve"]
    assert decision["rule"] == "approvals.required" and "allowlist.dags" in decision["passed"]
    assert "run_id" not in plan["action"]  # a clear creates no run; a trigger's run id is in its exact call
    full = operations.get_action(rt, plan["action"]["id"])
    assert principal_of(rt).actor == full["requested_by"]

    operations.decide(rt, BOB, plan["action"]["id"], approve=True, comment="ok")
    await call("clear_failed_tasks", action_id=plan["action"]["id"])
    fake.finish_run(DAG, RUN, "success", datetime.now(UTC) - timedelta(seconds=1))
    verdict = await call("check_recovery_rules", incident_id=plan["incident_id"], wait_seconds=30)
    assert verdict["verdict"] == "recovered"
    written = await call("write_postmortem", incident_id=plan["incident_id"])
    headline = written["headline"]
    assert headline["state"] == "resolved" and headline["verdict"] == "recovered"
    assert headline["root_cause"]["category"] == "transient_network" and headline["failed_runs"] == 1
    assert set(headline["durations"]) >= {"detect_s", "resolve_s"} and headline["prevention"]
    document = postmortem.read_postmortem(rt, plan["incident_id"])
    assert len(json.dumps(written)) < len(document) / 2

    add_failed_run(fake, "manual__again", NETWORK_ERROR, minutes_ago=0)
    again = await call("propose_action", dag_id=DAG, run_id="manual__again", environment="prod")
    assert again["memory"] == {  # as triage gives it; the plan's ranking cites the figures
        "seen": 1,
        "matched_by": "signature",
        "last": {"incident_id": plan["incident_id"], "outcome": "recovered", "action": "clear_failed_tasks",
                 "approved_by": ["bob"]},
        "by_action": [{"kind": "clear_failed_tasks", "tries": 1, "recovered": 1}],
    }  # fmt: skip
    assert "recovered 1 of 1" in again["plan"]["ranking"]["because"]
