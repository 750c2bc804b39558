"""Amazon MWAA: AirflowClient over InvokeRestApi (a stand-in forwarding to the real sandbox Airflow), over
the CLI path (the stand-in running the sandbox's own `airflow` CLI) and task logs from CloudWatch Logs
(moto's server), with expired credentials, expired CLI tokens and throttling."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from moto.server import ThreadedMotoServer

from pipeline_sre.connectors import mwaa_cli
from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.connectors.cloudwatch import CloudWatchTaskLogs, mwaa_log_lines, mwaa_log_tail, stream_name
from pipeline_sre.connectors.mwaa import MwaaTransport
from pipeline_sre.errors import BackendRefused, BackendUnavailable, InvalidInput, NotFound
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.sandbox import Sandbox, SandboxInfo
from pipeline_sre.sandbox.paths import SandboxPaths
from pipeline_sre.settings.backends import MwaaConnection
from pipeline_sre.settings.config import AirflowConnection, parse_settings
from tests.fakes.mwaa_api import FakeMwaa

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ENV_NAME = "psre-test"
RUN_ID = "scheduled__2026-01-05T02:00:00+00:00"
EVENTS = 10_000


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Static test credentials only: no profile, SSO cache or instance role of the machine is consulted."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTPSRE0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key-never-shown")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="module")
def fake_mwaa(sandbox: SandboxInfo) -> Iterator[tuple[FakeMwaa, str]]:
    fake = FakeMwaa(
        sandbox.url, sandbox.username, sandbox.password, name=ENV_NAME, cli_paths=SandboxPaths(sandbox.root)
    )
    with fake.serve() as url:
        yield fake, url


@pytest.fixture(scope="module")
def moto_logs() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def mwaa_conn(endpoint: str, **overrides: Any) -> MwaaConnection:
    fields: dict[str, Any] = {"name": ENV_NAME, "region": "us-east-1", "endpoint_url": endpoint, "max_attempts": 3}
    fields.update(overrides)
    return MwaaConnection(**fields)


def settings_for(mwaa: dict[str, Any], dags: list[dict[str, Any]] | None = None) -> Any:
    env = {"airflow": {"url": "https://mwaa.invalid"}, "mwaa": mwaa, "dags": dags or []}
    return parse_settings({"environments": {"aws": env}}, "test")


@pytest.fixture
async def direct(sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AirflowClient]:
    """The sandbox's REST API without MWAA in between: what the MWAA paths must agree with."""
    monkeypatch.setenv("PSRE_T_SB_USER", sandbox.username)
    monkeypatch.setenv("PSRE_T_SB_PASS", sandbox.password)
    client = AirflowClient(
        "direct", AirflowConnection(url=sandbox.url, username_env="PSRE_T_SB_USER", password_env="PSRE_T_SB_PASS")
    )
    yield client
    await client.aclose()


# -- Airflow over InvokeRestApi ----------------------------------------------------------------------


async def test_airflow_client_lists_the_sandbox_failures_over_mwaa(
    fake_mwaa: tuple[FakeMwaa, str], direct: AirflowClient
) -> None:
    fake, url = fake_mwaa
    rt = Runtime(settings_for({"name": ENV_NAME, "region": "us-east-1", "endpoint_url": url}))
    try:
        client = rt.airflow("aws")
        before = fake.count("InvokeRestApi")
        over_mwaa = await client.list_dag_runs(states=("failed",), limit=50)
        assert await client.detected_version() == "3"  # from GetEnvironment, then the API prefix probe
        expected = await direct.list_dag_runs(states=("failed",), limit=50)
        assert over_mwaa.total == expected.total > 0
        assert [r.run_id for r in over_mwaa.items] == [r.run_id for r in expected.items]
        assert fake.count("InvokeRestApi") > before
        # Run ids with ':' and '+' survive the Path; a task instance and a 404 come back as Airflow said.
        run = over_mwaa.items[0]
        tis = await client.task_instances(run.dag_id, run.run_id)
        assert {t.task_id for t in tis} == {t.task_id for t in await direct.task_instances(run.dag_id, run.run_id)}
        with pytest.raises(NotFound, match="no DAG 'no_such_dag' in environment 'aws'"):
            await client.get_dag("no_such_dag")
    finally:
        await rt.aclose()


