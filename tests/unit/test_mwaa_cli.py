"""MWAA's CLI path: argument checks and quoting, the REST-to-CLI mapping, output parsing, tokens and the
fallback order, against a stub boto3 client and a stand-in webserver answering canned CLI output."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.connectors.mwaa import MwaaTransport, mwaa_airflow_connection
from pipeline_sre.connectors.mwaa_cli import (
    TRY_NOTE,
    checked,
    clear_argv,
    cli_json,
    command_line,
    conf_text,
    failure,
    list_runs_argv,
    run_row,
    select_runs,
    task_row,
    trigger_argv,
)
from pipeline_sre.errors import BackendRefused, BackendUnavailable, InvalidInput, NotFound
from pipeline_sre.governance.actions import Action
from pipeline_sre.governance.kinds import get_kind
from pipeline_sre.settings.backends import MwaaConnection
from pipeline_sre.settings.config import AirflowConnection, parse_settings
from tests.unit.governance.fakes import ClientsWith

pytestmark = pytest.mark.anyio

HOST = "mwaa-web.test"
NOISE = (
    "2026-01-05T10:00:00.000000Z [warning  ] Could not import graphviz. Rendering graph to the graphical "
    "format will not be possible.\n[{not json either\n"
)
RUN_FAILED = "scheduled__2026-01-05T02:00:00+00:00"
RUN_OK = "manual__2026-01-05T03:00:00.118210+00:00"
RUN_OLD = "scheduled__2026-01-04T02:00:00+00:00"
RUNS_V3 = [
    {
        "dag_id": "etl_orders",
        "run_id": RUN_OK,
        "state": "success",
        "run_after": "2026-01-05T03:00:00.118210+00:00",
        "logical_date": "2026-01-05T03:00:00.118210+00:00",
        "start_date": "2026-01-05T03:00:01+00:00",
        "end_date": "2026-01-05T03:05:00+00:00",
    },
    {
        "dag_id": "etl_orders",
        "run_id": RUN_FAILED,
        "state": "failed",
        "run_after": "2026-01-05T02:00:00+00:00",
        "logical_date": "2026-01-05T02:00:00+00:00",
        "start_date": "2026-01-05T02:00:05+00:00",
        "end_date": "2026-01-05T02:10:00+00:00",
    },
    {
        "dag_id": "etl_orders",
        "run_id": RUN_OLD,
        "state": "failed",
        "run_after": "2026-01-04T02:00:00+00:00",
        "logical_date": "",  # an Airflow 3 REST trigger leaves it empty
        "start_date": "2026-01-04T02:00:05+00:00",
        "end_date": "2026-01-04T02:10:00+00:00",
    },
]
STATES = [
    {
        "dag_id": "etl_orders",
        "logical_date": "2026-01-05T02:00:00+00:00",
        "task_id": "extract",
        "state": "success",
        "start_date": "2026-01-05T02:00:05+00:00",
        "end_date": "2026-01-05T02:01:05+00:00",
    },
    {
        "dag_id": "etl_orders",
        "logical_date": "2026-01-05T02:00:00+00:00",
        "task_id": "load",
        "state": "failed",
        "start_date": "2026-01-05T02:01:10+00:00",
        "end_date": "2026-01-05T02:09:58+00:00",
    },
    {
        "dag_id": "etl_orders",
        "logical_date": "2026-01-05T02:00:00+00:00",
        "task_id": "publish",
        "state": "upstream_failed",
        "start_date": "",
        "end_date": "",
    },
]
TRACEBACK = (
    'Traceback (most recent call last):\n  File "trigger_dag.py", line 119, in _trigger_dag\n'
    "airflow.exceptions.DagRunAlreadyExists: A DAG Run already exists for DAG etl_orders with run id {run}\n"
)


def _client_error(code: str, operation: str) -> ClientError:
    status = 403 if "Denied" in code or "Expired" in code else 400
    response: Any = {"Error": {"Code": code, "Message": "by the test"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


class StubMwaa:
    """The boto3 MWAA client: every operation answers, or raises the error code set in `codes`."""

    def __init__(self, version: str = "3.0.6") -> None:
        self.version = version
        self.tokens: list[str] = []
        self.codes: dict[str, str] = {}
        self.calls: list[str] = []

    def _call(self, operation: str) -> None:
        self.calls.append(operation)
        if operation in self.codes:
            raise _client_error(self.codes[operation], operation)

    def get_environment(self, Name: str) -> dict[str, Any]:
        self._call("GetEnvironment")
        return {"Environment": {"Name": Name, "AirflowVersion": self.version}}

    def invoke_rest_api(self, **_: Any) -> dict[str, Any]:
        self._call("InvokeRestApi")
        return {"RestApiStatusCode": 200, "RestApiResponse": {}}

    def create_web_login_token(self, Name: str) -> dict[str, Any]:
        self._call("CreateWebLoginToken")
        return {"WebServerHostname": HOST, "WebToken": "web-token"}

    def create_cli_token(self, Name: str) -> dict[str, Any]:
        self._call("CreateCliToken")
        self.tokens.append(f"cli-secret-token-{len(self.tokens) + 1}")
        return {"CliToken": self.tokens[-1], "WebServerHostname": HOST}


Output = Callable[[list[str]], tuple[str, str]]


class CliWeb:
    """The webserver's /aws_mwaa/cli: checks the bearer token, answers each command with canned output."""

    def __init__(self, stub: StubMwaa, version: str = "3.0.6") -> None:
        self.stub = stub
        self.lines: list[str] = []
        self.reject = 0
        self.broken: httpx.Response | Exception | None = None
        self.outputs: dict[str, Output] = {
            "version": lambda _: (NOISE + version + "\n", ""),
            "dags list": lambda _: (
                NOISE
                + json.dumps(
                    [{"dag_id": d, "tags": [{"name": "tier:1"}]} for d in ("etl_orders", "etl_items", "ml_train")]
                ),
                "",
            ),
            "dags list-runs": lambda argv: (NOISE + json.dumps(self.runs(argv)), ""),
            "tasks states-for-dag-run": lambda _: (NOISE + json.dumps(STATES), ""),
            "tasks clear": lambda _: ("", "INFO - clearing\n"),
        }

    @staticmethod
    def runs(argv: list[str]) -> list[dict[str, Any]]:
        dag = next(a.removeprefix("--dag-id=") for a in argv[2:] if a.startswith("--dag-id=") or a[:1] != "-")
        state = next((a.removeprefix("--state=") for a in argv if a.startswith("--state=")), None)
        rows = [{**r, "dag_id": dag, "run_id": r["run_id"]} for r in RUNS_V3]
        return [r for r in rows if state is None or r["state"] == state]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == HOST
        if request.url.path == "/aws_mwaa/login":  # a web login that REST calls then refuse (old webservers)
            return httpx.Response(200)
        if request.url.path.startswith("/api/"):
            return httpx.Response(401, json={"detail": "Not authenticated"})
        assert request.url.path == "/aws_mwaa/cli"
        assert request.headers["content-type"] == "text/plain"
        line = request.content.decode()
        self.lines.append(line)
        if isinstance(self.broken, Exception):
            raise self.broken
        if self.broken is not None:
            return self.broken
        token = request.headers["authorization"].removeprefix("Bearer ")
        if self.reject or token not in self.stub.tokens:
            self.reject = max(0, self.reject - 1)
            return httpx.Response(403, json={"message": "Forbidden"})
        argv = shlex.split(line)
        stdout, stderr = self.outputs[" ".join(argv[:1] if argv[0] == "version" else argv[:2])](argv)
        encoded = {
            "stdout": base64.b64encode(stdout.encode()).decode(),
            "stderr": base64.b64encode(stderr.encode()).decode(),
        }
        return httpx.Response(200, json=encoded)

    def commands(self) -> list[str]:
        return [" ".join(shlex.split(line)[:2]) for line in self.lines]


