"""The autopilot's Databricks pass against the Jobs API stand-in (the real databricks-sdk over HTTP): a failed
job run is claimed once, diagnosed into an incident, and gets a governed repair awaiting approval, or an
escalation when a rerun cannot fix it; shadow mode plans only; a workspace that is down is one environment's
error."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.app import operations
from pipeline_sre.app.operating_metrics import OperatingMetrics, StoreMetrics
from pipeline_sre.errors import BackendUnavailable
from pipeline_sre.governance.identity import Principal
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import Settings, parse_settings
from pipeline_sre.store.incidents import utcnow
from pipeline_sre.surfaces.autopilot.watch import Autopilot
from tests.fakes.airflow_api import FakeAirflow, HostRouter
from tests.fakes.databricks_api import FakeDatabricks
from tests.unit.test_verify_databricks import Recorder

pytestmark = pytest.mark.anyio
TOKEN_ENV = "PSRE_T_AUTOPILOT_DBX_TOKEN"
JOB = 31
AIRFLOW_AUTH = {"username_env": "PSRE_T_USER", "password_env": "PSRE_T_PASS", "max_retries": 0}
TIMEOUT = "java.net.SocketTimeoutException: Read timed out"
NAME_ERROR = (
    "Traceback (most recent call last):\n"
    '  File "/Workspace/etl/orders.py", line 12, in <module>\n'
    "    df = spark_sesion.table('orders')\n"
    "NameError: name 'spark_sesion' is not defined"
)


@pytest.fixture
def fake() -> Iterator[FakeDatabricks]:
    fake = FakeDatabricks()
    with fake.serve():
        fake.add_job(JOB, "orders_nightly")
        yield fake


@pytest.fixture(autouse=True)
def _env(fake: FakeDatabricks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, fake.token)
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)


def settings_for(workspaces: dict[str, str], **autopilot: Any) -> Settings:
    def environment(env: str, host: str) -> dict[str, Any]:
        return {
            "airflow": {"url": f"http://{env}.airflow.test", **AIRFLOW_AUTH},
            "databricks": {"host": host, "token_env": TOKEN_ENV, "retry_timeout_seconds": 1, "max_retries": 0},
        }

    return parse_settings(
        {
            "environments": {env: environment(env, host) for env, host in workspaces.items()},
            "incidents": {"verify": {"quiet_minutes": 30, "timeout_minutes": 120}},
            "autopilot": {"window_minutes": 60, **autopilot},
            "governance": {
                "mode": "live",
                "approvers": ["alice"],
                "environments": {
                    env: {"allow_dags": ["databricks:job/*"], "max_actions_per_dag_per_hour": 50} for env in workspaces
                },
            },
        },
        "test",
    )


def runtime(settings: Settings) -> Runtime:
    """Every environment's Airflow is an empty in-process fake: the Databricks pass is what is under test."""
    routes = {f"{env}.airflow.test": FakeAirflow("3").transport() for env in settings.environments}
    rt = Runtime(settings, transport=HostRouter(dict(routes)))
    rt.notifier = Recorder()
    return rt


@pytest.fixture
async def rt(fake: FakeDatabricks) -> AsyncIterator[Runtime]:
    runtime_ = runtime(settings_for({"prod": fake.host}))
    yield runtime_
    await runtime_.aclose()


@pytest.fixture
async def pilot(rt: Runtime) -> AsyncIterator[Autopilot]:
    autopilot = Autopilot(rt, metrics=OperatingMetrics())
    yield autopilot
    await autopilot.aclose()


def fail(fake: FakeDatabricks, error: str) -> int:
    run = fake.add_run(
        JOB,
        [
            {"task_key": "extract"},
            {"task_key": "load", "result_state": "FAILED", "error": error.splitlines()[-1], "error_trace": error},
            {"task_key": "publish", "result_state": "UPSTREAM_FAILED"},
        ],
    )
    return int(run["run_id"])


def events(rt: Runtime) -> list[tuple[str, dict[str, Any]]]:
    assert isinstance(rt.notifier, Recorder)
    return rt.notifier.events


def stored(pilot: Autopilot, name: str, **labels: str) -> float:
    """A figure from the store as a scrape of /metrics shows it now (a new collector: nothing cached)."""
    return StoreMetrics(pilot.rt).registry.get_sample_value(name, {"environment": "prod", **labels}) or 0.0


def later(minutes: float) -> datetime:
    now: datetime = utcnow()
    return now + timedelta(minutes=minutes)


