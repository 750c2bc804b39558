"""Start the real server as a subprocess and talk to it with the official MCP client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from pipeline_sre.sandbox import SandboxInfo

TOKEN = "test-http-token-0123456789abcdef"


def write_config(tmp: Path, info: SandboxInfo) -> tuple[Path, dict[str, str]]:
    """A config naming the sandbox, with its password passed by env var like a real secret."""
    config = {
        "environments": {
            "sandbox": {
                "airflow": {
                    "url": info.url,
                    "username_env": "PSRE_TEST_AIRFLOW_USER",
                    "password_env": "PSRE_TEST_AIRFLOW_PASSWORD",
                },
                "dags": [{"match": "example_permission_denied", "tier": 1, "business_critical": True}],
            }
        },
        "data_dir": str(tmp / "data"),
    }
    path = tmp / "pipeline-sre.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "PSRE_TEST_AIRFLOW_USER": info.username,
        "PSRE_TEST_AIRFLOW_PASSWORD": info.password,
        "PIPELINE_SRE_CONFIG": str(path),
        "PIPELINE_SRE_HTTP_TOKEN": TOKEN,
        "PIPELINE_SRE_DATA_DIR": str(tmp / "data"),
    }
    return path, env


APPROVER_PASSWORD = "approver-password-for-tests"


def as_approver(env: dict[str, str], name: str) -> dict[str, str]:
    """`env` signed in as console user NAME (an approver): created with a password, then a CLI token issued
    for it the way a person does (`users token NAME`, password checked), exported as PIPELINE_SRE_TOKEN."""
    run = [sys.executable, "-m", "pipeline_sre", "users"]
    added = subprocess.run(
        [*run, "add", name, "--role", "approver", "--password-stdin", "--replace"],
        env=env,
        input=APPROVER_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    token = subprocess.run(
        [*run, "token", name, "--password-stdin"],
        env=env,
        input=APPROVER_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert token.returncode == 0, token.stderr
    return {**env, "PIPELINE_SRE_TOKEN": token.stdout.strip()}


def stdio_client(env: dict[str, str]) -> Client:
    params = StdioServerParameters(command=sys.executable, args=["-m", "pipeline_sre", "serve"], env=env)
    return Client(params, read_timeout_seconds=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def http_server(env: dict[str, str], *extra: str, ready_seconds: float = 30) -> Iterator[str]:
    """`pipeline-sre serve --http` on a free port; its MCP URL once it answers (within `ready_seconds`)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline_sre", "serve", "--http", f"127.0.0.1:{port}", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + ready_seconds
        while True:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server exited")
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer within {ready_seconds:.0f} s") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def text_of(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def json_of(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    data: dict[str, Any] = json.loads(text_of(result))
    return data