def client_for(stub: StubMwaa, web: CliWeb, **fields: Any) -> tuple[AirflowClient, MwaaTransport]:
    conn = MwaaConnection(**{"name": "psre-test", "access": "cli", "webserver_url": f"https://{HOST}", **fields})
    transport = MwaaTransport("aws", conn, client=stub, web_transport=httpx.MockTransport(web))
    airflow = mwaa_airflow_connection(AirflowConnection(url="https://mwaa.invalid"), conn)
    return AirflowClient("aws", airflow, transport=transport, backoff_base=0.0), transport


@pytest.fixture
def stub() -> StubMwaa:
    return StubMwaa()


@pytest.fixture
def web(stub: StubMwaa) -> CliWeb:
    return CliWeb(stub)


# -- arguments and quoting --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["etl.orders-v2_x", "A" * 250, "_private"])
def test_ids_airflow_allows_pass(value: str) -> None:
    assert checked("DAG id", value) == value


@pytest.mark.parametrize(
    "value", ["a;rm -rf /", "-y", "--help", "dag id", "dåg", "a\nb", "", "A" * 251, "$(id)", "a'b", "a/b", None, 3]
)
def test_ids_that_cannot_be_passed_safely_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="cannot be passed safely on an Airflow CLI line"):
        checked("DAG id", value)


