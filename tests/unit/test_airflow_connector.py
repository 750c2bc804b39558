"""AirflowClient against recorded Airflow 2/3 responses (tests/data/airflow) and the in-process fake."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_sre.connectors import airflow as airflow_module
from pipeline_sre.connectors.airflow import AirflowClient, capped_lines
from pipeline_sre.errors import BackendInvalidResponse, BackendRefused, BackendUnavailable, NotFound
from pipeline_sre.settings.config import AirflowConnection
from tests.fakes.airflow_api import FakeAirflow, FakeDag

pytestmark = pytest.mark.anyio

DATA = Path(__file__).resolve().parents[1] / "data" / "airflow"
URL = "http://airflow.test"
NOW = datetime.now(UTC).replace(microsecond=0)
ODD_RUN_ID = "manual__2026-11-23T08:12:44.118210+00:00/backfill"


def recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")


def connection(url: str = URL, **overrides: Any) -> AirflowConnection:
    fields: dict[str, Any] = {"url": url, "username_env": "PSRE_T_USER", "password_env": "PSRE_T_PASS"}
    fields.update(overrides)
    return AirflowConnection(**fields)


def small_fake(version: str = "3", **options: Any) -> FakeAirflow:
    fake = FakeAirflow(version, **options)  # type: ignore[arg-type]
    fake.add_dag(
        FakeDag(
            "sales_orders",
            ["tier:1", "business_critical"],
            "sales",
            3600,
            [("extract", "PythonOperator"), ("load", "SQLExecuteQueryOperator"), ("publish", "BashOperator")],
            max_tries=2,
        )
    )
    fake.add_dag(FakeDag("finance_ledger", ["tier:2"], "finance", 3600, [("extract", "PythonOperator"), ("load", "X")]))
    for hours in range(1, 4):
        for dag, fail in (("sales_orders", 1), ("finance_ledger", 0)):
            logical = (NOW - timedelta(hours=hours)).replace(minute=0, second=0)
            run_id = "scheduled__" + logical.isoformat()
            fake.add_run(dag, run_id, "failed", end=NOW - timedelta(minutes=60 * hours - 30), first_failed_task=fail)
    fake.add_run("sales_orders", ODD_RUN_ID, "failed", end=NOW - timedelta(minutes=3), run_type="manual")
    return fake


def client_for(fake: FakeAirflow, env: str = "prod", **overrides: Any) -> AirflowClient:
    return AirflowClient(env, connection(**overrides), transport=fake.transport(), backoff_base=0.0)


@pytest.fixture
async def fake3() -> AsyncIterator[FakeAirflow]:
    yield small_fake("3")


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response], version: str = "3", **overrides: Any
) -> AirflowClient:
    conn = connection(version=version, **overrides)
    return AirflowClient("prod", conn, transport=httpx.MockTransport(handler), backoff_base=0.0)


def token_or(handler: Callable[[httpx.Request], httpx.Response]) -> Callable[[httpx.Request], httpx.Response]:
    def wrapped(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json=recorded("v3_token.json"))
        return handler(request)

    return wrapped


# -- version detection -------------------------------------------------------------------------------


async def test_detects_airflow3_with_one_token_request(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    page = await client.list_dag_runs()
    assert client.version == "3"
    assert page.total == 7
    assert fake3.count("POST /auth/token") == 1
    assert fake3.count("GET /version") == 0
    assert fake3.raw_paths()[-1].startswith("/api/v2/dags/~/dagRuns")
    assert fake3.requests[-1].authorization and fake3.requests[-1].authorization.startswith("Bearer ")
    await client.aclose()


async def test_detects_airflow2_and_uses_basic_auth() -> None:
    fake = small_fake("2")
    client = client_for(fake)
    page = await client.list_dag_runs()
    assert client.version == "2"
    assert page.total == 7
    assert fake.count("POST /auth/token") == 1  # 404: not Airflow 3
    assert fake.raw_paths()[-1].startswith("/api/v1/dags/~/dagRuns")
    assert fake.requests[-1].authorization and fake.requests[-1].authorization.startswith("Basic ")
    await client.aclose()


async def test_detects_airflow3_with_static_token(fake3: FakeAirflow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_TOKEN", fake3.issue_token())
    client = client_for(fake3, token_env="PSRE_T_TOKEN", username_env=None, password_env=None)
    await client.list_dag_runs()
    assert client.version == "3"
    assert fake3.count("GET /version") == 1
    assert fake3.count("POST /auth/token") == 0
    await client.aclose()


async def test_detection_fails_clearly_when_no_api_answers() -> None:
    client = mock_client(lambda r: httpx.Response(404, text="not here"), version="auto")
    with pytest.raises(BackendRefused, match=r"'prod' \(http://airflow.test\) exposes neither"):
        await client.list_dag_runs()
    await client.aclose()


# -- recorded responses ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2", "3"])
async def test_recorded_run_page_parses_both_versions(version: str) -> None:
    tag = "v3" if version == "3" else "v2"
    client = mock_client(token_or(lambda r: httpx.Response(200, json=recorded(f"{tag}_dag_runs_page.json"))), version)
    page = await client.list_dag_runs(limit=500)
    assert page.total == 250
    assert [r.run_id for r in page.items][-1] == ODD_RUN_ID
    first = page.items[0]
    assert first.dag_id == "sales_orders_daily" and first.state == "failed"
    assert first.logical_date == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # execution_date on Airflow 2
    assert first.end_date is not None and first.end_date.tzinfo is not None
    await client.aclose()


@pytest.mark.parametrize("version", ["2", "3"])
async def test_recorded_dag_tags_both_shapes(version: str) -> None:
    tag = "v3" if version == "3" else "v2"
    client = mock_client(token_or(lambda r: httpx.Response(200, json=recorded(f"{tag}_dag.json"))), version)
    assert await client.dag_tags("sales_orders_daily") == ["tier:1", "business_critical", "team:sales-data"]
    await client.aclose()


@pytest.mark.parametrize("version", ["2", "3"])
async def test_recorded_404_becomes_not_found(version: str) -> None:
    tag = "v3" if version == "3" else "v2"
    client = mock_client(token_or(lambda r: httpx.Response(404, json=recorded(f"{tag}_error_404.json"))), version)
    with pytest.raises(NotFound, match="in environment 'prod'"):
        await client.get_dag_run("sales_orders_daily", "nope")
    await client.aclose()


async def test_pagination_at_server_cap_recorded() -> None:
    """Asked for 500, the server's maximum_page_limit gives 100; the exact total still comes back."""
    seen: list[httpx.URL] = []
    runs = recorded("v3_dag_runs_page.json")["dag_runs"]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"dag_runs": (runs * 34)[:100], "total_entries": 250})

    client = mock_client(token_or(handler), page_size=500)
    page = await client.list_dag_runs(end_gte=NOW - timedelta(hours=1))
    assert len(page.items) == 100 and page.total == 250
    assert seen[0].params["limit"] == "500"
    await client.aclose()


