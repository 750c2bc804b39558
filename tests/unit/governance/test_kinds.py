"""Action kinds: listed once, each owning its executor, and the digested call is the call that is sent
(Airflow 2, Airflow 3 and MWAA's InvokeRestApi here; MWAA's CLI path in test_mwaa_cli.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.connectors.clients import Clients
from pipeline_sre.connectors.mwaa import MwaaTransport, mwaa_airflow_connection
from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance import kinds
from pipeline_sre.governance.actions import Action
from pipeline_sre.settings.backends import MwaaConnection
from pipeline_sre.settings.config import AirflowConnection, Settings, parse_settings
from tests.unit.governance.fakes import ClientsWith

pytestmark = pytest.mark.anyio

T0 = datetime(2025, 1, 8, 9, 0, tzinfo=UTC)
RUN = "scheduled__2025-01-08T00:00:00+00:00"
CLEAR = {"dag_id": "etl_sales", "dag_run_id": RUN}
TRIGGER = {"dag_id": "etl_sales", "conf": {"date": "2025-01-08"}}


def settings(version: str = "3") -> Settings:
    return parse_settings({"environments": {"prod": {"airflow": {"url": "http://af.test", "version": version}}}}, "t")


def action(kind: str, params: dict[str, Any]) -> Action:
    return Action(
        id="act_abcdefghijklmnopqrst",
        kind=kind,
        environment="prod",
        params=kinds.get_kind(kind).normalise(params),
        requested_by="mcp:alice",
        created_at=T0,
    )


def test_kinds_are_one_list_and_lookups_read_it() -> None:
    assert kinds.known_kinds() == ["clear_failed_tasks", "repair_run", "rollout_config", "run_now", "trigger_dag"]
    with pytest.raises(InvalidInput, match="known kinds: clear_failed_tasks, repair_run, rollout_config"):
        kinds.get_kind("rm_rf")
    built = kinds.executors(Clients(settings()))
    assert [e.kind for e in built] == [k.kind for k in kinds.KINDS]
    assert {e.kind: e.resend_safe for e in built} == {k.kind: k.resend_safe for k in kinds.KINDS}
    assert kinds.get_kind("clear_failed_tasks").resend_safe is False  # a clear cannot be deduplicated


def test_digests_stay_what_they_were_for_airflow_3_databricks_and_github() -> None:
    """Approvals are bound to digests: an action approved before the calls were built by the clients
    still executes (only Airflow 2 and MWAA CLI calls changed, to what those really send)."""
    cases = {
        ("clear_failed_tasks", json.dumps(CLEAR)): "fa44ea43992d00b66c3278a94620adc4f71755e2d84edf3f60504c911e82a034",
        ("trigger_dag", json.dumps(TRIGGER)): "8723561ca76d4a0c623a90098b713226e445e563a9bb6e004f0fdefa8ab96044",
        (
            "trigger_dag",
            json.dumps({"dag_id": "etl_sales", "conf": {}, "note": "rerun after fix"}),
        ): "83d6968457f15891fed4850a10bc02a8179e8b4e49e3258bb1f97032e000073b",
        (
            "repair_run",
            json.dumps({"job_id": 11, "run_id": 5, "latest_repair_id": 9}),
        ): "099ea4aabb6ec8c9c11735d29d1c1c2a76e1dfb4a135c424ba3906550ec218fe",
        (
            "run_now",
            json.dumps({"job_id": 12, "job_parameters": {"date": "2025-01-01"}}),
        ): "67e2fcf1e48ec268b2b97d40ca3ed903f1a00f37e25d111a793c81f776fcc8f4",
        (
            "rollout_config",
            json.dumps(
                {
                    "repo": "acme/pipelines",
                    "base": "main",
                    "path": "jobs/nightly sales.json",
                    "title": "Retry 3x",
                    "old_content": "a\n",
                    "new_content": "b\n",
                }
            ),
        ): "a53a3940eae972c05269423358d9caa26d00ce27640a77a9ad4aa1c63186de8e",
    }
    clients = Clients(settings("3"))
    for (kind, params), digest in cases.items():
        a = action(kind, json.loads(params))
        assert a.digest(kinds.get_kind(kind).executor_for(clients).describe_call(a)) == digest, kind


class Recorder:
    """Airflow's REST API as far as the two writes go; keeps every request it is sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.sent.append({"method": request.method, "path": request.url.raw_path.decode(), "body": body})
        if request.url.path.endswith("/clearTaskInstances"):
            return httpx.Response(200, json={"task_instances": [{"task_id": "load"}]})
        return httpx.Response(200, json={"dag_id": "etl_sales", "dag_run_id": body["dag_run_id"], "state": "queued"})


async def described_and_sent(clients: Clients, kind: str, params: dict[str, Any], sent: Callable[[], Any]) -> Any:
    a = action(kind, params)
    executor = kinds.get_kind(kind).executor_for(clients)
    await executor.prepare(a)
    described = executor.describe_call(a)
    await executor.execute(a)
    return described, sent()


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize(("kind", "params"), [("clear_failed_tasks", CLEAR), ("trigger_dag", TRIGGER)])
async def test_the_digested_call_is_the_request_airflow_gets(version: str, kind: str, params: dict[str, Any]) -> None:
    recorder = Recorder()
    clients = Clients(settings(version), transport=httpx.MockTransport(recorder))
    try:
        described, sent = await described_and_sent(clients, kind, params, lambda: recorder.sent)
    finally:
        await clients.aclose()
    assert sent == [described]
    assert described["path"].startswith("/api/v1/" if version == "2" else "/api/v2/")
    if version == "2":  # Airflow 2's clear takes no note and its trigger no logical date: neither is shown
        assert "note" not in described["body"] and "logical_date" not in described["body"]


class InvokeRecorder:
    """boto3's MWAA client, as far as InvokeRestApi goes; keeps every request it carries."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def invoke_rest_api(self, **request: Any) -> dict[str, Any]:
        self.sent.append(request)
        body = request["Body"]
        if request["Path"].endswith("/clearTaskInstances"):
            return {"RestApiStatusCode": 200, "RestApiResponse": {"task_instances": [{"task_id": "load"}]}}
        answer = {"dag_id": "etl_sales", "dag_run_id": body["dag_run_id"], "state": "queued"}
        return {"RestApiStatusCode": 200, "RestApiResponse": answer}


@pytest.mark.parametrize(("kind", "params"), [("clear_failed_tasks", CLEAR), ("trigger_dag", TRIGGER)])
async def test_over_invoke_rest_api_the_digested_call_is_the_request_mwaa_carries(
    kind: str, params: dict[str, Any]
) -> None:
    boto = InvokeRecorder()
    conn = MwaaConnection(name="psre-test", airflow_version="3")
    transport = MwaaTransport("prod", conn, client=boto)
    airflow_conn = mwaa_airflow_connection(AirflowConnection(url="https://mwaa.invalid"), conn)
    airflow = AirflowClient("prod", airflow_conn, transport=transport, backoff_base=0.0)
    clients = ClientsWith(settings("3"), airflow)
    try:
        described, sent = await described_and_sent(clients, kind, params, lambda: boto.sent)
    finally:
        await airflow.aclose()
    # InvokeRestApi's Path is relative to the API root; the request is otherwise Airflow's, unchanged.
    assert sent == [
        {
            "Name": "psre-test",
            "Method": described["method"],
            "Path": described["path"].removeprefix("/api/v2"),
            "Body": described["body"],
        }
    ]
