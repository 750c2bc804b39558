"""The postmortem timeline shows every try of a retried task, read from Airflow's try history, since a
retry or a clear reuses the task's row and the task list shows only the latest try."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from pipeline_sre.app import operations
from pipeline_sre.governance.identity import Principal
from pipeline_sre.lifecycle import postmortem
from pipeline_sre.lifecycle.runtime import Runtime
from tests.fakes.airflow_api import FakeAirflow, FakeDag
from tests.unit.app.test_write_retries import runtime
from tests.unit.test_autopilot_webhooks import DAG, NETWORK_ERROR, TASKS, add_failed_run

pytestmark = pytest.mark.anyio
RUN = "manual__retried"
TRIES_ROUTE = "GET /dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
FAILED_TASK = TASKS[0][0]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")


def fake_of(version: Literal["2", "3"]) -> FakeAirflow:
    fake = FakeAirflow(version)
    fake.add_dag(FakeDag(DAG, ["tier:2"], "commerce", 3600, TASKS, max_tries=1))
    add_failed_run(fake, RUN, NETWORK_ERROR, minutes_ago=5)
    return fake


async def timeline_whats(tmp_path: Path, fake: FakeAirflow) -> list[str]:
    rt: Runtime = runtime(tmp_path, fake)
    try:
        plan = await operations.propose(rt, Principal("cli", "alice"), DAG, RUN, "prod")
        timeline = await postmortem.build_timeline(rt, plan["incident_id"])
    finally:
        await rt.aclose()
    return [e["what"] for e in timeline["events"]]


@pytest.mark.parametrize("version", ["2", "3"])
async def test_an_earlier_failed_try_is_on_the_timeline_before_the_latest(tmp_path: Path, version: str) -> None:
    fake = fake_of(version)  # type: ignore[arg-type]
    whats = await timeline_whats(tmp_path, fake)
    assert fake.count(TRIES_ROUTE) == 1  # only the retried task's history is read
    first, last = f"task {FAILED_TASK} try 1/2 failed", f"task {FAILED_TASK} try 2/2 failed"
    assert first in whats and last in whats and whats.index(first) < whats.index(last)
    assert not any("try history" in w or "not readable" in w for w in whats)


async def test_an_airflow_without_try_history_says_so_and_keeps_the_latest_try(tmp_path: Path) -> None:
    fake = fake_of("2")
    fake.serve_tries = False  # an Airflow 2 before 2.10
    whats = await timeline_whats(tmp_path, fake)
    assert f"task {FAILED_TASK} try 2/2 failed" in whats and f"task {FAILED_TASK} try 1/2 failed" not in whats
    assert f"run {RUN}: Airflow found no try history (2.10 added it); earlier tries not shown" in whats


async def test_a_try_history_that_cannot_be_read_is_named_not_hidden(tmp_path: Path) -> None:
    fake = fake_of("3")
    fake.fail_next(10, status=403, path="/tries")
    whats = await timeline_whats(tmp_path, fake)
    assert f"task {FAILED_TASK}: earlier tries not readable (backend_refused)" in whats
    assert f"task {FAILED_TASK} try 2/2 failed" in whats


async def test_try_histories_are_read_for_a_bounded_number_of_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postmortem, "MAX_TRIES_READ", 0)
    fake = fake_of("3")
    whats = await timeline_whats(tmp_path, fake)
    assert f"run {RUN}: earlier tries of 1 more retried tasks not read" in whats
    assert fake.count(TRIES_ROUTE) == 0