async def test_web_login_fallback_when_invoke_rest_api_is_denied(fake_mwaa: tuple[FakeMwaa, str]) -> None:
    fake, url = fake_mwaa
    fake.deny_invoke = True
    # The stand-in is also the webserver, over plain HTTP: webserver_url replaces https://<WebServerHostname>.
    transport = MwaaTransport("aws", mwaa_conn(url, airflow_version="3", webserver_url=url))
    client = AirflowClient("aws", AirflowConnection(url="https://mwaa.invalid", version="3"), transport=transport)
    try:
        page = await client.list_dag_runs(states=("failed",), limit=5)
        assert page.total > 0
        assert transport.mode == "web_login" and fake.count("WebLogin") >= 1 and fake.count("WebApi") >= 1
    finally:
        fake.deny_invoke = False
        await client.aclose()

    strict = MwaaTransport("aws", mwaa_conn(url, airflow_version="3", access="invoke_rest_api"))
    fake.deny_invoke = True
    client = AirflowClient("aws", AirflowConnection(url="https://mwaa.invalid", version="3"), transport=strict)
    try:
        with pytest.raises(BackendRefused, match="access denied; the IAM identity needs permission for MWAA Invoke"):
            await client.list_dag_runs(limit=5)
    finally:
        fake.deny_invoke = False
        await client.aclose()


