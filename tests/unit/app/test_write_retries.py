"""A governed write whose answer is lost (the clear happened, the client timed out) is never sent twice:
the client does not repeat a POST that may have reached Airflow, and governance looks for the effect."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest

from pipeline_sre.app import operations
from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.identity import Principal
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import parse_settings
from tests.fakes.airflow_api import FakeAirflow, FakeDag, HostRouter
from tests.unit.test_autopilot_webhooks import DAG, NETWORK_ERROR, TASKS, add_failed_run

pytestmark = pytest.mark.anyio
REQUESTER, APPROVER = Principal("mcp", "bob"), Principal("web", "alice")


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")


def runtime(
    tmp: Path,
    fake: FakeAirflow,
    allow: tuple[str, ...] = ("*",),
    *,
    approvers: tuple[str, ...] = ("alice",),
    more: dict[str, Any] | None = None,
) -> Runtime:
    """A live runtime over the fake Airflow as `prod`; `more` adds or replaces top-level settings."""
    settings = parse_settings(
        {
            "environments": {
                "prod": {
                    "airflow": {
                        "url": "http://prod.airflow.test",
                        "username_env": "PSRE_T_USER",
                        "password_env": "PSRE_T_PASS",
                        "max_retries": 3,
                    }
                }
            },
            "data_dir": str(tmp / "data"),
            "governance": {
                "mode": "live",
                "approvers": list(approvers),
                "environments": {"prod": {"allow_dags": list(allow), "required_approvals": 1}},
            },
            **(more or {}),
        },
        "test",
    )
    return Runtime(settings, transport=HostRouter({"prod.airflow.test": fake.transport()}))


def flooded(version: Literal["2", "3"]) -> FakeAirflow:
    """A fake Airflow whose DAG's run `manual__flood` failed on a network error."""
    fake = FakeAirflow(version)
    fake.add_dag(FakeDag(DAG, ["tier:2"], "commerce", 3600, TASKS, max_tries=1))
    add_failed_run(fake, "manual__flood", NETWORK_ERROR)
    return fake


async def approved_clear(rt: Runtime) -> dict[str, Any]:
    plan = await operations.propose(rt, REQUESTER, DAG, "manual__flood", "prod")
    action: dict[str, Any] = plan["action"]
    operations.request_approval(rt, REQUESTER, action["id"], "transient network error: rerun once")
    operations.decide(rt, APPROVER, action["id"], approve=True, comment="ok")
    return action


@pytest.mark.parametrize("version", ["3", "2"])
async def test_a_clear_whose_answer_is_lost_runs_once(tmp_path: Path, version: Literal["2", "3"]) -> None:
    fake = flooded(version)
    rt = runtime(tmp_path, fake)
    try:
        action = await approved_clear(rt)
        fake.lose_answer_next(1, path="clearTaskInstances")
        # Airflow 3: the clear's note names the action; Airflow 2 keeps no note, but the cleared run is no
        # longer failed. Either way governance finds the effect and records it instead of sending it again.
        done = await operations.execute(rt, REQUESTER, action["id"])
        record = rt.governance.get_action(action["id"])
        assert done["sent"] and record.state == "succeeded" and record.result and "existing" in record.result
        found_by = record.result["existing"]["found_by"]
        assert found_by == ("note" if version == "3" else "run is queued"), found_by
        incident = rt.incidents.get(done["incident_id"])
        assert incident.state == "verifying" and incident.action_id == action["id"]
        assert len(fake.cleared) == 1  # exactly one effect either way
        with pytest.raises(InvalidInput, match="not failed"):  # the cleared run is rerunning: no second clear
            await operations.propose(rt, REQUESTER, DAG, "manual__flood", "prod")
    finally:
        await rt.aclose()


async def test_reads_are_still_retried(tmp_path: Path) -> None:
    fake = flooded("3")
    rt = runtime(tmp_path, fake)
    try:
        fake.lose_answer_next(2, path="/dagRuns/manual__flood")
        run = await rt.airflow("prod").get_dag_run(DAG, "manual__flood")
        assert run.state == "failed"
    finally:
        await rt.aclose()


async def test_the_digested_call_is_the_call_sent_on_airflow_2(tmp_path: Path) -> None:
    fake = flooded("2")
    rt = runtime(tmp_path, fake)
    try:
        plan = await operations.propose(rt, REQUESTER, DAG, "manual__flood", "prod")
        call = plan["action"]["call"]
        assert call["path"] == f"/api/v1/dags/{DAG}/clearTaskInstances" and "note" not in call["body"]
    finally:
        await rt.aclose()


async def test_a_clear_left_executing_without_a_trace_is_not_sent_again(tmp_path: Path) -> None:
    """Its process died mid-call: the request may still land, and Airflow cannot tell a second clear from
    the first, so recovery records it failed for a human instead of clearing (possibly) twice."""
    from datetime import UTC, datetime, timedelta

    from pipeline_sre.store import repository as repo

    fake = flooded("3")
    rt = runtime(tmp_path, fake)
    try:
        action = await approved_clear(rt)
        past = datetime.now(UTC) - timedelta(minutes=10)
        with rt.governance.db.session(write=True) as s:  # claimed by a process that then died
            assert repo.transition(s, action["id"], "approved", "executing", lease_owner="dead", lease_expires_at=past)
        recovered = await operations.recover_stuck(rt, Principal("system", "autopilot"))
        assert [r.state for r in recovered] == ["failed"] and fake.cleared == []
        assert "not sent again" in (recovered[0].error or "")
    finally:
        await rt.aclose()


async def test_the_executor_is_not_failed_by_a_second_executor_that_settled_the_incident_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes race to execute one approved action: the one refused as second moves the incident on (in case
    the executor's move was lost) between the executor reading the incident and moving it; the executor, whose
    write went out, still succeeds (it used to fail with "cannot go back to executing")."""
    fake = flooded("3")
    rt = runtime(tmp_path, fake)
    try:
        action = await approved_clear(rt)
        read = operations._incident_of

        def read_then_lose_the_race(rt: Runtime, record: Any) -> Any:
            seen = read(rt, record)
            assert seen is not None
            operations._executed(rt, seen, APPROVER, record.id)  # the refused racer's settle, from the same state
            return seen

        monkeypatch.setattr(operations, "_incident_of", read_then_lose_the_race)
        done = await operations.execute(rt, REQUESTER, action["id"])
        assert done["sent"] and len(fake.cleared) == 1
        incident = rt.incidents.get(done["incident_id"])
        assert incident.state == "verifying" and incident.action_id == action["id"]
        assert [m["to"] for m in incident.transitions].count("executing") == 1
    finally:
        await rt.aclose()
