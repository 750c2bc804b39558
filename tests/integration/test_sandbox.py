"""The local sandbox: a real Airflow 3 whose example pipelines fail the way real ones do."""

from __future__ import annotations

import ast
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipeline_sre.sandbox import (
    EXAMPLE_DAG_IDS,
    EXAMPLE_DAGS,
    SANDBOX_LEAKED_SECRETS,
    TRIGGERED_DAG_IDS,
    TRIGGERED_DAGS,
    ExampleDag,
    Sandbox,
    SandboxClient,
    SandboxError,
    SandboxInfo,
)
from pipeline_sre.sandbox.airflow_cfg import airflow_config, load_or_create_secrets
from pipeline_sre.sandbox.paths import SandboxPaths, example_dags_source

FAILING = [d for d in EXAMPLE_DAGS if d.final_state == "failed"]


def run_of(info: SandboxInfo, dag_id: str) -> str:
    return next(run_id for d, run_id in info.runs if d == dag_id)


@pytest.fixture()
def client(sandbox: SandboxInfo) -> Iterator[SandboxClient]:
    with SandboxClient(sandbox.url, sandbox.username, sandbox.password) as c:
        yield c


# --- no services needed ----------------------------------------------------------------------


def test_example_dag_files_match_the_expectations() -> None:
    source = example_dags_source()
    assert sorted(p.stem for p in source.glob("example_*.py")) == sorted(EXAMPLE_DAG_IDS)
    text = (source / "example_permission_denied.py").read_text()
    for secret in SANDBOX_LEAKED_SECRETS:
        assert secret in text
    for path in source.glob("example_*.py"):
        ast.parse(path.read_text())  # valid Python for any interpreter the sandbox may use


def test_config_is_loopback_only_with_shared_secrets(tmp_path: Path) -> None:
    paths = SandboxPaths.under(tmp_path)
    secrets = load_or_create_secrets(paths)
    assert load_or_create_secrets(paths) == secrets  # stable across restarts
    for private in (paths.secrets_file, paths.passwords_file):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert json.loads(paths.passwords_file.read_text()) == {"admin": secrets.password}
    cfg = airflow_config(paths, 28099, secrets)
    assert cfg["api"]["host"] == "127.0.0.1" and cfg["api"]["port"] == "28099"
    assert cfg["core"]["execution_api_server_url"] == "http://127.0.0.1:28099/execution/"
    assert cfg["api_auth"]["jwt_secret"] == secrets.jwt_secret
    assert cfg["database"]["sql_alchemy_conn"].startswith("sqlite:////")
    assert cfg["logging"]["worker_log_server_port"] not in ("8793", "28099")


def test_down_and_status_without_a_running_sandbox(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, port=28098)
    sandbox.down()
    sandbox.down()
    assert sandbox.status().state == "stopped"


def test_missing_uv_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH, so no uv
    with pytest.raises(SandboxError, match="uv"):
        Sandbox(tmp_path, port=28097).up()


# --- the real sandbox ------------------------------------------------------------------------


@pytest.mark.integration
def test_sandbox_is_up_and_healthy(sandbox: SandboxInfo, sandbox_manager: Sandbox) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    assert set(sandbox.pids) == {"api-server", "scheduler", "dag-processor"}
    status = sandbox_manager.status()
    assert status.running, status.to_dict()
    assert status.dag_count == len(EXAMPLE_DAG_IDS)
    assert {r.dag_id for r in status.runs} == set(TRIGGERED_DAG_IDS)


@pytest.mark.integration
def test_token_auth_and_dag_listing(sandbox: SandboxInfo) -> None:
    assert httpx.get(f"{sandbox.url}/api/v2/dags").status_code == 401
    bad = httpx.post(f"{sandbox.url}/auth/token", json={"username": "admin", "password": "wrong"})
    assert bad.status_code in (401, 403)
    login = httpx.post(f"{sandbox.url}/auth/token", json={"username": sandbox.username, "password": sandbox.password})
    token = login.json()["access_token"]
    dags = httpx.get(f"{sandbox.url}/api/v2/dags", headers={"Authorization": f"Bearer {token}"}).json()["dags"]
    by_id = {d["dag_id"]: d for d in dags}
    assert set(by_id) == set(EXAMPLE_DAG_IDS)
    assert all(not d["is_paused"] for d in dags)
    tags = {t["name"] for t in by_id["example_oom_aggregation"]["tags"]}
    assert {"tier:1", "business_critical", "team:analytics"} <= tags


@pytest.mark.integration
@pytest.mark.parametrize("example", TRIGGERED_DAGS, ids=lambda d: d.dag_id)
def test_example_run_ends_as_designed(sandbox: SandboxInfo, client: SandboxClient, example: ExampleDag) -> None:
    run_id = run_of(sandbox, example.dag_id)
    assert client.run_state(example.dag_id, run_id) == example.final_state
    states = client.task_states(example.dag_id, run_id)
    assert set(states) == set(example.tasks)
    if example.first_failing_task is None:
        assert set(states.values()) == {"success"}
        return
    first = example.tasks.index(example.first_failing_task)
    assert all(states[t] == "success" for t in example.tasks[:first])
    assert states[example.first_failing_task] == "failed"
    assert all(states[t] == "upstream_failed" for t in example.upstream_failed)


