"""check_recovery for Databricks incidents: the run a governed repair_run / run_now produced, judged by the
verify rules against the Jobs API stand-in (the real databricks-sdk over HTTP), and the autopilot's answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.app import operations, respond
from pipeline_sre.governance.identity import Principal
from pipeline_sre.lifecycle import postmortem, verify
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import parse_settings
from pipeline_sre.store.incidents import utcnow
from tests.fakes.databricks_api import FakeDatabricks, now_ms

pytestmark = pytest.mark.anyio
ONCALL = Principal("cli", "oncall")
TOKEN_ENV = "PSRE_T_VERIFY_DBX_TOKEN"
NIGHTLY, BACKFILL = 21, 22


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDatabricks]:
    fake = FakeDatabricks()
    with fake.serve():
        fake.add_job(NIGHTLY, "nightly_orders")
        fake.add_job(BACKFILL, "backfill_orders")
        yield fake


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        self.events.append((event, payload))


@pytest.fixture
async def rt(fake: FakeDatabricks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    monkeypatch.setenv(TOKEN_ENV, fake.token)
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    settings = parse_settings(
        {
            "environments": {
                "prod": {
                    "airflow": {"url": "http://127.0.0.1:9"},
                    "databricks": {"host": fake.host, "token_env": TOKEN_ENV, "retry_timeout_seconds": 1},
                }
            },
            "incidents": {"verify": {"quiet_minutes": 30, "timeout_minutes": 120}},
            "governance": {
                "mode": "live",
                "approvers": ["alice", "bob"],
                "environments": {"prod": {"allow_dags": ["databricks:job/*"], "max_actions_per_dag_per_hour": 50}},
            },
        },
        "test",
    )
    runtime = Runtime(settings)
    runtime.notifier = Recorder()
    yield runtime
    await runtime.aclose()


def failed_run(fake: FakeDatabricks, job_id: int = NIGHTLY) -> int:
    run = fake.add_run(
        job_id,
        [
            {"task_key": "extract"},
            {"task_key": "load", "result_state": "FAILED", "error": "java.net.SocketTimeoutException: Read timed out"},
            {"task_key": "publish", "result_state": "UPSTREAM_FAILED"},
        ],
    )
    return int(run["run_id"])


async def executed(rt: Runtime, fake: FakeDatabricks, action: str = "repair_run", job_id: int = NIGHTLY) -> str:
    """A failed run, its incident, and the governed action proposed, approved and executed: the incident id."""
    run_id = failed_run(fake, job_id)
    plan = await operations.propose_job_action(rt, ONCALL, job_id, run_id, action)
    rt.governance.approve(plan["action"]["id"], "alice", "ok")
    done = await operations.execute(rt, ONCALL, plan["action"]["id"])
    assert done["sent"] and done["incident_id"] == plan["incident_id"]
    incident_id: str = plan["incident_id"]
    assert rt.incidents.get(incident_id).state == "verifying"
    return incident_id


def produced_run(rt: Runtime, incident_id: str) -> int:
    action_id = rt.incidents.get(incident_id).action_id
    assert action_id is not None
    result = rt.governance.get_action(action_id).result
    assert result is not None
    return int(result["run_id"])


def later(minutes: float) -> datetime:
    now: datetime = utcnow()
    return now + timedelta(minutes=minutes)


def checks(verdict: dict[str, Any]) -> dict[str, Any]:
    return {c["rule"]: c["ok"] for c in verdict["checks"]}


async def test_repair_recovers_after_the_quiet_period(rt: Runtime, fake: FakeDatabricks) -> None:
    incident_id = await executed(rt, fake)
    assert rt.incidents.get(incident_id).facts["failed_tasks"] == ["load", "publish"]
    running = await verify.check_recovery(rt, incident_id)
    assert running["verdict"] == "pending" and checks(running)["run_succeeded"] is None
    assert "not finished: ['load', 'publish']" in str(running["checks"])

    run = fake.finish(produced_run(rt, incident_id))
    repair = run["repair_history"][-1]
    assert {t["run_id"] for t in run["tasks"] if t["attempt_number"] == 1} == set(repair["task_run_ids"])
    quiet = await verify.check_recovery(rt, incident_id)
    assert quiet["verdict"] == "pending"
    assert checks(quiet) == {
        "action_executed": True,
        "run_succeeded": True,
        "failed_tasks_succeeded": True,
        "no_new_failure": None,
    }
    assert f"repair {repair['id']} of run {run['run_id']} is SUCCESS" in str(quiet["checks"])

    rt.incidents.clock = lambda: later(31)
    done = await verify.check_recovery(rt, incident_id)
    assert done["verdict"] == "recovered", done
    assert "no failed run of job 21 for 30 min" in done["checks"][-1]["detail"]
    assert rt.incidents.get(incident_id).state == "resolved"


async def test_repair_that_fails_again_is_not_recovered(rt: Runtime, fake: FakeDatabricks) -> None:
    incident_id = await executed(rt, fake)
    fake.finish(produced_run(rt, incident_id), {"load": "FAILED", "publish": "UPSTREAM_FAILED"})
    verdict = await verify.check_recovery(rt, incident_id)
    assert verdict["verdict"] == "not_recovered"
    assert checks(verdict) == {"action_executed": True, "run_succeeded": False, "failed_tasks_succeeded": False}
    assert "failed again: ['load', 'publish']" in str(verdict["checks"])
    assert verdict["next"].startswith(f"escalate('{incident_id}'")


async def test_repair_still_running_at_the_timeout_is_not_recovered(rt: Runtime, fake: FakeDatabricks) -> None:
    incident_id = await executed(rt, fake)
    rt.incidents.clock = lambda: later(119)
    assert (await verify.check_recovery(rt, incident_id))["verdict"] == "pending"
    rt.incidents.clock = lambda: later(121)
    verdict = await verify.check_recovery(rt, incident_id)
    assert verdict["verdict"] == "not_recovered"
    assert verdict["checks"][-1] == {
        "rule": "timeout",
        "ok": False,
        "detail": "still pending 120 min after the action",
    }


async def test_quiet_period_past_the_timeout_is_not_a_timeout(rt: Runtime, fake: FakeDatabricks) -> None:
    incident_id = await executed(rt, fake)
    fake.finish(produced_run(rt, incident_id), end_ms=now_ms() + 110 * 60_000)  # recovered late in the window
    rt.incidents.clock = lambda: later(125)
    verdict = await verify.check_recovery(rt, incident_id)
    assert verdict["verdict"] == "pending" and checks(verdict)["no_new_failure"] is None


async def test_run_now_pending_then_canceled(rt: Runtime, fake: FakeDatabricks) -> None:
    incident_id = await executed(rt, fake, "run_now", BACKFILL)
    run_id = produced_run(rt, incident_id)
    assert fake.runs[run_id]["trigger"] == "ONE_TIME"
    queued = await verify.check_recovery(rt, incident_id)
    assert queued["verdict"] == "pending" and f"run {run_id} (run now) is PENDING" in str(queued["checks"])
    fake.finish(run_id, {"extract": "CANCELED"}, result_state="CANCELED")
    verdict = await verify.check_recovery(rt, incident_id)
    assert verdict["verdict"] == "not_recovered" and checks(verdict)["run_succeeded"] is False
    assert "is CANCELED" in str(verdict["checks"])


async def test_run_now_then_a_new_failure_of_the_job(rt: Runtime, fake: FakeDatabricks) -> None:
    incident_id = await executed(rt, fake, "run_now", BACKFILL)
    run_id = produced_run(rt, incident_id)
    fake.finish(run_id, {"extract": "SUCCESS", "load": "SUCCESS", "publish": "SUCCESS"})
    assert (await verify.check_recovery(rt, incident_id))["verdict"] == "pending"
    fake.add_run(BACKFILL, [{"task_key": "load", "result_state": "FAILED"}], start_ms=now_ms(), end_ms=now_ms() + 1)
    verdict = await verify.check_recovery(rt, incident_id)
    assert verdict["verdict"] == "not_recovered"
    assert checks(verdict)["no_new_failure"] is False and "1 failed run(s) of job 22" in str(verdict["checks"])


async def test_no_executed_action_is_pending_and_a_denied_one_is_not_recovered(
    rt: Runtime, fake: FakeDatabricks
) -> None:
    run_id = failed_run(fake)
    plan = await operations.propose_job_action(rt, ONCALL, NIGHTLY, run_id)
    incident_id = plan["incident_id"]
    rt.incidents.clock = lambda: later(600)  # no timeout before the fix was applied
    proposed = await verify.check_recovery(rt, incident_id)
    assert proposed["verdict"] == "pending" and proposed["checks"][0]["rule"] == "action_executed"
    rt.governance.deny(plan["action"]["id"], "alice", "not now")
    denied = await verify.check_recovery(rt, incident_id)
    assert denied["verdict"] == "not_recovered" and "is denied" in denied["checks"][0]["detail"]


async def test_autopilot_escalates_once_with_a_notification_and_no_second_repair(
    rt: Runtime, fake: FakeDatabricks
) -> None:
    incident_id = await executed(rt, fake)
    fake.finish(produced_run(rt, incident_id), {"load": "TIMEDOUT"})
    repairs = len(fake.repairs)
    report = await respond.advance_open_incidents(rt)
    assert report.escalated == [incident_id] and report.errors == [], report
    incident = rt.incidents.get(incident_id)
    assert incident.state == "escalated" and incident.escalation_reason is not None
    assert incident.escalation_reason.startswith("not recovered after the action: ")
    assert "failed again: ['load']" in incident.escalation_reason
    recorder = rt.notifier
    assert isinstance(recorder, Recorder)
    assert [e for e, p in recorder.events if p["id"] == incident_id] == ["action_executed", "escalated"]
    again = await respond.advance_open_incidents(rt)
    assert again.escalated == [] and again.executed == [] and len(fake.repairs) == repairs
    timeline = await postmortem.build_timeline(rt, incident_id)
    assert "verification: not_recovered" in [e["what"] for e in timeline["events"]]
    assert incident.postmortem_path in report.postmortems  # written in the same pass