@pytest.mark.parametrize("value", [RUN_FAILED, RUN_OK, "manual__x~1", "psre_9f2c.retry"])
def test_run_ids_airflow_generates_pass(value: str) -> None:
    assert checked("run id", value) == value


@pytest.mark.parametrize("value", ["$(reboot)", "-r", "run id", "run'id", "run\tid", "run;id", "rün", "r" * 251, None])
def test_run_ids_that_cannot_be_passed_safely_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match=r"run id .* cannot be passed safely"):
        checked("run id", value)


def test_conf_survives_the_command_line_exactly() -> None:
    conf = {"note": 'it\'s $(rm -rf /) `x` "q"\n\\', "ünïcode": "✓", "n": [1, 2.5, None, True]}
    argv = trigger_argv("3", "etl_orders", "psre_1", conf_text(conf), datetime(2026, 1, 5, 3, tzinfo=UTC))
    line = command_line(argv)
    assert line.isascii() and "\n" not in line
    parsed = shlex.split(line)
    assert parsed == argv
    assert json.loads(next(a for a in parsed if a.startswith("--conf=")).removeprefix("--conf=")) == conf


@pytest.mark.parametrize("conf", [["a"], "x", {"n": float("nan")}, {"big": "x" * 20_000}])
def test_conf_that_is_not_a_small_json_object_is_refused(conf: Any) -> None:
    with pytest.raises(InvalidInput, match="conf"):
        conf_text(conf)


def test_only_the_commands_this_client_needs_are_sent() -> None:
    for argv in (["connections", "list"], ["dags", "delete", "x"], ["db", "reset"], ["tasks", "run", "x"]):
        with pytest.raises(BackendRefused, match="not one this client sends to MWAA"):
            command_line(argv)
    with pytest.raises(InvalidInput):
        command_line(["dags", "list-runs", "x\x00"])


def test_airflow_2_and_3_syntax() -> None:
    assert list_runs_argv("2", "etl", "failed") == [
        "dags",
        "list-runs",
        "--dag-id=etl",
        "--state=failed",
        "--output=json",
    ]
    assert list_runs_argv("3", "etl") == ["dags", "list-runs", "etl", "--output=json"]
    when = datetime(2026, 1, 5, 3, 0, 0, 118210, tzinfo=UTC)
    assert "--exec-date=2026-01-05T03:00:00.118210+00:00" in trigger_argv("2", "etl", "r", "{}", when)
    assert "--logical-date=2026-01-05T03:00:00.118210+00:00" in trigger_argv("3", "etl", "r", "{}", when)
    assert clear_argv("etl", when) == [
        "tasks",
        "clear",
        "etl",
        "--start-date=2026-01-05T03:00:00.118210+00:00",
        "--end-date=2026-01-05T03:00:00.118210+00:00",
        "--only-failed",
        "--yes",
    ]


# -- output -----------------------------------------------------------------------------------------------


def test_json_is_found_after_log_lines() -> None:
    assert cli_json(NOISE + '[{"a": 1}]\n') == [{"a": 1}]
    assert cli_json(NOISE + '{\n  "a": [1,\n 2]\n}\n') == {"a": [1, 2]}
    assert cli_json(NOISE + "No data found\n") == []
    assert cli_json(NOISE) is None


def test_failures_become_airflow_rest_statuses() -> None:
    assert failure("", TRACEBACK.format(run="r"))[0] == 409
    status, detail = failure(NOISE, "DAG: nope does not exist in 'dag' table\n")
    assert status == 404 and detail == "DAG: nope does not exist in 'dag' table"
    assert failure("", "airflow.exceptions.DagRunNotFound: DagRun for x not found")[0] == 404
    assert failure("", "ValueError: bad date")[0] == 400
    assert failure("", "") == (400, "no output")


