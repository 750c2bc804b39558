"""Databricks connector, job status, detection, diagnosis and action kinds, against the Jobs API stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.connectors.clients import Clients
from pipeline_sre.connectors.databricks import DatabricksClient
from pipeline_sre.errors import BackendRefused, BackendUnavailable, ConfigError, InvalidInput, NotFound
from pipeline_sre.governance.actions import Action
from pipeline_sre.governance.external_actions import _repair_after
from pipeline_sre.governance.kinds import get_kind
from pipeline_sre.governance.policy import PolicyEngine
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.databricks import jobs as dbx
from pipeline_sre.settings.backends import DatabricksConnection
from pipeline_sre.settings.config import Settings, parse_settings
from tests.fakes.databricks_api import FakeDatabricks, now_ms

pytestmark = pytest.mark.anyio
TOKEN_ENV = "PSRE_TEST_DBX_TOKEN"
SECRET = "dapi" + "0123456789abcdef" * 2
OOM_TRACE = (
    "Py4JJavaError: An error occurred while calling o123.collectToPython.\n"
    ": java.lang.OutOfMemoryError: Java heap space\n"
    "\tat java.util.Arrays.copyOf(Arrays.java:3236)\n"
    "\tat org.apache.spark.sql.Dataset.collectToPython(Dataset.scala:3997)\n"
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDatabricks]:
    fake = FakeDatabricks()
    with fake.serve():
        fake.add_job(11, "nightly_sales")
        fake.add_job(12, "hourly_clicks")
        fake.add_job(13, "launch_me")
        fake.forbidden_jobs.add(66)
        yield fake


@pytest.fixture(autouse=True)
def _token(fake: FakeDatabricks, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, fake.token)


@pytest.fixture
def settings(fake: FakeDatabricks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    return parse_settings(
        {
            "environments": {
                "prod": {
                    "airflow": {"url": "http://127.0.0.1:9"},
                    "databricks": {
                        "host": fake.host,
                        "token_env": TOKEN_ENV,
                        "retry_timeout_seconds": 1,
                        "max_retries": 1,
                        "jobs": [{"match": "nightly_*", "tier": 1, "business_critical": True, "owner": "sales-eng"}],
                    },
                }
            },
        },
        "test",
    )


@pytest.fixture
async def rt(settings: Settings) -> Any:
    runtime = Runtime(settings)
    yield runtime
    await runtime.aclose()


def client(fake: FakeDatabricks, **kw: Any) -> DatabricksClient:
    conn = DatabricksConnection(host=fake.host, token_env=TOKEN_ENV, retry_timeout_seconds=1, **kw)
    return DatabricksClient("prod", conn, backoff_base=0.01)


# -- config ------------------------------------------------------------------------------------------


def test_config_names_allowed_keys_and_refuses_inline_token() -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings(
            {
                "environments": {
                    "p": {"airflow": {"url": "http://x"}, "databricks": {"host": "https://h", "token": "x"}}
                }
            },
            "f.yaml",
        )
    text = str(err.value)
    assert "environments.p.databricks.token: unknown key" in text and "token_env" in text
    with pytest.raises(ConfigError, match="must start with https://"):
        parse_settings({"environments": {"p": {"airflow": {"url": "http://x"}, "databricks": {"host": "h"}}}}, "f")


def test_job_meta_matches_id_or_name() -> None:
    conn = DatabricksConnection(jobs=[{"match": "nightly_*", "tier": 1}, {"match": "4?", "tier": 2}])
    assert conn.meta_for(7, "nightly_sales").tier == 1
    assert conn.meta_for(42, "other").tier == 2
    assert conn.meta_for(7, "other").tier == 3


# -- connector ---------------------------------------------------------------------------------------


async def test_unknown_job_is_not_found_naming_job_and_workspace(fake: FakeDatabricks) -> None:
    with pytest.raises(NotFound) as err:
        await client(fake).get_job(999)
    assert "job 999" in err.value.message and f"Databricks workspace prod ({fake.host})" in err.value.message
    # get-output answers 400 INVALID_PARAMETER_VALUE "... does not exist" for an unknown run, as documented.
    with pytest.raises(NotFound, match="task run 5 "):
        await client(fake).get_run_output(5)


async def test_server_errors_are_retried_never_4xx(fake: FakeDatabricks) -> None:
    c = client(fake, max_retries=2)
    before = fake.calls["GET /api/2.2/jobs/get"]
    fake.fail_next.extend([500, 500])
    assert (await c.get_job(11))["job_id"] == 11
    fake.fail_next.extend([500, 500, 500])
    with pytest.raises(BackendUnavailable, match=r"Databricks workspace prod .* after 3 attempt"):
        await c.get_job(11)
    with pytest.raises(BackendRefused, match="permission denied"):
        await c.get_job(66)
    assert fake.calls["GET /api/2.2/jobs/get"] - before == 3 + 3 + 1
    fake.fail_next.clear()


async def test_bad_token_is_refused_without_leaking_it(fake: FakeDatabricks, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    with pytest.raises(BackendRefused) as err:
        await client(fake).get_job(11)
    assert TOKEN_ENV in err.value.message and "unauthenticated" in err.value.message
    assert SECRET not in err.value.message
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(BackendRefused, match=f"{TOKEN_ENV} is not set"):
        await client(fake).get_job(11)


async def test_unreachable_workspace_is_unavailable() -> None:
    conn = DatabricksConnection(host="http://127.0.0.1:9", token_env="PATH", retry_timeout_seconds=1, max_retries=0)
    with pytest.raises(BackendUnavailable, match=r"Databricks workspace prod \(http://127.0.0.1:9\) is unavailable"):
        await DatabricksClient("prod", conn).get_job(1)


# -- status, detection, diagnosis --------------------------------------------------------------------


async def test_job_status_reports_failed_run_with_redacted_fenced_trace(fake: FakeDatabricks, rt: Runtime) -> None:
    run = fake.add_run(
        11,
        [
            {"task_key": "ingest"},
            {
                "task_key": "aggregate",
                "result_state": "FAILED",
                "cluster_id": "c-oom",
                "state_message": "Task aggregate failed with message: Workload failed.",
                "error": f"OutOfMemoryError (token {SECRET})",
                "error_trace": OOM_TRACE + f"\tat conf token={SECRET}\n",
            },
        ],
        start_ms=now_ms() - 60_000,
        end_ms=now_ms() - 1000,
    )
    status = await dbx.job_status(rt, 11)
    last = status["last_run"]
    assert status["job_name"] == "nightly_sales" and status["tier"] == 1 and status["owner"] == "sales-eng"
    assert last["run_id"] == run["run_id"] and last["result_state"] == "FAILED"
    assert last["run_page_url"].endswith(f"/run/{run['run_id']}")
    assert [t["task_key"] for t in last["tasks"]] == ["ingest", "aggregate"]
    error = last["errors"][0]
    assert error["task_key"] == "aggregate" and "UNTRUSTED-LOG" in error["error_trace"]
    assert "OutOfMemoryError" in error["error_trace"]
    assert SECRET not in str(status)


async def test_job_status_unknown_job(rt: Runtime) -> None:
    with pytest.raises(NotFound, match="no Databricks job 4242"):
        await dbx.job_status(rt, 4242)
    with pytest.raises(InvalidInput, match="positive integer"):
        await dbx.job_status(rt, "12; drop")


async def test_failed_runs_in_window_grouped_by_job(fake: FakeDatabricks, rt: Runtime) -> None:
    old = fake.add_run(
        12,
        [{"task_key": "t", "result_state": "FAILED"}],
        start_ms=now_ms() - 5 * 3600_000,
        end_ms=now_ms() - 4 * 3600_000,
    )
    long_run = fake.add_run(
        12,
        [{"task_key": "t", "result_state": "FAILED"}],
        start_ms=now_ms() - 3 * 3600_000,
        end_ms=now_ms() - 10 * 60_000,
    )
    ok = fake.add_run(12, [{"task_key": "t"}])
    found = await dbx.failed_job_runs(rt, 60)
    ids = {r["run_id"] for r in found["runs"]}
    assert long_run["run_id"] in ids and old["run_id"] not in ids and ok["run_id"] not in ids
    jobs = {j["job_id"]: j for j in found["jobs"]}
    assert jobs[12]["count"] >= 1 and jobs[12]["severity"].startswith("SEV")
    with pytest.raises(InvalidInput):
        await dbx.failed_job_runs(rt, 0)


async def test_diagnosis_driver_oom(fake: FakeDatabricks, rt: Runtime) -> None:
    start = now_ms() - 30 * 60_000
    fake.add_event(
        "c-drv",
        "DRIVER_NOT_RESPONDING",
        start + 60_000,
        driver_state_message="Driver is up but is not responsive, likely due to GC.",
    )
    run = fake.add_run(
        11,
        [
            {
                "task_key": "collect",
                "result_state": "FAILED",
                "cluster_id": "c-drv",
                "error_trace": OOM_TRACE,
                "state_message": "The spark driver has stopped unexpectedly and is restarting.",
            }
        ],
        start_ms=start,
    )
    out = await dbx.diagnose_job_run(rt, run["run_id"])
    task = out["tasks"][0]
    assert task["category"] == "oom" and task["task_key"] == "collect"
    assert task["basis"].startswith("rule ")  # how the category was reached, as in Airflow's task reports
    assert any("DRIVER_NOT_RESPONDING" in e for e in task["cluster_events"])
    assert out["incident_id"].startswith("inc_") and out["severity"] in ("SEV2", "SEV3")
    assert rt.incidents.get(out["incident_id"]).facts["basis"] == task["basis"]  # the console and postmortem show it
    again = await dbx.diagnose_job_run(rt, run["run_id"])
    assert again["incident_id"] == out["incident_id"]  # the same failure joins the open incident


async def test_diagnosis_spot_loss_is_killed_external(fake: FakeDatabricks, rt: Runtime) -> None:
    start = now_ms() - 30 * 60_000
    fake.add_event(
        "c-spot",
        "NODES_LOST",
        start + 120_000,
        reason={"code": "SPOT_INSTANCE_TERMINATION", "type": "CLOUD_FAILURE", "parameters": {"instance_id": "i-0abc"}},
    )
    run = fake.add_run(
        12,
        [
            {
                "task_key": "agg",
                "result_state": "FAILED",
                "cluster_id": "c-spot",
                "error": "org.apache.spark.SparkException: Job aborted due to stage failure: ExecutorLostFailure "
                "(executor 3 exited caused by one of the running tasks) Reason: worker lost",
            }
        ],
        start_ms=start,
    )
    out = await dbx.diagnose_job_run(rt, run["run_id"])
    assert out["tasks"][0]["category"] == "killed_external", out
    assert out["runbook"]["id"] == "killed_external" and out["runbook"]["escalate"] is False


async def test_diagnosis_launch_failure_is_resource_exhausted(fake: FakeDatabricks, rt: Runtime) -> None:
    start = now_ms() - 30 * 60_000
    fake.add_event(
        "c-launch",
        "TERMINATING",
        start + 30_000,
        reason={
            "code": "CLOUD_PROVIDER_LAUNCH_FAILURE",
            "type": "CLOUD_FAILURE",
            "parameters": {"aws_api_error_code": "InsufficientInstanceCapacity"},
        },
    )
    run = fake.add_run(
        13,
        [
            {
                "task_key": "etl",
                "result_state": "INTERNAL_ERROR",
                "cluster_id": "c-launch",
                "state_message": "Cluster 'c-launch' was terminated. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE",
            }
        ],
        start_ms=start,
    )
    out = await dbx.diagnose_job_run(rt, run["run_id"])
    assert out["tasks"][0]["category"] == "resource_exhausted", out


async def test_diagnosis_of_a_successful_run_says_so(fake: FakeDatabricks, rt: Runtime) -> None:
    run = fake.add_run(12, [{"task_key": "t"}])
    out = await dbx.diagnose_job_run(rt, run["run_id"])
    assert out["tasks"] == [] and "did not fail" in out["message"]


# -- action kinds ------------------------------------------------------------------------------------


def _action(kind: str, params: dict[str, Any]) -> Action:
    spec = get_kind(kind)
    return Action(
        id="act_abcdefghijklmnopqrst",
        kind=kind,
        environment="prod",
        params=spec.normalise(params),
        requested_by="me",
        created_at=datetime.now(UTC),
    )


def _call(action: Action) -> dict[str, Any]:
    """The call governance digests: built by the kind's executor (its request by DatabricksClient)."""
    settings = parse_settings({"environments": {"prod": {"airflow": {"url": "http://x"}}}}, "t")
    return get_kind(action.kind).executor_for(Clients(settings)).describe_call(action)