async def test_transient_failure_gets_a_repair_awaiting_approval_then_recovers(
    rt: Runtime, pilot: Autopilot, fake: FakeDatabricks
) -> None:
    run_id = fail(fake, TIMEOUT)
    report = await pilot.cycle()
    assert report.errors == [] and report.detected == 1 and report.escalated == [], report
    [incident_id] = report.new_incidents
    [action_id] = report.proposed
    incident = rt.incidents.get(incident_id)
    assert incident.source == "databricks" and incident.subject == f"databricks:job/{JOB}"
    assert incident.category == "transient_network" and incident.run_id == str(run_id)
    assert incident.state == "awaiting_approval" and incident.action_id == action_id
    assert incident.facts["failed_tasks"] == ["load", "publish"]
    action = rt.governance.get_action(action_id)
    assert action.action.kind == "repair_run" and action.action.automated and action.state == "awaiting_approval"
    assert action.action.params["run_id"] == run_id and action.approval_reason is not None
    assert action.approval_reason.startswith(f"transient_network in databricks:job/{JOB} run {run_id}: ")
    [(event, payload)] = events(rt)
    assert event == "approval_requested" and payload["id"] == incident_id and payload["kind"] == "repair_run"
    assert payload["call"]["path"] == "/api/2.2/jobs/runs/repair"
    assert payload["how_to_approve"].startswith(f"pipeline-sre approvals approve {action_id}")
    assert fake.repairs == []  # proposed, never sent
    assert stored(pilot, "pipeline_sre_incidents_opened", category="transient_network") == 1
    assert stored(pilot, "pipeline_sre_incidents_handling", handling="plan_only") == 1

    rt.governance.approve(action_id, "alice", "a read timeout; repair it")
    executed = await pilot.cycle()
    assert executed.executed == [action_id] and len(fake.repairs) == 1 and executed.errors == []
    assert rt.incidents.get(incident_id).state == "verifying"
    fake.finish(run_id)
    rt.incidents.clock = lambda: later(31)
    done = await pilot.cycle()
    assert done.resolved == [incident_id] and done.detected == 0 and done.errors == [], done
    assert rt.incidents.get(incident_id).state == "resolved" and len(fake.repairs) == 1
    assert [e for e, _ in events(rt)] == ["approval_requested", "action_executed", "resolved"]


async def test_code_bug_is_escalated_with_no_proposal(rt: Runtime, pilot: Autopilot, fake: FakeDatabricks) -> None:
    fail(fake, NAME_ERROR)
    report = await pilot.cycle()
    assert report.errors == [] and report.proposed == [], report
    [incident_id] = report.new_incidents
    assert report.escalated == [incident_id]
    incident = rt.incidents.get(incident_id)
    assert incident.state == "escalated" and incident.category == "code_bug" and incident.action_id is None
    assert incident.escalation_reason is not None
    assert incident.escalation_reason.startswith("runbook.code_bug.escalate: code_bug: a rerun cannot fix this")
    assert rt.governance.list_pending() == [] and fake.repairs == []
    assert [(e, p["id"]) for e, p in events(rt)] == [("escalated", incident_id)]
    assert incident.postmortem_path in report.postmortems
    assert stored(pilot, "pipeline_sre_incidents_outcome", outcome="escalated") == 1


async def test_a_flood_is_one_incident_and_a_run_is_handled_once(
    rt: Runtime, pilot: Autopilot, fake: FakeDatabricks
) -> None:
    runs = [fail(fake, TIMEOUT) for _ in range(5)]
    first = await pilot.cycle()
    assert first.detected == 5 and first.joined == 4 and len(first.new_incidents) == 1 and first.errors == []
    [incident] = rt.incidents.list()
    assert incident.occurrences == 5 and int(incident.latest_run_id or 0) in runs
    assert len(first.proposed) == 1 and len(rt.governance.list_pending()) == 1

    second = await pilot.cycle()
    assert second.detected == 0 and second.joined == 0 and second.new_incidents == [] and second.proposed == []
    assert rt.incidents.get(incident.id).occurrences == 5
    assert [e for e, _ in events(rt)] == ["approval_requested"]

    fail(fake, TIMEOUT)  # a new failure of the same job and cause joins the open incident
    third = await pilot.cycle()
    assert third.detected == 1 and third.joined == 1 and third.new_incidents == []
    assert rt.incidents.get(incident.id).occurrences == 6 and len(rt.governance.list_pending()) == 1


async def test_shadow_mode_writes_the_plan_only_and_going_live_sees_every_failure(
    rt: Runtime, fake: FakeDatabricks
) -> None:
    pilot = Autopilot(rt, shadow=True, metrics=OperatingMetrics())
    try:
        fail(fake, TIMEOUT)
        fail(fake, NAME_ERROR)
        report = await pilot.cycle()
        assert report.errors == [] and report.new_incidents == [] and len(report.shadow_plans) == 2, report
        assert report.proposed == [] and report.escalated == [] and report.postmortems == []
        assert rt.incidents.list() == [] and rt.governance.list_pending() == [] and fake.repairs == []
        assert sorted(p["kind"] for p in report.shadow_plans) == ["escalate", "repair_run"]
        plans = [r for r in rt.governance.audit.records() if r.event == "autopilot.shadow_plan"]
        assert len(plans) == 2 and {r.actor for r in plans} == {"system:autopilot"}
        assert stored(pilot, "pipeline_sre_shadow_plans", kind="repair_run") == 1
        assert stored(pilot, "pipeline_sre_shadow_plans", kind="escalate") == 1
        again = await pilot.cycle()  # shadow plans each failed run once
        assert again.shadow_plans == [] and again.detected == 0
    finally:
        await pilot.aclose()
    live = Autopilot(rt, metrics=OperatingMetrics())
    try:
        report = await live.cycle()
        assert len(report.new_incidents) == 2 and len(report.proposed) == 1 and len(report.escalated) == 1, report
    finally:
        await live.aclose()


