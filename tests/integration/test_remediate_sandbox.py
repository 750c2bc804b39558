"""Propose -> approve (CLI, another user) -> execute on the real Airflow 3 sandbox, and every refusal."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp.types import TextResourceContents

from pipeline_sre.governance.actions import run_id_for
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.sandbox import Sandbox, SandboxInfo
from pipeline_sre.settings.config import load_settings
from pipeline_sre.store import repository as repo
from tests.integration.mcp_helpers import as_approver, json_of, stdio_client, text_of, write_config

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

HEALTHY_SCHEMA = {
    "type": "object",
    "properties": {"batch_size": {"type": "integer", "minimum": 1, "maximum": 1000}},
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def live_env(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The sandbox config plus a live governance policy: example_* writable, one approver needed."""
    tmp = tmp_path_factory.mktemp("remediate")
    path, env = write_config(tmp, sandbox)
    config = yaml.safe_load(path.read_text())
    config["incidents"] = {"verify": {"quiet_minutes": 0}}
    config["governance"] = {
        "mode": "live",
        "approvers": ["alice", "bob"],
        "execution_lease_seconds": 1,
        "environments": {
            "sandbox": {
                "allow_dags": ["example_*"],
                "required_approvals": 1,
                "max_actions_per_dag_per_hour": 5,
                "conf_schemas": [{"match": "example_healthy", "schema": HEALTHY_SCHEMA}],
            }
        },
    }
    path.write_text(yaml.safe_dump(config))
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline_sre", *args], env=env, capture_output=True, text=True, timeout=120
    )


def fresh_failed_run(manager: Sandbox, dag_id: str) -> str:
    with manager.client() as client:
        run_id = client.trigger(dag_id)
    states = manager.wait_for_runs([(dag_id, run_id)], timeout=180)
    assert states[(dag_id, run_id)] == "failed"
    return run_id