async def test_pagination_at_server_cap_fake() -> None:
    generated = datetime.now(UTC)  # the fake's exactness holds for a window opened near its generation time
    fake = FakeAirflow.generate(20, 1000, 250, seed=3, now=generated, max_page_limit=100)
    client = client_for(fake, page_size=500)
    start = generated - timedelta(hours=1)
    page = await client.list_dag_runs(end_gte=start, end_lte=datetime.now(UTC))
    assert len(page.items) == 100
    assert page.total == 250 == fake.failed_between(start, datetime.now(UTC))
    seen: set[str] = {r.run_id + r.dag_id for r in page.items}
    offset = len(page.items)
    while offset < page.total:
        nxt = await client.list_dag_runs(end_gte=start, end_lte=datetime.now(UTC), offset=offset, limit=100)
        seen |= {r.run_id + r.dag_id for r in nxt.items}
        offset += len(nxt.items)
    assert len(seen) == 250
    await client.aclose()


@pytest.mark.parametrize("version", ["2", "3"])
async def test_batch_run_list_sends_documented_fields_and_is_not_capped(version: str) -> None:
    bodies: list[dict[str, Any]] = []
    shapes = recorded(f"v{version}_dag_runs_page.json")["dag_runs"]
    runs = [{**shapes[i % len(shapes)], "dag_run_id": f"scheduled__{i}"} for i in range(2500)]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json=recorded("v3_token.json"))
        assert request.method == "POST" and request.url.path == f"/api/v{int(version) - 1}/dags/~/dagRuns/list"
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"dag_runs": runs, "total_entries": 2500})

    client = mock_client(handler, version=version)
    page = await client.runs_ending_between(NOW - timedelta(hours=1), NOW)
    assert page.total == len(page.items) == 2500
    assert len(bodies) == 1
    # Airflow 2's DagRunsBatchFormSchema and Airflow 3's DAGRunsBatchBody both accept exactly these
    assert set(bodies[0]) == {"page_offset", "page_limit", "states", "end_date_gte", "end_date_lte"}
    assert bodies[0]["page_limit"] == airflow_module.BATCH_PAGE_LIMIT and bodies[0]["states"] == ["failed"]
    await client.aclose()


