"""Databricks repair / run-now and GitHub config PRs through the governed path, end to end over MCP.

The real databricks-sdk and httpx talk to local stand-ins over HTTP; the MCP tools run in-process.
propose (MCP) -> approve (GovernanceService.approve, another person) -> execute (MCP) -> the stand-in saw
exactly one repair / run / pull request, also when the process "crashes" right after the call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from pipeline_sre.connectors.github import GitHubClient
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import parse_settings
from pipeline_sre.surfaces.mcp.tooling import ToolRegistrar
from pipeline_sre.surfaces.mcp.tools_external import register_databricks, register_github
from tests.fakes.databricks_api import FakeDatabricks
from tests.fakes.github_api import FakeGitHub
from tests.unit.governance.fakes import Crash

pytestmark = pytest.mark.anyio
DBX_TOKEN_ENV = "PSRE_IT_DBX_TOKEN"
GH_TOKEN_ENV = "PSRE_IT_GH_TOKEN"
SECRET = "dapi" + "fedcba9876543210" * 2
DATE_SCHEMA = {
    "type": "object",
    "properties": {"date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}},
    "required": ["date"],
}
JOB_JSON = json.dumps({"name": "nightly_sales", "new_cluster": {"num_workers": 4}}, indent=2) + "\n"


@pytest.fixture(scope="module")
def dbx() -> Iterator[FakeDatabricks]:
    fake = FakeDatabricks()
    with fake.serve():
        fake.add_job(11, "nightly_sales")
        fake.add_job(12, "backfill", parameters=[{"name": "date", "default": "2025-01-01"}])
        yield fake


@pytest.fixture(scope="module")
def gh() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with fake.serve():
        yield fake


@pytest.fixture
async def rt(
    dbx: FakeDatabricks, gh: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Runtime]:
    monkeypatch.setenv(DBX_TOKEN_ENV, dbx.token)
    monkeypatch.setenv(GH_TOKEN_ENV, gh.token)
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    settings = parse_settings(
        {
            "environments": {
                "prod": {
                    "airflow": {"url": "http://127.0.0.1:9"},
                    "databricks": {"host": dbx.host, "token_env": DBX_TOKEN_ENV, "retry_timeout_seconds": 1},
                }
            },
            "github": {
                "api_url": gh.url,
                "token_env": GH_TOKEN_ENV,
                "repositories": [{"repo": "acme/pipelines", "paths": ["jobs/*.json"]}],
            },
            "governance": {
                "mode": "live",
                "approvers": ["alice", "bob"],
                "execution_lease_seconds": 1,
                "environments": {
                    "prod": {
                        "allow_dags": ["databricks:job/1?", "github:acme/pipelines:jobs/*"],
                        "max_actions_per_dag_per_hour": 20,
                        "conf_schemas": [{"match": "databricks:job/12", "schema": DATE_SCHEMA}],
                    }
                },
            },
        },
        "test",
    )
    runtime = Runtime(settings)
    yield runtime
    await runtime.aclose()


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[Client]:
    server = MCPServer(name="pipeline-sre-test")
    register_databricks(ToolRegistrar(server, rt), rt)
    register_github(ToolRegistrar(server, rt), rt)
    async with Client(server) as c:
        yield c


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def call(client: Client, name: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    assert not result.is_error, _text(result)
    data: dict[str, Any] = json.loads(_text(result))
    return data


async def refused(client: Client, name: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    assert result.is_error, _text(result)
    data: dict[str, Any] = json.loads(_text(result))
    return data


def approve(rt: Runtime, action_id: str) -> None:
    rt.governance.approve(action_id, "alice", "looks right")


def failed_run(dbx: FakeDatabricks, job_id: int = 11, **task: Any) -> int:
    spec = {
        "task_key": "aggregate",
        "result_state": "FAILED",
        "cluster_id": "c-1",
        "error": "java.lang.OutOfMemoryError: Java heap space",
        "error_trace": "java.lang.OutOfMemoryError: "
        "Java heap space\n\tat org.apache.spark.sql.Dataset.collect(Dataset.scala:3000)\n",
        **task,
    }
    return int(dbx.add_run(job_id, [{"task_key": "ingest"}, spec])["run_id"])


def audit_events(rt: Runtime) -> list[Any]:
    return list(rt.governance.audit.records())


# -- Databricks repair ---------------------------------------------------------------------------------


async def test_repair_run_end_to_end_exactly_once(dbx: FakeDatabricks, rt: Runtime, client: Client) -> None:
    run_id = failed_run(dbx)
    plan = await call(client, "propose_job_action", job_id=11, run_id=run_id)
    action = plan["action"]
    assert plan["diagnosis"]["category"] == "oom" and plan["incident_id"].startswith("inc_")
    assert action["call"]["body"] == {"run_id": run_id, "rerun_all_failed_tasks": True}
    assert plan["decision"]["rule"] == "approvals.required"
    early = await refused(client, "repair_run", action_id=action["id"])
    assert early["rule"] == "approvals.required"
    assert not [r for r in dbx.repairs if r["run_id"] == run_id]

    approve(rt, action["id"])
    wrong = await refused(client, "run_now", action_id=action["id"])
    assert wrong["rule"] == "action.kind_mismatch"
    done = await call(client, "repair_run", action_id=action["id"])
    assert done["sent"] and done["result"]["repair_id"] and done["incident_id"] == plan["incident_id"]
    again = await refused(client, "repair_run", action_id=action["id"])
    assert again["rule"] == "action.already_executed"
    assert [r for r in dbx.repairs if r["run_id"] == run_id] == [{"run_id": run_id, "rerun_all_failed_tasks": True}]
    assert rt.incidents.get(plan["incident_id"]).state == "verifying"


async def test_repair_crash_after_send_recovers_without_a_second_repair(
    dbx: FakeDatabricks, rt: Runtime, client: Client
) -> None:
    run_id = failed_run(dbx)
    action_id = (await call(client, "propose_job_action", job_id=11, run_id=run_id))["action"]["id"]
    approve(rt, action_id)
    executor: Any = rt.governance.executors.get("repair_run")
    send = executor.execute

    async def send_then_crash(action: Any) -> dict[str, Any]:
        await send(action)
        raise Crash()

    executor.execute = send_then_crash
    with pytest.raises(Crash):
        await rt.governance.execute(action_id, "mcp:test")
    executor.execute = send
    await asyncio.sleep(1.1)  # the execution lease runs out: the "crashed" process is gone
    recovered = await rt.governance.recover_executing()
    assert [r.state for r in recovered] == ["succeeded"]
    assert recovered[0].result is not None and recovered[0].result["existing"]["repair_id"]
    assert len([r for r in dbx.repairs if r["run_id"] == run_id]) == 1


async def test_repair_of_a_run_of_another_job_or_a_good_run_is_refused(dbx: FakeDatabricks, client: Client) -> None:
    run_id = failed_run(dbx)
    other = await refused(client, "propose_job_action", job_id=12, run_id=run_id)
    assert other["error"] == "invalid_input" and "belongs to job 11" in other["message"]
    good = int(dbx.add_run(11, [{"task_key": "t"}])["run_id"])
    ok = await refused(client, "propose_job_action", job_id=11, run_id=good)
    assert "only a failed run can be repaired" in ok["message"]


# -- Databricks run now --------------------------------------------------------------------------------


async def test_run_now_validated_and_idempotent(dbx: FakeDatabricks, rt: Runtime, client: Client) -> None:
    bad = await call(client, "propose_job_action", job_id=12, action="run_now", parameters={"date": "yesterday"})
    assert bad["decision"]["rule"] == "conf.schema" and "action" not in bad
    extra = await call(
        client,
        "propose_job_action",
        job_id=12,
        action="run_now",
        parameters={"date": "2025-02-01", "drop_tables": True},
    )
    assert extra["decision"]["rule"] == "conf.schema" and "drop_tables" in extra["decision"]["message"]
    sent_before = len(dbx.run_nows)

    plan = await call(client, "propose_job_action", job_id=12, action="run_now", parameters={"date": "2025-02-01"})
    action = plan["action"]
    assert action["call"]["body"] == {
        "job_id": 12,
        "idempotency_token": action["id"],
        "job_parameters": {"date": "2025-02-01"},
    }
    approve(rt, action["id"])
    executor: Any = rt.governance.executors.get("run_now")
    send, find = executor.execute, executor.find_existing

    async def send_then_crash(a: Any) -> dict[str, Any]:
        await send(a)
        raise Crash()

    async def finds_nothing(a: Any) -> None:
        return None

    executor.execute, executor.find_existing = send_then_crash, finds_nothing
    with pytest.raises(Crash):
        await rt.governance.execute(action["id"], "mcp:test")
    executor.execute = send
    await asyncio.sleep(1.1)
    # Even if the run is not recognised, the re-sent call carries the same idempotency token.
    recovered = await rt.governance.recover_executing()
    executor.find_existing = find
    assert [r.state for r in recovered] == ["succeeded"]
    sent = dbx.run_nows[sent_before:]
    assert len(sent) == 2 and {s["idempotency_token"] for s in sent} == {action["id"]}
    runs = [r for r in dbx.runs.values() if r["job_id"] == 12 and r["trigger"] == "ONE_TIME"]
    assert len(runs) == 1 and recovered[0].result is not None and recovered[0].result["run_id"] == runs[0]["run_id"]
    # and the read-only evidence finds that run
    found = await find(rt.governance.get_action(action["id"]).action)
    assert found is not None and found["run_id"] == runs[0]["run_id"]


async def test_unknown_job_is_not_found_and_nothing_is_written(dbx: FakeDatabricks, client: Client) -> None:
    before = (len(dbx.repairs), len(dbx.run_nows))
    status = await refused(client, "get_job_status", job_id=987654)
    assert status["error"] == "not_found" and "job 987654" in status["message"]
    assert "Databricks workspace prod" in status["message"]
    proposal = await refused(client, "propose_job_action", job_id=987654, action="run_now")
    assert proposal["error"] == "not_found" and "987654" in proposal["message"]
    assert (len(dbx.repairs), len(dbx.run_nows)) == before


async def test_secret_in_error_trace_never_reaches_tool_output(dbx: FakeDatabricks, client: Client) -> None:
    dbx.add_job(14, "secrets_in_logs")
    run_id = failed_run(
        dbx,
        job_id=14,
        error=f"Py4JJavaError: token {SECRET} rejected",
        error_trace=f"java.lang.IllegalStateException: auth with {SECRET} failed\n\tat a.b(C.java:1)\n",
        state_message=f"Task failed: Authorization: Bearer {SECRET}",
    )
    for name, args in (
        ("get_job_status", {"job_id": 14}),
        ("diagnose_job_run", {"run_id": run_id}),
        ("list_failed_job_runs", {"window_minutes": 120}),
    ):
        text = _text(await client.call_tool(name, args))
        assert SECRET not in text, (name, text)
        assert str(run_id) in text and ("UNTRUSTED-LOG" in text or name == "list_failed_job_runs"), (name, text)


# -- GitHub change control -----------------------------------------------------------------------------


async def test_rollout_config_opens_exactly_one_pr(gh: FakeGitHub, rt: Runtime, client: Client) -> None:
    gh.add_repo("acme/pipelines", {"jobs/nightly_sales.json": JOB_JSON})
    gh.writes.clear()
    plan = await call(
        client,
        "rollout_config",
        change={
            "json_merge_patch": {"new_cluster": {"num_workers": 8}},
            "title": "nightly_sales: 8 workers",
            "description": "Driver OOM on 4 workers",
        },
        target={"repo": "acme/pipelines", "path": "jobs/nightly_sales.json"},
    )
    action_id = plan["action"]["id"]
    assert '-    "num_workers": 4' in plan["diff"] and '+    "num_workers": 8' in plan["diff"]
    assert plan["pull_request"]["body"]["head"] == f"pipeline-sre/{action_id}"
    assert gh.writes == []
    approve(rt, action_id)

    # Crash after the commit, before the pull request: the retry reuses branch and commit.
    async def crash(self: GitHubClient, repo: str, **kw: Any) -> dict[str, Any]:
        raise Crash()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GitHubClient, "create_pull", crash)
        with pytest.raises(Crash):
            await call(client, "open_config_pr", action_id=action_id)
    await asyncio.sleep(1.1)
    recovered = await rt.governance.recover_executing()
    assert [r.state for r in recovered] == ["succeeded"]
    pr = (recovered[0].result or {})["pull_request"]
    assert pr["number"] == 1 and pr["head"] == f"pipeline-sre/{action_id}" and pr["base"] == "main"
    assert [m for m, _ in gh.writes] == ["POST", "PUT", "POST"]  # branch, commit, pull request: once each
    assert json.loads(gh.file("acme/pipelines", f"pipeline-sre/{action_id}", "jobs/nightly_sales.json") or "")[
        "new_cluster"
    ] == {"num_workers": 8}
    assert gh.file("acme/pipelines", "main", "jobs/nightly_sales.json") == JOB_JSON
    again = await refused(client, "open_config_pr", action_id=action_id)
    assert again["rule"] == "action.already_executed" and len(gh.repos["acme/pipelines"].pulls) == 1


async def test_rollout_refuses_a_base_that_changed_since_approval(gh: FakeGitHub, rt: Runtime, client: Client) -> None:
    gh.add_repo("acme/pipelines", {"jobs/a.json": '{"x": 1}\n'})
    plan = await call(
        client,
        "rollout_config",
        change={"content": '{"x": 2}\n', "title": "x=2"},
        target={"repo": "acme/pipelines", "path": "jobs/a.json"},
    )
    approve(rt, plan["action"]["id"])
    gh.set_file("acme/pipelines", "main", "jobs/a.json", '{"x": 5}\n')
    gh.writes.clear()
    failed = await refused(client, "open_config_pr", action_id=plan["action"]["id"])
    assert failed["error"] == "action_failed" and "changed since the change was approved" in failed["message"]
    assert gh.writes == [] and not gh.repos["acme/pipelines"].pulls


async def test_github_target_outside_config_is_refused_audited_and_nothing_written(
    gh: FakeGitHub, rt: Runtime, client: Client
) -> None:
    gh.add_repo("acme/infra", {"jobs/x.json": "{}\n"})
    calls, writes = sum(gh.calls.values()), list(gh.writes)
    for target in ({"repo": "acme/infra", "path": "jobs/x.json"}, {"repo": "acme/pipelines", "path": "dags/x.py"}):
        answer = await refused(client, "rollout_config", change={"content": "{}", "title": "t"}, target=target)
        assert answer["error"] == "refused" and answer["rule"] == "github.target_not_configured"
        assert "allow_hint" in answer
    assert sum(gh.calls.values()) == calls and gh.writes == writes
    events = audit_events(rt)
    refusals = [e for e in events if e.event == "action.refused" and e.result == "github.target_not_configured"]
    tool_calls = [e for e in events if e.event == "tool.call" and "rollout_config" in e.detail_json]
    assert len(refusals) == 2 and len(tool_calls) >= 2
    assert not rt.governance.list_pending()
