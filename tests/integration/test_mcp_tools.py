"""The MCP server over stdio and streamable HTTP, driven by the official client, on a real Airflow 3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from pipeline_sre.sandbox import SANDBOX_LEAKED_SECRETS, SandboxInfo
from pipeline_sre.sandbox.constants import EXAMPLE_DAGS
from tests.integration.mcp_helpers import TOKEN, http_server, json_of, stdio_client, text_of, write_config

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

FAILING = {d.dag_id: d.first_failing_task for d in EXAMPLE_DAGS if d.final_state == "failed"}
EXPECTED_CATEGORY = {
    "example_oom_aggregation": "oom",
    "example_missing_input": "upstream_missing",
    "example_permission_denied": "permission_denied",
    "example_flaky_network": "transient_network",
    "example_schema_mismatch": "schema_mismatch",
    "example_code_bug": "code_bug",
    "example_orders_staging": "data_quality",
}


@pytest.fixture(scope="module")
def server_env(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return write_config(tmp_path_factory.mktemp("mcp"), sandbox)[1]


def run_of(sandbox: SandboxInfo, dag_id: str) -> str:
    return next(r for d, r in sandbox.runs if d == dag_id)


def wire_size(data: dict[str, Any]) -> int:
    """Bytes as the server sends them (compact JSON)."""
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def assert_no_secret(text: str) -> None:
    for secret in SANDBOX_LEAKED_SECRETS:
        assert secret not in text


async def call(client: Client, name: str, **args: Any) -> dict[str, Any]:
    return json_of(await client.call_tool(name, args))


async def test_stdio_detect_and_triage(sandbox: SandboxInfo, server_env: dict[str, str]) -> None:
    async with stdio_client(server_env) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in (
            "list_recent_failures",
            "list_failed_runs",
            "get_run_summary",
            "get_failed_tasks",
            "triage",
        ):
            annotations = tools[name].annotations
            assert annotations is not None and annotations.read_only_hint
            assert len(tools[name].description or "") > 80

        recent = await call(client, "list_recent_failures", window_minutes=120)
        assert recent["total"] >= len(FAILING)
        assert wire_size(recent) <= 4096
        by_dag = {g["dag_id"]: g for g in recent["by_dag"]}
        # The 4 KB answer cuts the least urgent groups first, and says how many it cut.
        cut = recent.get("truncated", {}).get("by_dag", 0)
        assert len(by_dag) + cut == recent["dags_failing"] and len(set(FAILING) & set(by_dag)) >= len(FAILING) - cut
        for dag_id, task in FAILING.items():
            assert dag_id not in by_dag or by_dag[dag_id]["first_failed_task"] == task
        assert "example_healthy" not in by_dag
        assert by_dag["example_permission_denied"]["tier"] == 1  # from config glob

        dag = "example_code_bug"
        run_id = run_of(sandbox, dag)
        summary = await call(client, "get_run_summary", dag_id=dag, run_id=run_id)
        assert summary["state"] == "failed" and summary["tasks_by_state"]["upstream_failed"] >= 1
        failed = await call(client, "get_failed_tasks", dag_id=dag, run_id=run_id)
        assert failed["tasks"][0]["task_id"] == FAILING[dag] and failed["root_task"] == FAILING[dag]
        assert failed["tasks"][-1]["state"] == "upstream_failed"

        tri = await call(client, "triage", dag_id=dag, run_id=run_id)
        assert tri["first_failed_task"] == FAILING[dag]
        assert tri["severity"] in {"SEV1", "SEV2", "SEV3", "SEV4"} and tri["severity_rule"]
        used, allowed = tri["attempts"].split("/")
        assert used == allowed == "2" and tri["retries_left"] == 0  # retries=1, both tries spent
        assert wire_size(tri) <= 1500

        page = await call(client, "list_failed_runs", limit=2)
        assert len(page["runs"]) == 2 and page["cursor"]
        seen = {(r["dag_id"], r["run_id"]) for r in page["runs"]}
        while page["cursor"]:
            page = await call(client, "list_failed_runs", cursor=page["cursor"], limit=2)
            batch = {(r["dag_id"], r["run_id"]) for r in page["runs"]}
            assert not batch & seen
            seen |= batch
        assert {d for d, _ in seen} >= set(FAILING)


async def test_stdio_bad_input_is_a_clear_error(sandbox: SandboxInfo, server_env: dict[str, str]) -> None:
    async with stdio_client(server_env) as client:
        res = await client.call_tool("get_run_summary", {"dag_id": "no_such_dag", "run_id": "nope"})
        assert res.is_error and "not_found" in text_of(res) and "no_such_dag" in text_of(res)
        res = await client.call_tool("list_recent_failures", {"window_minutes": 0})
        assert res.is_error and "between 1 and 10080" in text_of(res)
        res = await client.call_tool("triage", {"dag_id": "x", "run_id": "y", "environment": "prod"})
        assert res.is_error and "sandbox" in text_of(res)
        assert "Traceback" not in text_of(res)


async def test_stdio_diagnosis_is_redacted_and_categorised(sandbox: SandboxInfo, server_env: dict[str, str]) -> None:
    async with stdio_client(server_env) as client:
        for dag_id, task in FAILING.items():
            run_id = run_of(sandbox, dag_id)
            errors = await client.call_tool("extract_errors", {"dag_id": dag_id, "run_id": run_id})
            body = text_of(errors)
            assert_no_secret(body)
            report = json_of(errors)["tasks"][0]
            assert report["task_id"] == task
            assert report["category"] == EXPECTED_CATEGORY[dag_id], report
            assert wire_size(report) <= 2000

            log = await client.call_tool("task_log", {"dag_id": dag_id, "run_id": run_id, "task_id": task})
            assert_no_secret(text_of(log))
            assert "UNTRUSTED" in json_of(log)["log"]

        freq = await call(client, "failure_frequency", dag_id="example_permission_denied")
        assert freq["signatures"] and freq["signatures"][0]["category"] == "permission_denied"


async def test_http_requires_bearer_and_serves_tools(sandbox: SandboxInfo, server_env: dict[str, str]) -> None:
    with http_server(server_env) as url:
        assert httpx.post(url, json={}).status_code == 401
        wrong = httpx.post(url, json={}, headers={"Authorization": "Bearer wrong-token-value-123"})
        assert wrong.status_code == 401
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
        async with Client(streamable_http_client(url, http_client=http)) as client:
            recent = await call(client, "list_recent_failures", window_minutes=120)
            assert recent["total"] >= len(FAILING)
            errors = await client.call_tool(
                "extract_errors",
                {
                    "dag_id": "example_permission_denied",
                    "run_id": run_of(sandbox, "example_permission_denied"),
                },
            )
            assert_no_secret(text_of(errors))
        assert httpx.get(url.replace("/mcp", "/metrics")).status_code == 401
        metrics = httpx.get(url.replace("/mcp", "/metrics"), headers={"Authorization": f"Bearer {TOKEN}"})
        assert 'pipeline_sre_tool_calls_total{outcome="ok",tool="list_recent_failures"}' in metrics.text


def test_http_refuses_to_start_without_token_off_loopback(server_env: dict[str, str], tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in server_env.items() if k != "PIPELINE_SRE_HTTP_TOKEN"}
    out = subprocess.run(
        [sys.executable, "-m", "pipeline_sre", "serve", "--http", "0.0.0.0:8799", "--insecure-local"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "loopback" in out.stderr and "Traceback" not in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "pipeline_sre", "serve", "--http", "127.0.0.1:8799"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "PIPELINE_SRE_HTTP_TOKEN" in out.stderr


async def test_leaked_credentials_appear_in_no_tool_output(sandbox: SandboxInfo, server_env: dict[str, str]) -> None:
    """example_permission_denied prints an AWS secret, a DB password in a URI and a bearer token."""
    dag = "example_permission_denied"
    run_id = run_of(sandbox, dag)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_recent_failures", {"window_minutes": 240}),
        ("list_failed_runs", {"dag_id": dag}),
        ("get_run_summary", {"dag_id": dag, "run_id": run_id}),
        ("get_failed_tasks", {"dag_id": dag, "run_id": run_id}),
        ("triage", {"dag_id": dag, "run_id": run_id}),
        ("task_log", {"dag_id": dag, "run_id": run_id, "task_id": "upload_to_s3", "lines": 2000}),
        ("task_log", {"dag_id": dag, "run_id": run_id, "task_id": "upload_to_s3", "try_number": 1}),
        ("extract_errors", {"dag_id": dag, "run_id": run_id, "task_id": "upload_to_s3"}),
        ("failure_frequency", {"dag_id": dag, "lookback_days": 1}),
    ]
    async with stdio_client(server_env) as client:
        for name, args in calls:
            result = await client.call_tool(name, args)
            assert not result.is_error, (name, text_of(result))
            assert_no_secret(text_of(result))
        log = json_of(await client.call_tool("task_log", calls[5][1]))["log"]
        assert "[REDACTED:" in log  # the lines are there, their secrets are not