@pytest.mark.parametrize("version", ["2", "3"])
async def test_fake_batch_run_list_follows_the_documented_shape(version: str) -> None:
    fake = small_fake(version)
    headers = {"Authorization": "Bearer " + fake.issue_token()} if version == "3" else {}
    auth = None if version == "3" else httpx.BasicAuth("admin", "admin")
    api = f"/api/v{int(version) - 1}"
    bad = 422 if version == "3" else 400
    async with httpx.AsyncClient(transport=fake.transport(), base_url=URL, headers=headers, auth=auth) as http:
        ok = await http.post(f"{api}/dags/~/dagRuns/list", json={"states": ["failed"], "page_limit": 1000})
        assert ok.status_code == 200
        body = ok.json()
        assert body["total_entries"] == len(body["dag_runs"]) > 0  # page_limit above maximum_page_limit: not capped
        unknown = await http.post(f"{api}/dags/~/dagRuns/list", json={"state": ["failed"]})
        assert unknown.status_code == bad
        naive = await http.post(f"{api}/dags/~/dagRuns/list", json={"end_date_gte": "2026-01-01T00:00:00"})
        assert naive.status_code == bad
        zero = await http.post(f"{api}/dags/~/dagRuns/list", json={"page_limit": 0})
        assert zero.status_code == (200 if version == "3" else 400)
        one_dag = await http.post(f"{api}/dags/sales_orders/dagRuns/list", json={})
        assert one_dag.status_code == (422 if version == "3" else 404)


async def test_failed_tasks_for_runs_matches_recorded_pairs() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=recorded("v3_task_instances_batch.json"))

    client = mock_client(token_or(handler))
    wanted = [
        ("sales_orders_daily", "scheduled__2026-11-23T07:00:00+00:00"),
        ("finance_ledger", "scheduled__2026-11-23T06:00:00+00:00"),
    ]
    found = await client.failed_tasks_for_runs(wanted)
    # finance_ledger's 07:00 run is in the cross product of the two id filters, but was not asked for.
    assert set(found) == set(wanted)
    assert [t.task_id for t in found[wanted[0]]] == ["load_orders"]
    assert [t.task_id for t in found[wanted[1]]] == ["extract_ledger"]
    assert bodies[0]["dag_ids"] == ["finance_ledger", "sales_orders_daily"]
    assert bodies[0]["state"] == ["failed"]
    await client.aclose()


