"""Triage services (run_summary, failed_tasks, triage) against in-process Airflow 2 and 3 fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from pipeline_sre.errors import InvalidInput, NotFound, UnknownEnvironment
from pipeline_sre.lifecycle.compact import size
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow import triage
from pipeline_sre.settings.config import parse_settings
from tests.fakes.airflow_api import FakeAirflow, FakeDag

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC).replace(microsecond=0)
RUN = "scheduled__2026-11-23T08:00:00+00:00"
TASKS = [
    ("wait_for_orders", "ExternalTaskSensor"),
    ("extract_orders", "PythonOperator"),
    ("load_orders", "SQLExecuteQueryOperator"),
    ("publish_orders", "BashOperator"),
]


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")


def build(version: str = "3", tags: list[str] | None = None, dag_id: str = "sales_orders") -> FakeAirflow:
    fake = FakeAirflow(version)  # type: ignore[arg-type]
    tags = tags if tags is not None else ["tier:1", "business_critical", "team:sales-data"]
    fake.add_dag(FakeDag(dag_id, tags, "sales-data", 3600, TASKS, max_tries=2))
    fake.add_run(dag_id, "scheduled__2026-11-23T04:00:00+00:00", "success", end=NOW - timedelta(hours=4))
    for hours, run_id in (
        (3, "scheduled__2026-11-23T06:00:00+00:00"),
        (2, "scheduled__2026-11-23T07:00:00+00:00"),
    ):
        fake.add_run(dag_id, run_id, "failed", end=NOW - timedelta(hours=hours), first_failed_task=2)
    fake.add_run(
        dag_id,
        RUN,
        "failed",
        end=NOW - timedelta(minutes=20),
        first_failed_task=1,
        conf={"region": "eu", "password": "hunter2"},
        note="paged by on-call",
    )
    return fake


def runtime(fake: FakeAirflow) -> Runtime:
    airflow = {
        "url": "http://prod.airflow.test",
        "username_env": "PSRE_T_USER",
        "password_env": "PSRE_T_PASS",
    }
    settings = parse_settings({"environments": {"prod": {"airflow": airflow}}}, "test")
    return Runtime(settings, transport=fake.transport())


@pytest.fixture(params=["3", "2"])
async def fake_rt(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeAirflow, Runtime]]:
    fake = build(request.param)
    rt = runtime(fake)
    yield fake, rt
    await rt.aclose()


async def test_triage_is_small_and_decisive(fake_rt: tuple[FakeAirflow, Runtime]) -> None:
    fake, rt = fake_rt
    result = await triage.triage(rt, "sales_orders", RUN)
    assert size(result) <= triage.TRIAGE_BYTES
    assert result["severity"] == "SEV1"  # tier 1, business critical, 3 failures in the lookback
    assert result["severity_rule"] == "severity.rules[0]"
    assert result["first_failed_task"] == "extract_orders"
    assert result["attempts"] == "3/3" and result["retries_left"] == 0
    assert result["failed_tasks"] == ["extract_orders"]
    assert result["blocked_tasks"] == 2
    assert result["failures_in_lookback"] == 3
    assert result["consecutive_failed_runs"] == 3 and result["persistence"] == "persistent"
    assert result["env"] == "prod" and "business_critical" in result["tags"]
    assert result["url"].startswith("http://prod.airflow.test/dags/sales_orders/")
    assert "%2B00%3A00" in result["url"]
    assert fake.status_counts.get(500, 0) == 0


async def test_triage_severity_follows_tier() -> None:
    fake = build(tags=["tier:4"])
    rt = runtime(fake)
    result = await triage.triage(rt, "sales_orders", RUN)
    assert result["severity"] == "SEV4" and result["severity_rule"] == "severity.default"
    assert result["tier"] == 4 and result["business_critical"] is False
    await rt.aclose()


async def test_triage_fits_1500_bytes_with_huge_tags_and_ids() -> None:
    dag_id = "d" * 240
    fake = build(tags=["tier:2"] + [f"team:{'x' * 90}-{i}" for i in range(60)], dag_id=dag_id)
    rt = runtime(fake)
    result = await triage.triage(rt, dag_id, RUN)
    assert size(result) <= triage.TRIAGE_BYTES
    assert result["severity"] in ("SEV1", "SEV2", "SEV3", "SEV4")
    await rt.aclose()


async def test_run_summary_withholds_conf_values(fake_rt: tuple[FakeAirflow, Runtime]) -> None:
    _, rt = fake_rt
    result = await triage.run_summary(rt, "sales_orders", RUN)
    assert result["state"] == "failed"
    assert result["tasks_by_state"] == {"upstream_failed": 2, "success": 1, "failed": 1}
    assert result["conf_keys"] == ["password", "region"]
    assert "hunter2" not in str(result)
    assert result["note"] == "paged by on-call"


async def test_failed_tasks_root_cause_first(fake_rt: tuple[FakeAirflow, Runtime]) -> None:
    _, rt = fake_rt
    result = await triage.failed_tasks(rt, "sales_orders", RUN)
    assert result["root_task"] == "extract_orders"
    assert [t["task_id"] for t in result["tasks"]] == ["extract_orders", "load_orders", "publish_orders"]
    assert [t["state"] for t in result["tasks"]] == ["failed", "upstream_failed", "upstream_failed"]
    assert result["tasks"][0]["try_number"] == 3 and result["tasks"][0]["max_tries"] == 2


async def test_unknown_run_is_not_found(fake_rt: tuple[FakeAirflow, Runtime]) -> None:
    _, rt = fake_rt
    with pytest.raises(NotFound, match="no run 'nope' of DAG 'sales_orders' in environment 'prod'"):
        await triage.triage(rt, "sales_orders", "nope")


@pytest.mark.parametrize(
    ("dag_id", "run_id", "message"),
    [
        ("", RUN, "dag_id must be a non-empty string"),
        ("sales_orders", "   ", "run_id must be a non-empty string"),
        ("x" * 251, RUN, "dag_id is longer than Airflow allows"),
    ],
)
async def test_bad_ids_are_invalid_input(dag_id: str, run_id: str, message: str) -> None:
    fake = build()
    rt = runtime(fake)
    with pytest.raises(InvalidInput, match=message):
        await triage.triage(rt, dag_id, run_id)
    assert fake.total_requests == 0
    await rt.aclose()


async def test_unknown_environment_lists_valid_ones() -> None:
    rt = runtime(build())
    with pytest.raises(UnknownEnvironment, match="unknown environment 'qa'; valid environments: prod"):
        await triage.triage(rt, "sales_orders", RUN, environment="qa")
    await rt.aclose()


@pytest.mark.parametrize("bad", ["..", ".", "a/../b", "x/.", "run\nid"])
def test_ids_that_would_change_the_request_path_are_refused(bad: str) -> None:
    from pipeline_sre.lifecycle.sources.airflow.triage import check_ids

    with pytest.raises(InvalidInput):
        check_ids(dag_id="etl", run_id=bad)


def test_task_report_cuts_the_excerpt_down_around_its_evidence() -> None:
    from pipeline_sre.diagnosis import diagnose_lines
    from pipeline_sre.lifecycle.sources.airflow.diagnose import PER_TASK_BYTES, _task_report

    # a long traceback above the error and long lines after it: the report has less room than the excerpt
    lines = ["Traceback (most recent call last):\n"]
    lines += [f'  File "/opt/airflow/dags/pipeline_{i}.py", line {i}, in step_{i}\n    run_{i}()\n' for i in range(40)]
    lines += ["KeyError: 'customer_id' " + "missing in the row " * 14 + "\n"]
    lines += [f"[2024-05-02, 04:00:02 UTC] {{cleanup.py:9}} INFO - {'y' * 300} {i}\n" for i in range(4)]
    d = diagnose_lines(lines)
    assert len(d.excerpt.encode()) > 1500
    report = _task_report("load", 1, d)
    assert size(report) <= PER_TASK_BYTES
    assert "KeyError: 'customer_id'" in report["excerpt"]
    assert report["basis"] == d.basis  # a rule's answer or the learned model's guess, for the agent to weigh


def test_task_report_fits_when_json_escaping_lengthens_the_excerpt() -> None:
    from pipeline_sre.diagnosis import diagnose_lines
    from pipeline_sre.lifecycle.sources.airflow.diagnose import PER_TASK_BYTES, _task_report

    # every frame's source line is full of quotes: escaped, the excerpt is about a fifth longer than its bytes
    row = '{"a": "b", "c": "d", "e": "f", "g": "h", "i": "j"}'
    lines = ["Traceback (most recent call last):\n"]
    lines += [f'  File "dag_{i}.py", line {i}, in f\n    row = {row}\n' for i in range(40)]
    lines += ['KeyError: "id"\n']
    report = _task_report("load", 1, diagnose_lines(lines))
    assert size(report) <= PER_TASK_BYTES
    assert 'KeyError: "id"' in report["excerpt"]