def test_repair_and_run_now_calls() -> None:
    repair = _action("repair_run", {"job_id": 11, "run_id": 5, "latest_repair_id": 9})
    call = _call(repair)
    assert call["path"] == "/api/2.2/jobs/runs/repair"
    assert call["body"] == {"run_id": 5, "rerun_all_failed_tasks": True, "latest_repair_id": 9}
    run_now = _action("run_now", {"job_id": 12, "job_parameters": {"date": "2025-01-01"}})
    body = _call(run_now)["body"]
    assert body == {"job_id": 12, "idempotency_token": run_now.id, "job_parameters": {"date": "2025-01-01"}}
    with pytest.raises(InvalidInput, match="not both"):
        get_kind("run_now").parse({"job_id": 1, "job_parameters": {"a": "1"}, "notebook_params": {"b": "2"}})
    with pytest.raises(InvalidInput, match="job_id"):
        get_kind("repair_run").parse({"job_id": -1, "run_id": 1})


def test_resources_are_allowlistable_with_dag_globs() -> None:
    schema = {"type": "object", "properties": {"date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}}}
    gov = parse_settings(
        {
            "environments": {"prod": {"airflow": {"url": "http://x"}}},
            "governance": {
                "environments": {
                    "prod": {
                        "allow_dags": ["databricks:job/1?"],
                        "conf_schemas": [{"match": "databricks:job/12", "schema": schema}],
                    }
                }
            },
        },
        "t",
    ).governance
    engine = PolicyEngine(gov)
    spec = get_kind("run_now")

    def target(params: dict[str, Any]) -> list[str]:
        parsed = spec.parse(params)
        return [
            c.rule for c in engine.check_target("prod", "run_now", spec.resource(parsed), spec.conf(parsed)) if not c.ok
        ]

    assert target({"job_id": 12, "job_parameters": {"date": "2025-01-01"}}) == []
    assert target({"job_id": 12, "job_parameters": {"date": "yesterday"}}) == ["conf.schema"]
    assert target({"job_id": 12, "job_parameters": {"other": "x"}}) == ["conf.schema"]
    assert target({"job_id": 11, "job_parameters": {"date": "2025-01-01"}}) == ["conf.schema"]  # no schema: empty only
    assert target({"job_id": 11}) == []
    assert target({"job_id": 99}) == ["allowlist.dags"]


def test_repair_evidence_is_the_repair_after_the_recorded_one() -> None:
    history = [
        {"type": "ORIGINAL", "start_time": 1},
        {"type": "REPAIR", "id": 7, "start_time": 5},
        {"type": "REPAIR", "id": 8, "start_time": 9},
    ]
    assert _repair_after(history, None) == history[1]
    assert _repair_after(history, 7) == history[2]
    assert _repair_after(history, 8) is None
    assert _repair_after(history[:1], None) is None