@pytest.mark.integration
@pytest.mark.parametrize("example", FAILING, ids=lambda d: d.dag_id)
def test_failing_task_log_carries_the_error(sandbox: SandboxInfo, client: SandboxClient, example: ExampleDag) -> None:
    assert example.first_failing_task and example.error
    ti = client.get(
        f"/api/v2/dags/{example.dag_id}/dagRuns/{run_of(sandbox, example.dag_id)}/taskInstances/"
        f"{example.first_failing_task}"
    )
    log = client.task_log(example.dag_id, run_of(sandbox, example.dag_id), example.first_failing_task, ti["try_number"])
    assert example.error in log
    assert "Traceback (most recent call last):" in log


@pytest.mark.integration
def test_permission_denied_log_has_the_error_and_the_planted_fake_secrets(sandbox: SandboxInfo) -> None:
    dag_id, task_id = "example_permission_denied", "upload_to_s3"
    token = httpx.post(
        f"{sandbox.url}/auth/token", json={"username": sandbox.username, "password": sandbox.password}
    ).json()["access_token"]
    run_id = run_of(sandbox, dag_id)
    response = httpx.get(
        f"{sandbox.url}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert response.status_code == 200
    raw = response.text
    assert "AccessDenied" in raw and "PermissionError" in raw
    # The raw Airflow log really contains every fake credential, so redaction downstream is tested for real.
    for secret in SANDBOX_LEAKED_SECRETS:
        assert secret in raw


@pytest.mark.integration
def test_up_again_is_idempotent(sandbox: SandboxInfo, sandbox_manager: Sandbox) -> None:
    again = sandbox_manager.up()
    assert again.already_running and again.pids == sandbox.pids and again.runs == ()


@pytest.mark.integration
def test_flaky_network_succeeds_after_clearing_failed_tasks(sandbox: SandboxInfo, sandbox_manager: Sandbox) -> None:
    """A separate run (deleted afterwards), so the session's example runs stay as they were."""
    dag_id = "example_flaky_network"
    [(_, run_id)] = sandbox_manager.trigger_examples([dag_id])
    with sandbox_manager.client() as client:
        try:
            assert sandbox_manager.wait_for_runs([(dag_id, run_id)], timeout=120) == {(dag_id, run_id): "failed"}
            assert set(client.clear_failed(dag_id, run_id)) == {"fetch_exchange_rates", "store_rates"}
            assert sandbox_manager.wait_for_runs([(dag_id, run_id)], timeout=120) == {(dag_id, run_id): "success"}
            ti = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/fetch_exchange_rates")
            assert ti["try_number"] == 2
        finally:
            client.delete_run(dag_id, run_id)


@pytest.mark.integration
def test_missing_input_succeeds_once_the_file_exists(sandbox: SandboxInfo, sandbox_manager: Sandbox) -> None:
    dag_id = "example_missing_input"
    [(_, run_id)] = sandbox_manager.trigger_examples([dag_id])
    with sandbox_manager.client() as client:
        created: Path | None = None
        try:
            assert sandbox_manager.wait_for_runs([(dag_id, run_id)], timeout=120) == {(dag_id, run_id): "failed"}
            ds = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["logical_date"][:10]
            created = sandbox.inputs_dir / f"orders_{ds}.csv"
            created.write_text("id,amount\n1,10.50\n2,3.25\n")
            client.clear_failed(dag_id, run_id)
            assert sandbox_manager.wait_for_runs([(dag_id, run_id)], timeout=120) == {(dag_id, run_id): "success"}
        finally:
            if created is not None:
                created.unlink(missing_ok=True)
            client.delete_run(dag_id, run_id)


@pytest.mark.integration
def test_another_sandbox_on_the_same_port_is_refused(sandbox: SandboxInfo, tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="already in use"):
        Sandbox(tmp_path, port=sandbox.port).up()


@pytest.mark.integration
def test_down_then_up_restarts_with_the_same_database(sandbox: SandboxInfo, sandbox_manager: Sandbox) -> None:
    """Runs last in this module: stops the session sandbox and starts it again (new pids, same runs)."""
    sandbox_manager.down()
    status = sandbox_manager.status()
    assert status.state == "stopped" and not any(p.running for p in status.processes)
    sandbox_manager.down()  # safe twice
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{sandbox.url}/api/v2/monitor/health", timeout=2)
    restarted = sandbox_manager.up(trigger=False, timeout=180)
    assert restarted.url == sandbox.url and restarted.password == sandbox.password
    assert sandbox_manager.status().running
    with sandbox_manager.client() as client:
        assert client.run_state("example_code_bug", run_of(sandbox, "example_code_bug")) == "failed"