def test_rows_take_the_rest_shape() -> None:
    v3 = run_row(RUNS_V3[2], "3")
    assert v3["dag_run_id"] == RUN_OLD and v3["logical_date"] is None and v3["run_after"] == "2026-01-04T02:00:00+00:00"
    v2 = run_row(
        {
            "dag_id": "d",
            "run_id": "r",
            "state": "failed",
            "execution_date": "2026-01-05T02:00:00+00:00",
            "start_date": "",
            "end_date": "",
        },
        "2",
    )
    assert v2["execution_date"] == v2["logical_date"] == "2026-01-05T02:00:00+00:00" and v2["end_date"] is None
    started, never = task_row(STATES[1], "etl_orders", RUN_FAILED), task_row(STATES[2], "etl_orders", RUN_FAILED)
    assert started["try_number"] == 1 and started["note"] == TRY_NOTE and started["duration"] == 528.0
    assert never["try_number"] == 0 and never["note"] is None and never["map_index"] == -1
    assert task_row({**STATES[1], "map_index": "3"}, "d", "r")["map_index"] == 3


def test_runs_are_filtered_ordered_and_paged_like_the_rest_api() -> None:
    rows = [run_row(r, "3") for r in RUNS_V3]
    failed = select_runs(rows, httpx.QueryParams([("state", "failed"), ("limit", "1")]))
    assert failed["total_entries"] == 2 and [r["dag_run_id"] for r in failed["dag_runs"]] == [RUN_FAILED]
    window = select_runs(rows, httpx.QueryParams({"end_date_gte": "2026-01-05T00:00:00Z", "order_by": "end_date"}))
    assert [r["dag_run_id"] for r in window["dag_runs"]] == [RUN_FAILED, RUN_OK]
    by_logical = select_runs(rows, httpx.QueryParams({"order_by": "-execution_date", "offset": "1"}))
    assert [r["dag_run_id"] for r in by_logical["dag_runs"]] == [RUN_FAILED, RUN_OLD]  # no logical date: last
    with pytest.raises(BackendRefused, match="cannot order DAG runs by 'conf'"):
        select_runs(rows, httpx.QueryParams({"order_by": "conf"}))


# -- AirflowClient over the CLI path -----------------------------------------------------------------------


async def test_version_and_reads_cost_one_command_each(stub: StubMwaa, web: CliWeb) -> None:
    client, transport = client_for(stub, web)
    try:
        assert await client.detected_version() == "3"
        page = await client.list_dag_runs(dag_id="etl_orders", states=("failed",), limit=1)
        again = await client.list_dag_runs(dag_id="etl_orders", states=("failed",), offset=1, limit=1)
        run = await client.get_dag_run("etl_orders", RUN_OK)
        tis = await client.task_instances("etl_orders", RUN_FAILED)
        load = await client.get_task_instance("etl_orders", RUN_FAILED, "load")
    finally:
        await client.aclose()
    assert "GetEnvironment" not in stub.calls  # `access: cli` reads the version with the CLI
    assert page.total == 2 and [r.run_id for r in page.items + again.items] == [RUN_FAILED, RUN_OLD]
    assert run.state == "success" and run.logical_date == datetime(2026, 1, 5, 3, 0, 0, 118210, tzinfo=UTC)
    assert [(t.task_id, t.state) for t in tis] == [
        ("extract", "success"),
        ("load", "failed"),
        ("publish", "upstream_failed"),
    ]
    assert load.try_number == 1 and load.note == TRY_NOTE
    # paging came from the kept listing; the run lookup listed every state once
    assert web.commands() == ["version", "dags list-runs", "dags list-runs", "tasks states-for-dag-run"]
    assert shlex.split(web.lines[1]) == ["dags", "list-runs", "etl_orders", "--state=failed", "--output=json"]
    assert stub.calls.count("CreateCliToken") == 1 and transport.cli_calls == 4


async def test_airflow_2_syntax_over_the_cli(stub: StubMwaa) -> None:
    web = CliWeb(stub, version="2.10.3")
    client, _ = client_for(stub, web)
    try:
        assert await client.detected_version() == "2"
        assert (await client.list_dag_runs(dag_id="etl_orders", states=("failed", "success"))).total == 3
    finally:
        await client.aclose()
    assert shlex.split(web.lines[1]) == ["dags", "list-runs", "--dag-id=etl_orders", "--output=json"]


