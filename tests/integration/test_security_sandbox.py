"""Attacks rerun on the real sandbox Airflow 3: nobody approves their own request across surfaces, a write
whose answer a proxy swallows has exactly one effect, and the credentials a pipeline prints never leave
the process (tool answers, the resource, the store, the files in the data dir)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from mcp.types import TextResourceContents
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline_sre.sandbox import SANDBOX_LEAKED_SECRETS, Sandbox, SandboxInfo
from tests.integration.mcp_helpers import as_approver, free_port, json_of, stdio_client, write_config

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class SwallowingProxy:
    """Forwards everything to Airflow; the first clearTaskInstances is forwarded (it happens) and then
    answered 502, as a gateway that timed out on the answer would."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.swallowed: list[str] = []
        self.clears = 0
        app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST", "PATCH", "DELETE"])])
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def forward(self, request: Request) -> Response:
        url = f"{self.target}/{request.path_params['path']}"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.request(
                request.method, url, params=request.query_params, headers=headers, content=await request.body()
            )
        if request.method == "POST" and url.endswith("/clearTaskInstances"):
            self.clears += 1
            if not self.swallowed:
                self.swallowed.append(url)
                return Response('{"detail":"upstream timed out"}', status_code=502)
        keep = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type",)}
        return Response(answer.content, status_code=answer.status_code, headers=keep)

    def __enter__(self) -> SwallowingProxy:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline_sre", *args], env=env, capture_output=True, text=True, timeout=180
    )


def secure_env(tmp: Path, sandbox: SandboxInfo, airflow_url: str) -> dict[str, str]:
    path, env = write_config(tmp, sandbox)
    config = yaml.safe_load(path.read_text())
    config["environments"]["sandbox"]["airflow"]["url"] = airflow_url
    config["server"] = {"owner": "alice"}  # the agent acts for alice: alice may not approve its requests
    config["governance"] = {
        "mode": "live",
        "approvers": ["alice", "bob"],
        "environments": {"sandbox": {"allow_dags": ["example_*"], "required_approvals": 1}},
    }
    path.write_text(yaml.safe_dump(config))
    return {**env, "PIPELINE_SRE_AUDIT_KEY": "security-suite-key-outside-the-store"}


async def call(client: Any, name: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    assert not result.is_error, (name, [getattr(c, "text", "") for c in result.content])
    data: dict[str, Any] = json_of(result)
    return data


@pytest.fixture
def proxy(sandbox: SandboxInfo) -> Iterator[SwallowingProxy]:
    with SwallowingProxy(sandbox.url) as p:
        yield p


async def test_attacks_on_the_real_sandbox(
    sandbox: SandboxInfo, sandbox_manager: Sandbox, proxy: SwallowingProxy, tmp_path: Path
) -> None:
    env = secure_env(tmp_path, sandbox, f"http://127.0.0.1:{proxy.port}")
    with sandbox_manager.client() as client:
        run_id = client.trigger("example_flaky_network")
    assert sandbox_manager.wait_for_runs([("example_flaky_network", run_id)], timeout=180)
    with sandbox_manager.client() as client:
        before = {
            t["task_id"]: t["try_number"]
            for t in client.get(f"/api/v2/dags/example_flaky_network/dagRuns/{run_id}/taskInstances")["task_instances"]
        }
    leaked = [s for s in SANDBOX_LEAKED_SECRETS if s]
    denied_run = next(r for d, r in sandbox.runs if d == "example_permission_denied")
    answers: list[str] = []
    async with stdio_client(env) as client:
        denied_args = {"dag_id": "example_permission_denied", "run_id": denied_run}
        for name, args in (
            ("triage", denied_args),
            ("extract_errors", denied_args),
            ("task_log", {**denied_args, "task_id": "upload_to_s3"}),
            ("propose_action", denied_args),
        ):
            answers.append(json.dumps(await call(client, name, **args)))
        plan = await call(client, "propose_action", dag_id="example_flaky_network", run_id=run_id)
        action_id = plan["action"]["id"]
        await call(client, "request_approval", action_id=action_id)
        # the agent acts for alice: alice, signed in at the CLI, cannot approve what her agent asked for
        self_approval = cli(as_approver(env, "alice"), "approvals", "approve", action_id)
        assert self_approval.returncode == 2, self_approval.stderr
        assert "requested this action and cannot approve it" in self_approval.stderr
        assert cli(as_approver(env, "bob"), "approvals", "approve", action_id).returncode == 0
        done = await call(client, "clear_failed_tasks", action_id=action_id)  # the proxy swallows the answer
        answers.append(json.dumps(done))
        record = await call(client, "get_action", action_id=action_id)
        assert record["state"] == "succeeded" and "existing" in json.dumps(record.get("result")), record
        incident = await call(client, "get_incident", incident_id=plan["incident_id"])
        answers.append(json.dumps(incident))
        denied = await call(client, "list_incidents")
        for summary in denied["incidents"]:
            answers.append(json.dumps(await call(client, "get_incident", incident_id=summary["id"])))
            written = await call(client, "write_postmortem", incident_id=summary["id"])
            doc = await client.read_resource(written["resource"])
            [content] = doc.contents
            assert isinstance(content, TextResourceContents)
            answers.append(content.text)
    # exactly one effect: the swallowed clear was not sent again, and the task ran one more try
    assert proxy.swallowed and proxy.clears == 1
    with sandbox_manager.client() as client:
        after = {
            t["task_id"]: t["try_number"]
            for t in client.get(f"/api/v2/dags/example_flaky_network/dagRuns/{run_id}/taskInstances")["task_instances"]
        }
    failed = [task for task, tries in before.items() if tries >= 1 and task in after and after[task] != tries]
    assert failed and all(after[task] == before[task] + 1 for task in failed), (before, after)
    # no planted credential in any answer, the resource, the store or any file of ours
    everything = "\n".join(answers)
    data_dir = Path(env["PIPELINE_SRE_DATA_DIR"])
    files = [p for p in data_dir.rglob("*") if p.is_file() and "sandbox" not in p.parts]
    stored = b"".join(p.read_bytes() for p in files)
    for secret in leaked:
        assert secret not in everything, "a planted credential reached an MCP answer"
        assert secret.encode() not in stored, "a planted credential reached a file of ours"
    assert cli(env, "audit", "anchor").returncode == 0
    verify = cli(env, "audit", "verify")
    said = " ".join(verify.stdout.split())
    assert verify.returncode == 0 and "last anchor: record" in said and "(signed)" in said, verify.stdout