async def test_a_workspace_that_is_down_is_an_error_of_its_environment(fake: FakeDatabricks) -> None:
    rt = runtime(settings_for({"down": "http://127.0.0.1:9", "prod": fake.host}))
    pilot = Autopilot(rt, metrics=OperatingMetrics())
    try:
        fail(fake, TIMEOUT)
        report = await pilot.cycle()
        [error] = report.errors
        assert error.startswith("down: Databricks workspace down (http://127.0.0.1:9) is unavailable"), error
        [incident_id] = report.new_incidents
        assert rt.incidents.get(incident_id).environment == "prod" and len(report.proposed) == 1
    finally:
        await pilot.aclose()
        await rt.aclose()


async def test_the_databricks_pass_can_be_switched_off(fake: FakeDatabricks) -> None:
    rt = runtime(settings_for({"prod": fake.host}, databricks=False))
    pilot = Autopilot(rt, metrics=OperatingMetrics())
    try:
        fail(fake, TIMEOUT)
        report = await pilot.cycle()
        assert report.detected == 0 and report.new_incidents == [] and report.errors == []
        assert not any("/runs/list" in call for call in fake.calls)
    finally:
        await pilot.aclose()
        await rt.aclose()


async def test_driver_stopped_unexpectedly_gets_one_repair_not_an_escalation(
    rt: Runtime, pilot: Autopilot, fake: FakeDatabricks
) -> None:
    fail(fake, "The spark driver has stopped unexpectedly and is restarting. Your notebook will be reattached.")
    report = await pilot.cycle()
    assert report.errors == [] and report.escalated == [], report
    [incident_id] = report.new_incidents
    [action_id] = report.proposed
    incident = rt.incidents.get(incident_id)
    assert incident.category == "oom" and incident.runbook_id == "databricks_job_oom"
    assert rt.governance.get_action(action_id).action.kind == "repair_run"
    assert [e for e, _ in events(rt)] == ["approval_requested"] and fake.repairs == []


def store_down_once(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next move of an incident after an action ran fails as a locked store fails it; the one after works
    again."""
    reach = rt.incidents.reach

    def down(incident: str, state: str, **kw: Any) -> Any:
        monkeypatch.setattr(rt.incidents, "reach", reach)
        raise BackendUnavailable("state store error (sqlite): OperationalError: database is locked")

    monkeypatch.setattr(rt.incidents, "reach", down)


async def test_an_action_whose_incident_missed_the_run_moves_on_without_a_second_call(
    rt: Runtime, pilot: Autopilot, fake: FakeDatabricks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store fails between the call and the incident's move: the action has run, its incident still
    awaits approval. The next cycle moves the incident on to verification and sends nothing again."""
    fail(fake, TIMEOUT)
    [action_id] = (await pilot.cycle()).proposed
    incident_id = rt.incidents.by_action(action_id).id  # type: ignore[union-attr]
    rt.governance.approve(action_id, "alice", "a read timeout; repair it")
    store_down_once(rt, monkeypatch)
    lost = await pilot.cycle()
    assert lost.executed == [] and len(lost.errors) == 1 and "database is locked" in lost.errors[0], lost
    assert rt.governance.get_action(action_id).state == "succeeded" and len(fake.repairs) == 1
    assert rt.incidents.get(incident_id).state == "awaiting_approval"

    healed = await pilot.cycle()
    assert healed.errors == [] and healed.executed == [], healed
    incident = rt.incidents.get(incident_id)
    assert incident.state == "verifying" and {"executing", "verifying"} <= set(incident.steps)
    assert len(fake.repairs) == 1


async def test_a_person_retrying_an_action_that_ran_gets_the_refusal_and_a_moved_incident(
    rt: Runtime, pilot: Autopilot, fake: FakeDatabricks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Executing from the CLI or the console, the store fails after the call: the person retries, is told the action
    already ran (exactly once), and the incident is no longer stuck awaiting approval."""
    fail(fake, TIMEOUT)
    [action_id] = (await pilot.cycle()).proposed
    incident_id = rt.incidents.by_action(action_id).id  # type: ignore[union-attr]
    rt.governance.approve(action_id, "alice", "a read timeout; repair it")
    alice = Principal("cli", "alice")
    store_down_once(rt, monkeypatch)
    with pytest.raises(BackendUnavailable):
        await operations.execute(rt, alice, action_id)
    assert rt.incidents.get(incident_id).state == "awaiting_approval" and len(fake.repairs) == 1

    with pytest.raises(PolicyRefusal) as refused:
        await operations.execute(rt, alice, action_id)
    assert refused.value.rule == "action.already_executed"
    assert rt.incidents.get(incident_id).state == "verifying" and len(fake.repairs) == 1