async def test_cross_dag_listing_runs_one_command_per_configured_dag(stub: StubMwaa, web: CliWeb) -> None:
    client, _ = client_for(stub, web, airflow_version="3", cli_dags=["etl_*"])
    try:
        page = await client.list_dag_runs(states=("failed",), end_gte=datetime(2026, 1, 5, tzinfo=UTC))
        tags = await client.dag_tags("ml_train")
    finally:
        await client.aclose()
    assert page.total == 2 and {r.dag_id for r in page.items} == {"etl_orders", "etl_items"}
    assert web.commands() == ["dags list", "dags list-runs", "dags list-runs"]  # ml_train is not watched
    assert [shlex.split(x)[2] for x in web.lines[1:]] == ["etl_items", "etl_orders"]
    assert tags == ["tier:1"]  # from the kept `dags list`

    for fields, match in (
        ({"cli_dags": []}, "no DAGs are named for it"),
        ({"cli_dags": ["*"], "cli_max_dags": 2}, "3 DAGs match"),
    ):
        client, _ = client_for(stub, CliWeb(stub), airflow_version="3", **fields)
        try:
            with pytest.raises(BackendRefused, match=match):
                await client.list_dag_runs()
        finally:
            await client.aclose()


async def test_batch_task_states_are_read_run_by_run(stub: StubMwaa, web: CliWeb) -> None:
    client, _ = client_for(stub, web, airflow_version="3", cli_dags=["etl_orders"])
    try:
        await client.list_dag_runs(states=("failed",))
        found = await client.failed_tasks_for_runs([("etl_orders", RUN_FAILED), ("etl_orders", "no_such_run")])
    finally:
        await client.aclose()
    assert [t.task_id for t in found[("etl_orders", RUN_FAILED)]] == ["load"]
    assert web.commands() == ["dags list", "dags list-runs", "tasks states-for-dag-run"]


async def test_trigger_sends_run_id_conf_and_a_logical_date(stub: StubMwaa, web: CliWeb) -> None:
    sent: list[list[str]] = []

    def triggered(argv: list[str]) -> tuple[str, str]:
        sent.append(argv)
        if len(sent) > 1:
            return NOISE, TRACEBACK.format(run="psre_1")
        run = {
            "conf": {"batch": 5},
            "dag_id": "etl_orders",
            "dag_run_id": "psre_1",
            "state": "queued",
            "logical_date": "2026-01-05 04:00:00.118210+00:00",
            "start_date": None,
            "end_date": None,
        }
        return NOISE + json.dumps([run]), ""

    web.outputs["dags trigger"] = triggered
    client, _ = client_for(stub, web, airflow_version="3")
    try:
        run = await client.trigger_dag_run("etl_orders", "psre_1", {"batch": 5}, note="not kept by the CLI")
        with pytest.raises(BackendRefused, match=r"HTTP 409; airflow\.exceptions\.DagRunAlreadyExists"):
            await client.trigger_dag_run("etl_orders", "psre_1", {"batch": 5})
    finally:
        await client.aclose()
    assert run.run_id == "psre_1" and run.state == "queued" and run.conf == {"batch": 5}
    assert sent[0][:5] == ["dags", "trigger", "etl_orders", "--run-id=psre_1", '--conf={"batch":5}']
    assert sent[0][5].startswith("--logical-date=") and sent[0][6:] == ["--no-replace-microseconds", "--output=json"]


async def test_clear_pins_the_run_by_its_logical_date(stub: StubMwaa, web: CliWeb) -> None:
    client, _ = client_for(stub, web, airflow_version="3")
    try:
        planned = await client.clear_task_instances("etl_orders", RUN_FAILED, dry_run=True)
        assert web.commands() == ["dags list-runs", "tasks states-for-dag-run"]  # a dry run clears nothing
        cleared = await client.clear_task_instances("etl_orders", RUN_FAILED, note="not kept by the CLI")
        with pytest.raises(BackendRefused, match=re.escape(f"run '{RUN_OLD}' of DAG 'etl_orders' has no logical date")):
            await client.clear_task_instances("etl_orders", RUN_OLD)
        with pytest.raises(NotFound, match="no DAG 'etl_orders'"):
            await client.clear_task_instances("etl_orders", "no_such_run")
    finally:
        await client.aclose()
    assert planned == cleared == ["load", "publish"]
    clears = [shlex.split(x) for x in web.lines if shlex.split(x)[:2] == ["tasks", "clear"]]
    assert clears == [clear_argv("etl_orders", datetime(2026, 1, 5, 2, tzinfo=UTC))]
    assert web.commands()[2:5] == ["dags list-runs", "tasks states-for-dag-run", "tasks clear"]  # writes re-read