def wait_state(manager: Sandbox, dag_id: str, run_id: str, want: set[str], timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    with manager.client() as client:
        while time.monotonic() < deadline:
            state = client.run_state(dag_id, run_id)
            if state in want:
                return state
            time.sleep(2)
    raise AssertionError(f"{dag_id}/{run_id} did not reach {want}")


async def call(client: Any, name: str, **args: Any) -> dict[str, Any]:
    return json_of(await client.call_tool(name, args))


async def refused(client: Any, name: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    assert result.is_error, text_of(result)
    data: dict[str, Any] = json.loads(text_of(result))
    return data


async def test_clear_failed_tasks_end_to_end(
    sandbox: SandboxInfo, sandbox_manager: Sandbox, live_env: dict[str, str]
) -> None:
    run_id = fresh_failed_run(sandbox_manager, "example_flaky_network")
    async with stdio_client(live_env) as client:
        plan = await call(client, "propose_action", dag_id="example_flaky_network", run_id=run_id)
        assert plan["diagnosis"]["category"] == "transient_network"
        action = plan["action"]
        assert action["kind"] == "clear_failed_tasks" and action["call"]["body"]["dag_run_id"] == run_id
        again = await call(client, "propose_action", dag_id="example_flaky_network", run_id=run_id)
        assert again["action"]["id"] == action["id"] and again["reused"] is True  # one action, one approval
        assert again["incident_id"] == plan["incident_id"]
        # The decision it would get now: everything passes but the missing human approval.
        assert plan["decision"]["rule"] == "approvals.required" and plan["plan"]["rollback"]
        assert "also_blocking" not in plan["decision"] and "allowlist.dags" in plan["decision"]["passed"]

        early = await refused(client, "clear_failed_tasks", action_id=action["id"])
        assert early["rule"] == "approvals.required" and "approve" in early["allow_hint"]

        asked = await call(client, "request_approval", action_id=action["id"], reason="transient; rerun once")
        assert "approvals approve" in asked["how_to_approve"]
        assert asked["action"]["state"] == "awaiting_approval" and "plan" not in asked["action"]  # it has the plan

        wrong = await refused(client, "trigger_dag", action_id=action["id"])
        assert wrong["rule"] == "action.kind_mismatch"

        stranger = cli(live_env, "approvals", "approve", action["id"], "--as", "mallory")
        assert stranger.returncode == 2 and "password" in stranger.stderr.lower()
        approved = cli(as_approver(live_env, "alice"), "approvals", "approve", action["id"], "--comment", "ok")
        assert approved.returncode == 0, approved.stderr

        done = await call(client, "clear_failed_tasks", action_id=action["id"])
        assert done["sent"] and "fetch_exchange_rates" in done["result"]["cleared_tasks"]
        again = await refused(client, "clear_failed_tasks", action_id=action["id"])
        assert again["rule"] == "action.already_executed"
        # the cleared task re-runs on try 2 and succeeds; the rules then prove it and resolve the incident
        assert wait_state(sandbox_manager, "example_flaky_network", run_id, {"success", "failed"}) == "success"
        incident_id = plan["incident_id"]
        assert done["incident_id"] == incident_id
        verdict = await call(client, "check_recovery_rules", incident_id=incident_id)
        assert verdict["verdict"] == "recovered", verdict
        assert {c["rule"] for c in verdict["checks"]} >= {"run_succeeded", "failed_tasks_succeeded", "no_new_failure"}
        incident = await call(client, "get_incident", incident_id=incident_id)
        assert incident["state"] == "resolved" and incident["action_id"] == action["id"]
        assert {"detected", "proposed", "awaiting_approval", "executing", "resolved"} <= set(incident["steps"])
        assert "time_to_resolve_s" in incident["durations"]

        timeline = await call(client, "build_timeline", incident_id=incident_id)
        whats = " | ".join(e["what"] for e in timeline["events"])
        assert "approval.granted" in whats and "fetch_exchange_rates try 2" in whats
        assert "task fetch_exchange_rates try 1/1 failed" in whats  # the cleared try, from Airflow's try history
        cause = await call(client, "summarize_root_cause", incident_id=incident_id)
        assert cause["category"] == "transient_network" and cause["blast_radius"]["blocked_tasks"] >= 1
        prevention = await call(client, "suggest_prevention_actions", incident_id=incident_id)
        assert any("retries" in a["idea"] for a in prevention["actions"])
        written = await call(client, "write_postmortem", incident_id=incident_id)
        assert written["resource"] == f"postmortem://{incident_id}" and "path" not in written
        doc = await client.read_resource(written["resource"])
        [content] = doc.contents
        assert isinstance(content, TextResourceContents)
        text = content.text
        assert "# Postmortem" in text and "transient_network" in text
        # the failure itself survives the clear (Airflow keeps only the latest try) and the action is named
        assert f"run {run_id} failed: task fetch_exchange_rates try 1" in text
        assert f"`clear_failed_tasks` `{action['id']}` (succeeded" in text and "failed runs joined: 1" in text
        assert "**recovered**" in text and "{" not in text.split("## Timeline")[0]
        listed = await call(client, "list_incidents", state="resolved")
        assert incident_id in {i["id"] for i in listed["incidents"]}


async def test_trigger_dag_validates_conf_and_runs_once(
    sandbox: SandboxInfo, sandbox_manager: Sandbox, live_env: dict[str, str]
) -> None:
    healthy_run = next(r for d, r in sandbox.runs if d == "example_healthy")
    async with stdio_client(live_env) as client:
        bad = await call(
            client,
            "propose_action",
            dag_id="example_healthy",
            run_id=healthy_run,
            action="trigger_dag",
            conf={"batch_size": 5000},
        )
        assert bad["decision"]["rule"] == "conf.schema" and "action" not in bad
        assert "/batch_size" in json.dumps(bad["decision"])
        unknown = await call(
            client,
            "propose_action",
            dag_id="example_healthy",
            run_id=healthy_run,
            action="trigger_dag",
            conf={"drop_tables": True},
        )
        assert unknown["decision"]["rule"] == "conf.schema"

        plan = await call(
            client,
            "propose_action",
            dag_id="example_healthy",
            run_id=healthy_run,
            action="trigger_dag",
            conf={"batch_size": 10},
        )
        action_id = plan["action"]["id"]
        assert cli(as_approver(live_env, "bob"), "approvals", "approve", action_id).returncode == 0

    # two processes race to execute the one approved action: exactly one Airflow run
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline_sre", "execute", action_id, "--json"],
            env=live_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [p.communicate(timeout=120) for p in racers]
    codes = sorted(p.returncode for p in racers)
    assert codes == [0, 2], outcomes
    # the loser is refused by the exactly-once rule, whether the winner is still executing or done
    assert any("refused by action.already_executed" in err for _, err in outcomes), outcomes
    with sandbox_manager.client() as client:
        runs = client.get("/api/v2/dags/example_healthy/dagRuns", limit=100)["dag_runs"]
    mine = [r for r in runs if r["dag_run_id"] == run_id_for(action_id)]
    assert len(mine) == 1 and mine[0]["conf"] == {"batch_size": 10}
    assert wait_state(sandbox_manager, "example_healthy", run_id_for(action_id), {"success", "failed"}) == "success"


async def test_code_bug_escalates_without_a_write(sandbox: SandboxInfo, live_env: dict[str, str]) -> None:
    run_id = next(r for d, r in sandbox.runs if d == "example_code_bug")
    async with stdio_client(live_env) as client:
        plan = await call(client, "propose_action", dag_id="example_code_bug", run_id=run_id)
    assert plan["diagnosis"]["category"] == "code_bug"
    assert "action" not in plan and plan["decision"]["rule"].endswith(".escalate")
    assert any(step["action"] == "escalate" for step in plan["plan"]["steps"])
    shown = cli(live_env, "propose", "example_code_bug", run_id)  # the same plan, readable at the CLI
    assert shown.returncode == 0, shown.stderr
    assert "code_bug" in shown.stdout and "Rollback" in shown.stdout and "refused by rule runbook." in shown.stdout


async def test_not_allowlisted_and_dry_run(sandbox: SandboxInfo, live_env: dict[str, str], tmp_path: Path) -> None:
    path = Path(live_env["PIPELINE_SRE_CONFIG"])
    config = yaml.safe_load(path.read_text())
    config["governance"]["mode"] = "dry_run"
    config["governance"]["environments"]["sandbox"]["allow_dags"] = ["example_flaky_*"]
    other = tmp_path / "dry.yaml"
    other.write_text(yaml.safe_dump(config))
    env = {**live_env, "PIPELINE_SRE_CONFIG": str(other)}
    missing_run = next(r for d, r in sandbox.runs if d == "example_missing_input")
    flaky_run = next(r for d, r in sandbox.runs if d == "example_flaky_network")
    async with stdio_client(env) as client:
        plan = await call(client, "propose_action", dag_id="example_missing_input", run_id=missing_run)
        assert plan["decision"]["rule"] == "allowlist.dags" and "action" not in plan
        plan = await call(client, "propose_action", dag_id="example_flaky_network", run_id=flaky_run)
        action_id = plan["action"]["id"]
        assert cli(as_approver(env, "alice"), "approvals", "approve", action_id).returncode == 0
        dry = await call(client, "clear_failed_tasks", action_id=action_id)
        assert dry["sent"] is False and dry["mode"] == "dry_run" and dry["call"]["body"]["dag_run_id"] == flaky_run
    verify = cli(env, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    exported = cli(env, "audit", "export", "--format", "jsonl").stdout
    assert '"action.dry_run"' in exported and '"allowlist.dags"' in exported
    assert '"tool.call"' in exported  # log reads and writes are audited


def test_crash_mid_execution_is_recovered_without_a_second_run(
    sandbox: SandboxInfo, sandbox_manager: Sandbox, live_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process died after Airflow accepted the run but before recording it: start-up recovery finds it."""
    for name in ("PSRE_TEST_AIRFLOW_USER", "PSRE_TEST_AIRFLOW_PASSWORD", "PIPELINE_SRE_DATA_DIR"):
        monkeypatch.setenv(name, live_env[name])
    settings = load_settings(live_env["PIPELINE_SRE_CONFIG"])
    healthy_run = next(r for d, r in sandbox.runs if d == "example_healthy")

    async def scenario() -> tuple[str, str]:
        rt = Runtime(settings)
        try:
            gov = rt.governance
            # Every surface reads the run before proposing, which teaches the client the Airflow version the
            # exact call depends on; proposing straight to governance, this test asks for it first.
            await rt.airflow("sandbox").detected_version()
            rec = gov.propose(
                "trigger_dag",
                "sandbox",
                {"dag_id": "example_healthy", "conf": {"batch_size": 3}},
                "mcp:agent",
            )
            gov.approve(rec.id, "alice")
            # Simulate the crash: the action is claimed and the call reaches Airflow, then the process dies.
            with gov.db.session(write=True) as s:
                assert repo.transition(s, rec.id, "approved", "executing", lease_owner="dead-process")
            await rt.airflow("sandbox").trigger_dag_run("example_healthy", run_id_for(rec.id), {"batch_size": 3})
            recovered = await gov.recover_executing()
            assert [r.id for r in recovered] == [rec.id]
            return rec.id, gov.get_action(rec.id).state
        finally:
            await rt.aclose()

    action_id, state = asyncio.run(scenario())
    assert state == "succeeded"
    assert healthy_run
    with sandbox_manager.client() as client:
        runs = client.get("/api/v2/dags/example_healthy/dagRuns", limit=100)["dag_runs"]
    assert sum(1 for r in runs if r["dag_run_id"] == run_id_for(action_id)) == 1