@pytest.mark.parametrize("key", ["EXPIREDKEY000000", "INVALIDKEY000000"])
async def test_expired_or_invalid_credentials_are_clear(
    fake_mwaa: tuple[FakeMwaa, str], monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    _, url = fake_mwaa
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    client = AirflowClient(
        "aws",
        AirflowConnection(url="https://mwaa.invalid", version="3"),
        transport=MwaaTransport("aws", mwaa_conn(url, airflow_version="3")),
    )
    try:
        with pytest.raises(BackendRefused) as caught:
            await client.list_dag_runs(limit=5)
    finally:
        await client.aclose()
    message = caught.value.message
    assert "AWS credentials for environment 'aws' are expired or invalid" in message
    assert "InvokeRestApi" in message and "test-secret-key" not in message and key not in message


async def test_throttling_is_retried_then_a_clear_error(fake_mwaa: tuple[FakeMwaa, str]) -> None:
    fake, url = fake_mwaa
    transport = MwaaTransport("aws", mwaa_conn(url, airflow_version="3", max_attempts=3))
    client = AirflowClient("aws", AirflowConnection(url="https://mwaa.invalid", version="3"), transport=transport)
    try:
        fake.throttle(1)  # one throttled answer: botocore's retry absorbs it
        assert (await client.list_dag_runs(limit=1)).total >= 0
        fake.throttle(100)
        before = fake.count("InvokeRestApi")
        with pytest.raises(BackendUnavailable) as caught:
            await client.list_dag_runs(limit=1)
        assert fake.count("InvokeRestApi") - before == 3  # max_attempts, then the error
    finally:
        fake.throttle(0)
        await client.aclose()
    assert "AWS MWAA InvokeRestApi for environment 'aws'" in caught.value.message
    assert "throttled (ThrottlingException) after 3 attempt(s)" in caught.value.message


# -- Airflow over the CLI path (each command runs the sandbox's CLI: seconds apiece, so few of them) -------


async def test_cli_path_detects_a_failed_run_and_reads_its_task_states(
    fake_mwaa: tuple[FakeMwaa, str], sandbox: SandboxInfo, direct: AirflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = fake_mwaa
    # Only the expiry this test makes may turn a command away: on a slow machine four CLI commands can
    # outlast a 60 s token, and the client would renew it on its own clock before the stale one is met.
    monkeypatch.setattr(mwaa_cli, "TOKEN_REUSE_SECONDS", 3600.0)
    monkeypatch.setattr(fake, "cli_token_seconds", 3600.0)
    mwaa = {"name": ENV_NAME, "region": "us-east-1", "endpoint_url": url, "access": "cli", "webserver_url": url}
    rt = Runtime(settings_for(mwaa, dags=[{"match": "example_code_*", "tier": 1}]))  # detection watches these
    commands, tokens, versions = fake.count("Cli"), fake.count("CreateCliToken"), fake.count("GetEnvironment")
    run_id = next(r for d, r in sandbox.runs if d == "example_code_bug")
    try:
        client = rt.airflow("aws")
        failed = await client.list_dag_runs(states=("failed",), limit=50)  # across the DAGs config names
        assert await client.detected_version() == "3"
        expected = await direct.list_dag_runs(dag_id="example_code_bug", states=("failed",), limit=50)
        seen = [r.run_id for r in failed.items]
        assert seen == [r.run_id for r in expected.items] and run_id in seen
        assert failed.total == expected.total
        fake.expire_cli_tokens()  # the next command meets a stale token: it takes a fresh one and goes on
        tis = await client.task_instances("example_code_bug", run_id)
        states = {t.task_id: t.state for t in await direct.task_instances("example_code_bug", run_id)}
        assert {t.task_id: t.state for t in tis} == states and states["transform_invoices"] == "failed"
    finally:
        await rt.aclose()
    # version, dags list, dags list-runs, tasks states-for-dag-run (+ the one turned away): no GetEnvironment
    assert fake.count("Cli") - commands == 5 and fake.count("CreateCliToken") - tokens == 2
    assert fake.count("GetEnvironment") == versions


async def test_cli_fallback_triggers_and_clears_a_run(
    fake_mwaa: tuple[FakeMwaa, str], sandbox_manager: Sandbox
) -> None:
    fake, url = fake_mwaa
    fake.deny_invoke = fake.deny_web_login = True  # auto: InvokeRestApi, then the web login, then the CLI
    transport = MwaaTransport("aws", mwaa_conn(url, airflow_version="3", webserver_url=url))
    client = AirflowClient("aws", AirflowConnection(url="https://mwaa.invalid", version="3"), transport=transport)
    dag_id, run_id, conf = "example_flaky_network", f"psre_cli_{secrets.token_hex(4)}", {"asked_by": "on-call's CLI"}
    try:
        run = await client.trigger_dag_run(dag_id, run_id, conf)
        assert transport.mode == "cli" and run.run_id == run_id and run.conf == conf and run.logical_date
        with pytest.raises(BackendRefused, match="HTTP 409"):  # the run id exists: how a retried action knows
            await client.trigger_dag_run(dag_id, run_id, conf)
        assert sandbox_manager.wait_for_runs([(dag_id, run_id)], timeout=180)[(dag_id, run_id)] == "failed"
        cleared = await client.clear_task_instances(dag_id, run_id)
        assert sorted(cleared) == ["fetch_exchange_rates", "store_rates"]
        assert sandbox_manager.wait_for_runs([(dag_id, run_id)], timeout=180)[(dag_id, run_id)] == "success"
    finally:
        fake.deny_invoke = fake.deny_web_login = False
        await client.aclose()
    with sandbox_manager.client() as sandbox_client:
        assert sandbox_client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["conf"] == conf


async def test_cli_path_refuses_unsafe_arguments_and_calls_it_cannot_make(fake_mwaa: tuple[FakeMwaa, str]) -> None:
    fake, url = fake_mwaa
    transport = MwaaTransport("aws", mwaa_conn(url, airflow_version="3", access="cli", webserver_url=url))
    client = AirflowClient("aws", AirflowConnection(url="https://mwaa.invalid", version="3"), transport=transport)
    commands, tokens = fake.count("Cli"), fake.count("CreateCliToken")
    try:
        with pytest.raises(InvalidInput, match="DAG id 'example_healthy; airflow db reset' cannot be passed"):
            await client.trigger_dag_run("example_healthy; airflow db reset", "psre_x", {})
        with pytest.raises(InvalidInput, match=r"run id 'x \$\(touch /tmp/p\)' cannot be passed safely"):
            await client.trigger_dag_run("example_healthy", "x $(touch /tmp/p)", {})
        with pytest.raises(InvalidInput, match="run id '--yes' cannot be passed safely"):
            await client.clear_task_instances("example_code_bug", "--yes")
        with pytest.raises(
            BackendRefused, match=r"MWAA environment psre-test .*the CLI fallback cannot read task logs"
        ):
            await client.task_log_tail("example_code_bug", "any", "transform_invoices", 1, 10)
        with pytest.raises(BackendRefused, match=r"environment 'aws'.*the CLI fallback cannot read the asset graph"):
            await client.downstream_dags("example_code_bug")
    finally:
        await client.aclose()
    assert fake.count("Cli") == commands and fake.count("CreateCliToken") == tokens  # refused before any call


# -- CloudWatch Logs ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_stream(moto_logs: str) -> Iterator[str]:
    """10,000 events in the stream of one try, plus a short one with a multi-line traceback."""
    logs = boto3.client(
        "logs",
        endpoint_url=moto_logs,
        region_name="us-east-1",
        aws_access_key_id="AKIATESTPSRE0000",
        aws_secret_access_key="x",
    )
    group = f"airflow-{ENV_NAME}-Task"
    base = int(time.time() * 1000) - 60_000  # CloudWatch refuses events older than 14 days
    logs.create_log_group(logGroupName=group)
    long_stream = stream_name("etl_orders", RUN_ID, "load", 2)
    logs.create_log_stream(logGroupName=group, logStreamName=long_stream)
    for start in range(0, EVENTS, 2500):
        batch: list[Any] = [{"timestamp": base + i, "message": f"line {i}"} for i in range(start, start + 2500)]
        logs.put_log_events(logGroupName=group, logStreamName=long_stream, logEvents=batch)
    short = stream_name("etl_orders", RUN_ID, "publish", 1)
    logs.create_log_stream(logGroupName=group, logStreamName=short)
    messages = [
        "INFO - Starting attempt 1",
        'ERROR - Task failed with exception\nTraceback (most recent call last):\n  File "x.py", line 1\n'
        "KeyError: 'customer_id'",
        "INFO - Marking task as FAILED",
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName=short,
        logEvents=[{"timestamp": base + i, "message": m} for i, m in enumerate(messages)],
    )
    yield long_stream


def test_stream_names_follow_the_airflow_template() -> None:
    assert stream_name("d", RUN_ID, "t", 3) == (
        "dag_id=d/run_id=scheduled__2026-01-05T02_00_00+00_00/task_id=t/attempt=3.log"
    )
    assert (
        stream_name("d", "manual__x", "t", 1, map_index=4)
        == "dag_id=d/run_id=manual__x/task_id=t/map_index=4/attempt=1.log"
    )
    assert MwaaConnection(name="Prod-1").task_log_group == "airflow-Prod-1-Task"


async def test_tail_reads_the_last_200_lines_in_at_most_two_calls(moto_logs: str, loaded_stream: str) -> None:
    logs = CloudWatchTaskLogs("aws", mwaa_conn("http://unused", logs_endpoint_url=moto_logs))
    lines, older = await logs.tail("etl_orders", RUN_ID, "load", 2, lines=200)
    assert lines == [f"line {i}" for i in range(EVENTS - 200, EVENTS)]
    assert older is True
    assert logs.calls <= 2

    logs.calls = 0
    lines, older = await logs.tail("etl_orders", RUN_ID, "publish", 1, lines=200)
    assert lines[0] == "INFO - Starting attempt 1" and "KeyError: 'customer_id'" in lines
    assert len(lines) == 6 and older is False and logs.calls == 1

    # moto matches single terms only (the default '?ERROR ?Traceback ...' OR-pattern is real CloudWatch syntax)
    errors = await logs.search("etl_orders", RUN_ID, "publish", 1, pattern="ERROR")
    assert errors[0] == "ERROR - Task failed with exception" and "KeyError: 'customer_id'" in errors

    with pytest.raises(NotFound, match="no CloudWatch log stream"):
        await logs.tail("etl_orders", RUN_ID, "missing", 1)


async def test_runtime_hooks_read_cloudwatch_for_mwaa_environments(moto_logs: str, loaded_stream: str) -> None:
    rt = Runtime(settings_for({"name": ENV_NAME, "region": "us-east-1", "logs_endpoint_url": moto_logs}))
    try:
        logs = rt.clients.task_logs("aws")  # the reader the runtime chose for an MWAA environment
        tail, seen = await mwaa_log_tail(logs, "etl_orders", RUN_ID, "load", 2, 50)
        assert tail[-1] == f"line {EVENTS - 1}" and len(tail) == 50 and seen is None
        lines = [line async for line in mwaa_log_lines(logs, "etl_orders", RUN_ID, "publish", 1)]
        assert lines[-1] == "INFO - Marking task as FAILED"
    finally:
        await rt.aclose()


def _inject(logs: CloudWatchTaskLogs, code: str, status: int) -> list[int]:
    """Answer every GetLogEvents with an AWS error, before it leaves botocore (its retries still apply)."""
    seen: list[int] = []

    def respond(request: Any, **_: Any) -> AWSResponse:
        seen.append(1)
        body = f'{{"__type":"{code}","message":"refused by the test"}}'.encode()
        return AWSResponse(
            request.url,
            status,
            HTTPHeaders.from_dict({"x-amzn-RequestId": "t", "Content-Type": "application/json"}),
            _Raw(body),
        )

    logs.client.meta.events.register("before-send.cloudwatch-logs.GetLogEvents", respond)
    return seen


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


async def test_cloudwatch_expired_credentials_and_throttling_are_clear(moto_logs: str) -> None:
    logs = CloudWatchTaskLogs("aws", mwaa_conn("http://unused", logs_endpoint_url=moto_logs, max_attempts=3))
    seen = _inject(logs, "ExpiredTokenException", 400)
    with pytest.raises(BackendRefused, match="AWS credentials for environment 'aws' are expired or invalid"):
        await logs.tail("etl_orders", RUN_ID, "load", 2)
    assert len(seen) == 1  # never retried

    logs = CloudWatchTaskLogs("aws", mwaa_conn("http://unused", logs_endpoint_url=moto_logs, max_attempts=3))
    seen = _inject(logs, "ThrottlingException", 400)
    with pytest.raises(BackendUnavailable) as caught:
        await logs.tail("etl_orders", RUN_ID, "load", 2)
    assert len(seen) == 3
    assert "CloudWatch Logs GetLogEvents" in caught.value.message and "throttled" in caught.value.message