async def test_a_failed_clear_is_reported(stub: StubMwaa, web: CliWeb) -> None:
    web.outputs["tasks clear"] = lambda _: (
        "",
        "Traceback (most recent call last):\nsqlalchemy.exc.OperationalError: locked\n",
    )
    client, _ = client_for(stub, web, airflow_version="3")
    try:
        with pytest.raises(BackendRefused, match=r"HTTP 400; sqlalchemy\.exc\.OperationalError: locked"):
            await client.clear_task_instances("etl_orders", RUN_FAILED)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.trigger_dag_run("etl;reboot", "psre_1", {}), "DAG id 'etl;reboot' cannot be passed safely"),
        (lambda c: c.trigger_dag_run("-h", "psre_1", {}), "DAG id '-h' cannot be passed safely"),
        (lambda c: c.trigger_dag_run("etl_orders", "$(reboot)", {}), "run id '\\$\\(reboot\\)' cannot be passed"),
        (lambda c: c.clear_task_instances("etl_orders", "--yes"), "run id '--yes' cannot be passed safely"),
        (lambda c: c.task_instances("etl_orders", "a b"), "run id 'a b' cannot be passed safely"),
        (lambda c: c.get_task_instance("etl_orders", RUN_FAILED, "t'x"), 'task id "t\'x" cannot be passed safely'),
    ],
)
async def test_unsafe_arguments_are_refused_before_any_call(
    stub: StubMwaa, web: CliWeb, call: Callable[[AirflowClient], Any], match: str
) -> None:
    client, _ = client_for(stub, web, airflow_version="3")
    try:
        with pytest.raises(InvalidInput, match=match):
            await call(client)
    finally:
        await client.aclose()
    assert stub.calls == [] and web.lines == []


async def test_calls_without_a_cli_command_are_refused_clearly(stub: StubMwaa, web: CliWeb) -> None:
    client, _ = client_for(stub, web, airflow_version="3")
    try:
        with pytest.raises(BackendRefused) as logs:
            await client.task_log_tail("etl_orders", RUN_FAILED, "load", 1, 10)
        with pytest.raises(BackendRefused, match="the CLI fallback cannot read the asset graph"):
            await client.downstream_dags("etl_orders")
        with pytest.raises(BackendRefused, match="clears failed tasks only"):
            await client.clear_task_instances("etl_orders", RUN_FAILED, only_failed=False)
    finally:
        await client.aclose()
    assert logs.value.message == (
        "the Airflow CLI of MWAA environment psre-test (environment 'aws'): the CLI fallback cannot read task "
        "logs (for MWAA environments they come from CloudWatch Logs)"
    )
    assert web.lines == []