async def test_failed_tasks_for_runs_matches_pairs_on_fake(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    runs = (await client.list_dag_runs()).items
    sales = next(r for r in runs if r.dag_id == "sales_orders" and r.run_id.startswith("scheduled__"))
    finance = next(r for r in runs if r.dag_id == "finance_ledger" and r.run_id != sales.run_id)
    found = await client.failed_tasks_for_runs([(sales.dag_id, sales.run_id), (finance.dag_id, finance.run_id)])
    assert set(found) == {(sales.dag_id, sales.run_id), (finance.dag_id, finance.run_id)}
    assert [t.task_id for t in found[(sales.dag_id, sales.run_id)]] == ["load"]
    assert [t.task_id for t in found[(finance.dag_id, finance.run_id)]] == ["extract"]
    assert await client.failed_tasks_for_runs([]) == {}
    await client.aclose()


# -- auth ---------------------------------------------------------------------------------------------


async def test_401_refreshes_token_once_then_succeeds(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    await client.list_dag_runs()
    fake3.expire_tokens()
    page = await client.list_dag_runs()
    assert page.total == 7
    assert fake3.count("POST /auth/token") == 2
    assert fake3.status_counts[401] == 1
    await client.aclose()


async def test_second_401_is_a_clear_backend_refused(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    fake3.fail_next(2, status=401, path="/dagRuns")
    with pytest.raises(BackendRefused) as err:
        await client.list_dag_runs()
    assert "HTTP 401" in err.value.message and "'prod'" in err.value.message and URL in err.value.message
    assert "credentials" in err.value.message
    assert fake3.count("POST /auth/token") == 2  # the first token, then exactly one refresh
    assert fake3.count("GET /dags/~/dagRuns") == 2
    await client.aclose()


async def test_token_refreshed_before_expiry(fake3: FakeAirflow, monkeypatch: pytest.MonkeyPatch) -> None:
    fake3.token_lifetime = 90
    client = client_for(fake3)
    await client.list_dag_runs()
    first_auth = fake3.requests[-1].authorization
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 40)  # exp is now 50 s away
    await client.list_dag_runs()
    assert fake3.count("POST /auth/token") == 2
    assert fake3.status_counts[401] == 0  # refreshed proactively, not after a rejection
    assert fake3.requests[-1].authorization != first_auth
    await client.aclose()


async def test_wrong_password_names_the_env_vars(fake3: FakeAirflow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_PASS", "wrong")
    client = client_for(fake3, version="3")
    with pytest.raises(BackendRefused, match="PSRE_T_USER/PSRE_T_PASS: HTTP 401"):
        await client.list_dag_runs()
    assert fake3.count("POST /auth/token") == 1
    await client.aclose()


async def test_invalid_jwt_403_triggers_one_refresh(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    await client.list_dag_runs()
    fake3.rotate_secret()
    page = await client.list_dag_runs()
    assert page.total == 7
    await client.aclose()


# -- retries ------------------------------------------------------------------------------------------


async def test_5xx_retried_with_bound_then_success(fake3: FakeAirflow) -> None:
    client = client_for(fake3, max_retries=3)
    await client.list_dag_runs()
    fake3.reset_counters()
    fake3.fail_next(2, status=503)
    page = await client.list_dag_runs()
    assert page.total == 7
    assert fake3.count("GET /dags/~/dagRuns") == 3
    assert fake3.status_counts[503] == 2
    await client.aclose()


async def test_persistent_5xx_is_backend_unavailable_naming_env_and_url(fake3: FakeAirflow) -> None:
    client = client_for(fake3, max_retries=2)
    await client.list_dag_runs()
    fake3.reset_counters()
    fake3.fail_next(100, status=502)
    with pytest.raises(BackendUnavailable) as err:
        await client.list_dag_runs()
    assert "'prod'" in err.value.message and URL in err.value.message
    assert "HTTP 502 after 3 attempt(s)" in err.value.message
    assert fake3.total_requests == 3
    await client.aclose()


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422, 429])
async def test_4xx_is_never_retried(fake3: FakeAirflow, status: int) -> None:
    client = client_for(fake3, max_retries=3)
    await client.list_dag_runs()
    fake3.reset_counters()
    fake3.fail_next(1, status=status)
    expected = NotFound if status == 404 else BackendRefused
    with pytest.raises(expected) as err:
        await client.get_dag_run("sales_orders", ODD_RUN_ID)
    assert fake3.total_requests == 1
    assert "'prod'" in err.value.message
    await client.aclose()


async def test_unknown_run_is_not_found_without_retry(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    with pytest.raises(NotFound, match="no run 'nope' of DAG 'sales_orders' in environment 'prod'"):
        await client.get_dag_run("sales_orders", "nope")
    assert fake3.count("GET /dags/{dag_id}/dagRuns/{run_id}") == 1
    assert await client.find_dag_run("sales_orders", "nope") is None
    await client.aclose()


async def test_dropped_connections_are_retried(fake3: FakeAirflow) -> None:
    client = client_for(fake3, max_retries=3)
    await client.list_dag_runs()
    fake3.drop_next(2)
    page = await client.list_dag_runs()
    assert page.total == 7 and fake3.dropped == 2
    await client.aclose()


async def test_connection_refused_names_env_and_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    client = AirflowClient("staging", connection(url, max_retries=1), backoff_base=0.0)
    with pytest.raises(BackendUnavailable) as err:
        await client.list_dag_runs()
    assert "'staging'" in err.value.message and url in err.value.message
    assert "ConnectError after 2 attempt(s)" in err.value.message
    assert client.request_count == 2
    await client.aclose()


async def test_body_read_failure_is_typed() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'{"dag_runs": ['
            raise httpx.ReadError("connection reset by peer")

    client = mock_client(token_or(lambda r: httpx.Response(200, stream=Broken())))
    with pytest.raises(BackendUnavailable):
        await client.list_dag_runs()
    await client.aclose()


# -- ids, logs, writes --------------------------------------------------------------------------------


async def test_run_ids_are_encoded_whole(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    run = await client.get_dag_run("sales_orders", ODD_RUN_ID)
    assert run.run_id == ODD_RUN_ID
    assert fake3.raw_paths()[-1] == (
        "/api/v2/dags/sales_orders/dagRuns/manual__2026-11-23T08%3A12%3A44.118210%2B00%3A00%2Fbackfill"
    )
    tis = await client.task_instances("sales_orders", ODD_RUN_ID)
    assert [t.state for t in tis] == ["failed", "upstream_failed", "upstream_failed"]
    assert fake3.raw_paths()[-1].endswith("%2B00%3A00%2Fbackfill/taskInstances")
    await client.aclose()


async def test_run_ids_are_encoded_over_real_http(fake3: FakeAirflow) -> None:
    with fake3.serve() as url:
        client = AirflowClient("prod", connection(url), backoff_base=0.0)
        run = await client.get_dag_run("sales_orders", ODD_RUN_ID)
        await client.aclose()
    assert run.run_id == ODD_RUN_ID
    assert fake3.raw_paths()[-1].endswith("/dagRuns/manual__2026-11-23T08%3A12%3A44.118210%2B00%3A00%2Fbackfill")


@pytest.mark.parametrize("version", ["2", "3"])
async def test_task_log_tail_keeps_last_lines_of_a_streamed_body(version: str) -> None:
    fake = small_fake(version)
    lines = [f"line {i} " + "x" * (i % 50) for i in range(20_000)]
    fake.set_log("sales_orders", ODD_RUN_ID, "extract", 3, lines)
    client = client_for(fake)
    await client.list_dag_runs(limit=1)  # version known: see test_log_on_a_fresh_airflow3_client
    tail, seen = await client.task_log_tail("sales_orders", ODD_RUN_ID, "extract", 3, lines=5)
    assert seen == 20_000
    assert len(tail) == 5
    if version == "3":
        assert [json.loads(t)["event"] for t in tail] == lines[-5:]
    else:
        assert [t.split(" - ", 1)[1] for t in tail] == lines[-5:]
    await client.aclose()


async def test_log_on_a_fresh_airflow3_client(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    tail, seen = await client.task_log_tail("sales_orders", ODD_RUN_ID, "extract", 3, lines=2)
    assert seen > 2 and json.loads(tail[-1])["event"].startswith("Marking task as")
    await client.aclose()


async def test_missing_log_is_not_found(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    with pytest.raises(NotFound, match="no log for try 9"):
        await client.task_log_tail("sales_orders", ODD_RUN_ID, "extract", 9, lines=5)
    await client.aclose()


async def test_capped_lines_cuts_a_hostile_line() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"short\n" + b"y" * 50_000
        yield b"z" * 50_000 + b"\nlast"

    out = [line async for line in capped_lines(chunks(), cap=1000)]
    assert out[0] == "short"
    assert out[1].endswith("…[line cut]") and len(out[1]) < 1100
    assert out[2:] == ["last"]


async def test_trigger_on_a_fresh_airflow3_client(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    run = await client.trigger_dag_run("sales_orders", "manual__first-call", {})
    assert run.state == "queued"
    await client.aclose()


async def test_trigger_duplicate_run_id_is_refused_once(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    await client.list_dag_runs(limit=1)  # version known: see test_trigger_on_a_fresh_airflow3_client
    run = await client.trigger_dag_run("sales_orders", "manual__rerun-1", {"k": 1}, note="on-call")
    assert run.state == "queued" and run.conf == {"k": 1}
    fake3.reset_counters()
    with pytest.raises(BackendRefused, match="HTTP 409"):
        await client.trigger_dag_run("sales_orders", "manual__rerun-1", {})
    assert fake3.total_requests == 1
    await client.aclose()


async def test_clear_task_instances_dry_run_then_real(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    planned = await client.clear_task_instances("sales_orders", ODD_RUN_ID, dry_run=True)
    assert planned == ["extract", "publish", "load"] or sorted(planned) == ["extract", "load", "publish"]
    assert fake3.cleared == []
    await client.clear_task_instances("sales_orders", ODD_RUN_ID)
    assert fake3.cleared[0]["run_id"] == ODD_RUN_ID
    assert (await client.get_dag_run("sales_orders", ODD_RUN_ID)).state == "queued"
    await client.aclose()


async def test_run_url_per_version(fake3: FakeAirflow) -> None:
    client = client_for(fake3)
    await client.list_dag_runs()
    assert client.run_url("d", "a+b") == f"{URL}/dags/d/runs/a%2Bb"
    v2 = client_for(small_fake("2"))
    await v2.list_dag_runs()
    assert v2.run_url("d", "a+b") == f"{URL}/dags/d/grid?dag_run_id=a%2Bb"
    await client.aclose()
    await v2.aclose()


@pytest.mark.parametrize("body", [{"detail": "ok"}, {"dag_runs": "none"}, ["not", "an", "object"], {"dag_runs": [1]}])
async def test_a_foreign_200_is_an_error_not_zero_failures(body: Any) -> None:
    """A proxy page or another API answering 200 must not read as "nothing failed"."""
    client = mock_client(token_or(lambda request: httpx.Response(200, json=body)))
    with pytest.raises(BackendInvalidResponse, match="without a 'dag_runs' list"):
        await client.list_dag_runs(states=("failed",), limit=10)
    await client.aclose()


async def test_a_write_is_not_repeated_after_a_timeout() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        raise httpx.ReadTimeout("slow answer", request=request)

    client = mock_client(token_or(handler), max_retries=3)
    with pytest.raises(BackendUnavailable, match="sent once and not repeated"):
        await client.clear_task_instances("sales_orders", ODD_RUN_ID)
    assert sent == ["POST"]
    sent.clear()
    with pytest.raises(BackendUnavailable, match="after 4 attempt"):
        await client.get_dag_run("sales_orders", ODD_RUN_ID)
    assert sent == ["GET"] * 4
    await client.aclose()