async def test_tokens_are_reused_then_renewed_when_rejected(
    stub: StubMwaa, web: CliWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline_sre.connectors import mwaa_cli

    client, _ = client_for(stub, web, airflow_version="3")
    try:
        await client.get_dag_run("etl_orders", RUN_OK)
        await client.task_instances("etl_orders", RUN_OK)
        assert stub.calls == ["CreateCliToken"]  # one token for both commands
        web.reject = 1  # the webserver turns the token down once (it expired early, say)
        await client.get_task_instance("etl_orders", RUN_FAILED, "load")
        assert stub.calls.count("CreateCliToken") == 2
        monkeypatch.setattr(mwaa_cli, "TOKEN_REUSE_SECONDS", 0.0)  # past its 60 s: a new one before the call
        await client.task_instances("etl_orders", "other_run")
        assert stub.calls.count("CreateCliToken") == 3
        web.reject = 2
        with pytest.raises(BackendRefused) as rejected:
            await client.task_instances("etl_orders", "yet_another_run")
    finally:
        await client.aclose()
    assert rejected.value.message == (
        "the Airflow CLI of MWAA environment psre-test (environment 'aws') rejected a fresh CLI token: HTTP 403"
    )
    assert not any(t in rejected.value.message for t in stub.tokens)


@pytest.mark.parametrize(
    ("broken", "kind", "match"),
    [
        (httpx.ReadTimeout("slow"), BackendUnavailable, "gave no answer within 30s .* before repeating a write"),
        (httpx.ConnectError("refused"), BackendUnavailable, "is unreachable: ConnectError"),
        (httpx.Response(502, text="Bad Gateway"), BackendUnavailable, "refused `dags trigger`: HTTP 502; Bad Gateway"),
        (httpx.Response(400, text="Command not supported"), BackendRefused, "HTTP 400; Command not supported"),
        (httpx.Response(200, json={"stdout": "%%%"}), BackendUnavailable, "without base64 stdout and stderr"),
    ],
)
async def test_webserver_failures_are_typed(
    stub: StubMwaa, web: CliWeb, broken: httpx.Response | Exception, kind: type[Exception], match: str
) -> None:
    web.broken = broken
    client, _ = client_for(stub, web, airflow_version="3")
    try:
        with pytest.raises(kind, match=match):
            await client.trigger_dag_run("etl_orders", "psre_1", {})
    finally:
        await client.aclose()
    assert len(web.lines) == 1  # a write is never sent twice


@pytest.mark.parametrize(
    ("code", "kind", "match"),
    [
        ("ExpiredTokenException", BackendRefused, "AWS credentials for environment 'aws' are expired or invalid"),
        ("ThrottlingException", BackendUnavailable, "AWS MWAA CreateCliToken for environment 'aws' .* is throttled"),
        ("AccessDeniedException", BackendRefused, "the IAM identity needs permission for MWAA CreateCliToken"),
    ],
)
async def test_create_cli_token_errors_use_the_aws_mapping(
    stub: StubMwaa, web: CliWeb, code: str, kind: type[Exception], match: str
) -> None:
    stub.codes["CreateCliToken"] = code
    client, _ = client_for(stub, web, airflow_version="3")
    try:
        with pytest.raises(kind, match=match):
            await client.list_dag_runs(dag_id="etl_orders")
    finally:
        await client.aclose()


async def test_auto_falls_back_from_invoke_to_web_login_to_cli(stub: StubMwaa, web: CliWeb) -> None:
    stub.codes.update(InvokeRestApi="AccessDeniedException", CreateWebLoginToken="AccessDeniedException")
    client, transport = client_for(stub, web, access="auto")
    try:
        assert (await client.get_dag_run("etl_orders", RUN_OK)).state == "success"
        assert transport.mode == "cli"
        await client.task_instances("etl_orders", RUN_OK)  # the path that worked is kept
    finally:
        await client.aclose()
    assert stub.calls == ["GetEnvironment", "InvokeRestApi", "CreateWebLoginToken", "CreateCliToken"]

    stub = StubMwaa()
    stub.codes.update(InvokeRestApi="AccessDeniedException", CreateWebLoginToken="AccessDenied")
    stub.codes.update(CreateCliToken="AccessDeniedException")
    client, _ = client_for(stub, CliWeb(stub), access="auto")
    try:
        with pytest.raises(BackendRefused) as caught:
            await client.get_dag_run("etl_orders", RUN_OK)
    finally:
        await client.aclose()
    message = caught.value.message
    assert message.startswith("AWS MWAA InvokeRestApi for environment 'aws'")
    assert "; the web-login fallback failed too: AWS MWAA CreateWebLoginToken" in message
    assert "; the CLI fallback failed too: AWS MWAA CreateCliToken" in message


async def test_concurrent_requests_walk_the_fallbacks_once(stub: StubMwaa, web: CliWeb) -> None:
    stub.codes.update(InvokeRestApi="AccessDeniedException", CreateWebLoginToken="AccessDeniedException")
    client, transport = client_for(stub, web, access="auto", airflow_version="3")
    try:
        run, tis = await asyncio.gather(
            client.get_dag_run("etl_orders", RUN_OK), client.task_instances("etl_orders", RUN_FAILED)
        )
    finally:
        await client.aclose()
    assert run.state == "success" and len(tis) == 3 and transport.mode == "cli"
    assert stub.calls.count("CreateWebLoginToken") >= 1 and "CreateCliToken" in stub.calls


async def test_a_web_session_that_rest_calls_refuse_falls_back_to_cli(stub: StubMwaa, web: CliWeb) -> None:
    stub.codes["InvokeRestApi"] = "UnknownOperationException"
    client, transport = client_for(stub, web, access="auto", airflow_version="3")
    try:
        assert (await client.get_dag_run("etl_orders", RUN_OK)).state == "success"
    finally:
        await client.aclose()
    assert transport.mode == "cli" and transport.web_calls == 4  # login, 401, login again, 401
    assert stub.calls == ["InvokeRestApi", "CreateWebLoginToken", "CreateWebLoginToken", "CreateCliToken"]


def test_cli_dags_default_to_the_environments_dag_globs() -> None:
    env = {"airflow": {"url": "https://mwaa.invalid"}, "dags": [{"match": "etl_*", "tier": 1}, {"match": "ml_train"}]}
    named = parse_settings({"environments": {"aws": {**env, "mwaa": {"name": "psre-test"}}}}, "test")
    own = parse_settings({"environments": {"aws": {**env, "mwaa": {"name": "psre-test", "cli_dags": ["x_*"]}}}}, "test")
    mwaa = named.environments["aws"].mwaa
    assert mwaa is not None and mwaa.cli_dags == ("etl_*", "ml_train") and mwaa.access == "auto"
    assert hash(mwaa)  # the CloudWatch connector keeps one client per (environment, connection)
    assert own.environments["aws"].mwaa is not None and own.environments["aws"].mwaa.cli_dags == ("x_*",)


async def test_expired_credentials_do_not_fall_back(stub: StubMwaa, web: CliWeb) -> None:
    stub.codes["InvokeRestApi"] = "ExpiredTokenException"
    client, transport = client_for(stub, web, access="auto", airflow_version="3")
    try:
        with pytest.raises(BackendRefused, match=r"are expired or invalid .*InvokeRestApi"):
            await client.get_dag_run("etl_orders", RUN_OK)
    finally:
        await client.aclose()
    assert transport.mode == "invoke_rest_api" and stub.calls == ["InvokeRestApi"]


# -- the call governance digests is the command that runs ----------------------------------------------


@pytest.mark.parametrize("kind", ["clear_failed_tasks", "trigger_dag"])
async def test_the_digested_call_is_the_command_the_cli_runs(stub: StubMwaa, web: CliWeb, kind: str) -> None:
    def triggered(argv: list[str]) -> tuple[str, str]:
        run = {"dag_id": "etl_orders", "dag_run_id": "pipeline_sre__act_abcdefghijklmnopqrst", "state": "queued"}
        return json.dumps([run]), ""

    web.outputs["dags trigger"] = triggered
    params = (
        {"dag_id": "etl_orders", "dag_run_id": RUN_FAILED}
        if kind == "clear_failed_tasks"
        else {"dag_id": "etl_orders", "conf": {"batch": 5}}
    )
    action = Action(
        id="act_abcdefghijklmnopqrst",
        kind=kind,
        environment="aws",
        params=get_kind(kind).normalise(params),
        requested_by="mcp:alice",
        created_at=datetime(2026, 1, 5, 9, tzinfo=UTC),
    )
    client, _ = client_for(stub, web, airflow_version="3")
    settings = parse_settings({"environments": {"aws": {"airflow": {"url": "https://mwaa.invalid"}}}}, "t")
    executor = get_kind(kind).executor_for(ClientsWith(settings, client))
    try:
        await executor.prepare(action)
        described = executor.describe_call(action)
        await executor.execute(action)
    finally:
        await client.aclose()
    assert described["method"] == "CLI"
    writes = [line for line in web.lines if shlex.split(line)[:2] in (["tasks", "clear"], ["dags", "trigger"])]
    # What is known only when the command is sent stands in the description as a named placeholder.
    mark = "@run_logical_date" if kind == "clear_failed_tasks" else "@now"
    assert list(described["filled_when_sent"]) == [mark]
    pattern = re.escape(described["command"]).replace(re.escape(mark), r"(\S+)")
    matched = [re.fullmatch(pattern, line) for line in writes]
    assert len(writes) == 1 and matched[0] is not None
    filled = {datetime.fromisoformat(value) for value in matched[0].groups()}
    if kind == "clear_failed_tasks":
        assert filled == {datetime(2026, 1, 5, 2, tzinfo=UTC)}  # the run's logical date
    else:
        assert len(filled) == 1 and abs((filled.pop() - datetime.now(UTC)).total_seconds()) < 60
