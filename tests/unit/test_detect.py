"""Detect (recent_failures, failed_runs) against in-process Airflow fakes, one per environment."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline_sre.errors import InvalidInput, UnknownEnvironment
from pipeline_sre.lifecycle.compact import size
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow import detect
from pipeline_sre.settings.config import Settings, parse_settings
from tests.fakes.airflow_api import FakeAirflow, FakeDag, HostRouter

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")


def settings_for(*envs: str, page_size: int = 100) -> Settings:
    airflow = {
        "username_env": "PSRE_T_USER",
        "password_env": "PSRE_T_PASS",
        "max_retries": 1,
        "page_size": page_size,
    }
    data = {"environments": {e: {"airflow": {"url": f"http://{e}.airflow.test", **airflow}} for e in envs}}
    return parse_settings(data, "test")


def runtime_for(fakes: dict[str, FakeAirflow], page_size: int = 100) -> Runtime:
    router = HostRouter({f"{env}.airflow.test": fake.transport() for env, fake in fakes.items()})
    return Runtime(settings_for(*fakes, page_size=page_size), transport=router)


@pytest.fixture
async def estate() -> AsyncIterator[tuple[Runtime, FakeAirflow]]:
    fake = FakeAirflow.generate(n_dags=80, n_runs=4000, failed_last_hour=420, seed=11)
    rt = runtime_for({"prod": fake})
    yield rt, fake
    await rt.aclose()


def window(minutes: int) -> tuple[datetime, datetime]:
    end = datetime.now(UTC)
    return end - timedelta(minutes=minutes), end


# -- recent_failures ---------------------------------------------------------------------------------


async def test_recent_failures_total_is_exact_in_few_requests(estate: tuple[Runtime, FakeAirflow]) -> None:
    rt, fake = estate
    start, end = window(60)
    truth = fake.failed_between(start, end)
    assert truth == 420
    all_failed = sum(1 for r in fake.runs if r.state == "failed")
    assert all_failed > truth  # older failures exist and must not be counted

    result = await detect.recent_failures(rt, 60)

    assert result["total"] == 420
    # detection/auth (1) + the window in one batch-list request (1) + failed-task batch (1) + tags (2: DAGs
    # whose latest run failed, and those whose latest run ended in the window, read at the same time)
    assert fake.total_requests <= 5
    assert fake.count("POST /dags/~/dagRuns/list") == 1
    assert fake.count("GET /dags/~/dagRuns") == 0
    assert size(result) <= detect.RECENT_FAILURES_BYTES <= 4096
    failing_dags = {
        fake.dags[r.dag].dag_id
        for r in fake.runs
        if r.state == "failed" and r.end and start.timestamp() * 1000 <= r.end <= end.timestamp() * 1000
    }
    assert result["dags_failing"] == len(failing_dags)
    rows = result["by_dag"]
    assert rows, "grouped rows must survive the byte budget"
    for row in rows:
        assert row["dag_id"] in failing_dags and row["env"] == "prod"
        assert row["tier"] in (1, 2, 3, 4) and isinstance(row["critical"], bool)
    keys = [(r["tier"], not r["critical"], -r["failures"]) for r in rows]
    assert keys == sorted(keys), "most urgent DAGs first"
    assert result["newest_runs"] and result["next"]["tool"] == "list_failed_runs"


async def test_recent_failures_pages_by_what_the_server_returns() -> None:
    """No batch list (a gateway blocks it); page_size 100 asked, maximum_page_limit 40 served: the GET
    pages still see every run once."""
    fake = FakeAirflow.generate(
        n_dags=50, n_runs=2000, failed_last_hour=170, seed=5, max_page_limit=40, serve_run_batch=False
    )
    rt = runtime_for({"prod": fake}, page_size=100)
    result = await detect.recent_failures(rt, 60)
    assert result["total"] == 170
    assert fake.count("GET /dags/~/dagRuns") == math.ceil(170 / 40)
    assert fake.count("POST /dags/~/dagRuns/list") == 1  # the 404 that chose the GET pages, asked once
    # Besides the pages: the token, the batch list's 404, the two tag pages and the failed tasks. A failing DAG
    # both tag pages missed is looked up by name; whether one is depends on the minute the estate was generated.
    lookups = fake.count("GET /dags/{dag_id}")
    assert lookups <= detect.TAG_LOOKUPS
    assert fake.total_requests - lookups == math.ceil(170 / 40) + 5
    hour_ago = fake.generated_at - 3600_000
    failing = {fake.dags[r.dag].dag_id for r in fake.runs if r.state == "failed" and r.end and r.end >= hour_ago}
    assert result["dags_failing"] == len(failing)
    fake.reset_counters()
    again = await detect.recent_failures(rt, 60)
    assert again["total"] == 170
    assert fake.count("POST /dags/~/dagRuns/list") == 0, "a missing batch list is remembered"
    await rt.aclose()


async def test_window_read_in_batch_pages_is_exact_and_newest_first(estate: tuple[Runtime, FakeAirflow]) -> None:
    rt, fake = estate
    start, end = window(60)
    client = rt.airflow("prod")
    page = await client.runs_ending_between(start, end, page_limit=100, concurrency=3)
    assert page.total == 420 and len(page.items) == 420
    assert len({(r.dag_id, r.run_id) for r in page.items}) == 420
    assert fake.count("POST /dags/~/dagRuns/list") == math.ceil(420 / 100)
    ends = [r.end_date for r in page.items]
    assert ends == sorted(ends, reverse=True)  # type: ignore[type-var]
    assert page.extra["strategy"] == "batch"

    capped = await client.runs_ending_between(start, end, max_runs=150, page_limit=100, reuse=False)
    assert capped.total == 420 and len(capped.items) == 200  # reading stops at the cap; the total stays exact


async def test_a_later_call_tops_up_the_window_and_stays_exact() -> None:
    fake = FakeAirflow.generate(n_dags=40, n_runs=2000, failed_last_hour=150, seed=8)
    rt = runtime_for({"prod": fake})
    first = await detect.recent_failures(rt, 60)
    assert first["total"] == 150

    # a new failure: the top-up reads only what ended since, plus one count
    dag = fake.dags[0].dag_id
    fake.add_run(dag, "manual__new", "failed", end=datetime.now(UTC))
    await asyncio.sleep(1.0)  # windows are sent to the second: let the next one cover the new end
    fake.reset_counters()
    second = await detect.recent_failures(rt, 60)
    assert second["total"] == 151
    assert fake.count("POST /dags/~/dagRuns/list") == 2
    assert second["newest_runs"][0]["run_id"] == "manual__new"
    client = rt.airflow("prod")
    start, end = window(60)
    merged = await client.runs_ending_between(start, end)
    assert merged.extra["strategy"] == "top-up"
    assert merged.items[0].run_id == "manual__new"
    assert len(merged.items) == merged.total == 151

    # a failed run cleared and now running: the count disagrees with the held runs, so the window is read again
    recent = fake.generated_at - 3000_000
    gone = next(i for i, r in enumerate(fake.runs) if r.state == "failed" and r.end and r.end >= recent)
    fake.set_run_state(gone, "running", None)
    fake.reset_counters()
    third = await client.runs_ending_between(start, datetime.now(UTC))
    assert third.extra["strategy"] == "batch"
    assert third.total == len(third.items) == 150
    assert fake.count("POST /dags/~/dagRuns/list") == 3  # top-up + count, then the full read
    await rt.aclose()


async def test_recent_failures_counts_only_runs_ending_inside_the_window() -> None:
    fake = FakeAirflow("3")
    fake.add_dag(FakeDag("etl", ["tier:1", "business_critical"], "data", 3600, [("a", "Op"), ("b", "Op")]))
    now = datetime.now(UTC)
    fake.add_run("etl", "scheduled__a", "failed", end=now - timedelta(minutes=30), first_failed_task=0)
    fake.add_run("etl", "scheduled__b", "failed", end=now - timedelta(minutes=61))
    fake.add_run("etl", "scheduled__c", "success", end=now - timedelta(minutes=10))
    fake.add_run("etl", "scheduled__d", "running")
    rt = runtime_for({"prod": fake})
    result = await detect.recent_failures(rt, 60)
    assert result["total"] == 1 and result["dags_failing"] == 1
    row = result["by_dag"][0]
    assert row == {
        "env": "prod",
        "dag_id": "etl",
        "failures": 1,
        "tier": 1,
        "critical": True,  # from the tags `tier:1` and `business_critical`, not repeated as tags
        "latest_run": "scheduled__a",
        "latest_end": row["latest_end"],
        "first_failed_task": "a",
    }
    assert "next" not in result
    await rt.aclose()


async def test_a_dag_that_failed_and_ran_again_keeps_its_tier() -> None:
    """Airflow 3 filters /dags by each DAG's LATEST run: a tier-1 DAG that failed and then succeeded is in
    neither tag page when other DAGs started later, so it is looked up by name instead of sinking to tier 3."""
    fake = FakeAirflow("3")
    fake.add_dag(FakeDag("orders", ["tier:1", "business_critical", "team:commerce"], "data", 3600, [("a", "Op")]))
    for name in ("noise_a", "noise_b"):
        fake.add_dag(FakeDag(name, ["tier:4"], "data", 3600, [("a", "Op")]))
    now = datetime.now(UTC)
    fake.add_run("orders", "manual__failed", "failed", end=now - timedelta(minutes=30))
    fake.add_run("orders", "manual__rerun", "success", end=now - timedelta(minutes=20))
    for name in ("noise_a", "noise_b"):
        fake.add_run(name, "manual__ok", "success", end=now - timedelta(minutes=1))
    rt = runtime_for({"prod": fake}, page_size=2)

    result = await detect.recent_failures(rt, 60)

    row = result["by_dag"][0]
    assert (row["dag_id"], row["tier"], row["critical"], row["owner"]) == ("orders", 1, True, "commerce")
    assert fake.count("GET /dags/{dag_id}") == 1  # the one DAG both pages missed
    await rt.aclose()


async def test_no_lookups_when_more_dags_are_missing_than_a_few_could_fix() -> None:
    """An estate larger than the tag pages: looking up 10 of 30 untagged DAGs would not fix the order and
    would slow every detection, so none is looked up (config globs give those tiers)."""
    fake = FakeAirflow("3")
    now = datetime.now(UTC)
    for i in range(30):
        fake.add_dag(FakeDag(f"dag_{i:02}", ["tier:2"], "data", 3600, [("a", "Op")]))
        fake.add_run(f"dag_{i:02}", "manual__failed", "failed", end=now - timedelta(minutes=5))
    rt = runtime_for({"prod": fake}, page_size=2)
    result = await detect.recent_failures(rt, 60)
    assert result["total"] == 30 and fake.count("GET /dags/{dag_id}") == 0
    await rt.aclose()


async def test_recent_failures_keeps_healthy_environment_when_one_is_down() -> None:
    fake = FakeAirflow.generate(n_dags=10, n_runs=300, failed_last_hour=12, seed=2)
    router = HostRouter({"prod.airflow.test": fake.transport()})  # nothing serves staging
    rt = Runtime(settings_for("prod", "staging"), transport=router)
    result = await detect.recent_failures(rt, 60)
    assert result["total"] == 12
    assert result["errors"][0]["environment"] == "staging"
    assert result["errors"][0]["error"] == "backend_unavailable"
    assert "http://staging.airflow.test" in result["errors"][0]["message"]
    await rt.aclose()


@pytest.mark.parametrize("minutes", [0, -5, detect.MAX_WINDOW_MINUTES + 1])
async def test_recent_failures_rejects_bad_window(estate: tuple[Runtime, FakeAirflow], minutes: int) -> None:
    rt, fake = estate
    with pytest.raises(InvalidInput, match=r"between 1 and 10080"):
        await detect.recent_failures(rt, minutes)
    assert fake.total_requests == 0


async def test_unknown_environment_lists_valid_ones(estate: tuple[Runtime, FakeAirflow]) -> None:
    rt, _ = estate
    with pytest.raises(UnknownEnvironment, match=r"unknown environment 'qa'; valid environments: prod"):
        await detect.recent_failures(rt, 60, environment="qa")
    with pytest.raises(UnknownEnvironment, match="valid environments: prod"):
        await detect.failed_runs(rt, environment="qa")


async def test_recent_failures_on_airflow2() -> None:
    fake = FakeAirflow.generate(n_dags=20, n_runs=600, failed_last_hour=30, seed=4, version="2")
    rt = runtime_for({"prod": fake})
    result = await detect.recent_failures(rt, 60)
    assert "errors" not in result
    assert result["total"] == 30
    assert fake.count("POST /dags/~/dagRuns/list") == 1  # Airflow 2.1+ serves the batch list on /api/v1
    await rt.aclose()


async def test_first_failed_task_survives_shared_run_ids() -> None:
    fake = FakeAirflow("3")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for k in range(20):
        fake.add_dag(FakeDag(f"hourly_{k:02d}", ["tier:2"], "data", 3600, [("extract", "Op"), ("load", "Op")]))
    for k in range(20):
        for j in range(k, 20):  # DAG k's newest failed run is hour j == k: newest run ids differ per DAG
            logical = now - timedelta(hours=j + 2)
            end = now - timedelta(hours=j, minutes=k)
            fake.add_run(
                f"hourly_{k:02d}",
                f"scheduled__{logical.isoformat()}",
                "failed",
                start=end - timedelta(minutes=5),
                end=end,
                first_failed_task=1,
            )
    rt = runtime_for({"prod": fake})
    result = await detect.recent_failures(rt, 24 * 60)
    assert result["total"] == 210
    missing = [r["dag_id"] for r in result["by_dag"] if r["first_failed_task"] is None]
    assert missing == []
    await rt.aclose()


# -- failed_runs --------------------------------------------------------------------------------------


async def walk(rt: Runtime, **kwargs: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pages = [await detect.failed_runs(rt, **kwargs)]
    while pages[-1]["cursor"]:
        pages.append(await detect.failed_runs(rt, cursor=pages[-1]["cursor"], limit=kwargs.get("limit", 50)))
        assert len(pages) < 200
    return pages, [run for page in pages for run in page["runs"]]


async def test_failed_runs_cursor_walks_two_environments_exactly_once() -> None:
    prod = FakeAirflow.generate(n_dags=30, n_runs=900, failed_last_hour=40, seed=21)
    staging = FakeAirflow.generate(n_dags=12, n_runs=500, failed_last_hour=25, seed=22)
    rt = runtime_for({"prod": prod, "staging": staging})
    until = datetime.now(UTC).replace(microsecond=0)
    since = until - timedelta(hours=6)
    truth = prod.failed_between(since, until) + staging.failed_between(since, until)
    assert truth > 65

    pages, runs = await walk(rt, since=since.isoformat(), until=until.isoformat(), limit=7)

    keys = [(r["env"], r["dag_id"], r["run_id"]) for r in runs]
    assert len(keys) == len(set(keys)), "no run twice"
    assert len(keys) == truth, "no run skipped"
    assert {p["total"] for p in pages} == {truth}
    assert {r["env"] for r in runs} == {"prod", "staging"}
    ends = [r["end"] for r in runs]
    assert ends == sorted(ends, reverse=True), "newest first across pages and environments"
    assert all(len(p["runs"]) <= 7 for p in pages)
    await rt.aclose()


async def test_failed_runs_first_page_is_one_request_per_environment(
    estate: tuple[Runtime, FakeAirflow],
) -> None:
    rt, fake = estate
    await detect.failed_runs(rt, limit=1)  # detection + auth out of the way
    fake.reset_counters()
    result = await detect.failed_runs(rt, limit=50)
    assert fake.total_requests == 1
    assert result["cursor"]
    # The 8 KB answer budget holds fewer than 50 rows: the rest is marked truncated; the cursor resumes there.
    assert len(result["runs"]) + result.get("truncated", {}).get("runs", 0) == 50


async def test_failed_runs_for_one_dag(estate: tuple[Runtime, FakeAirflow]) -> None:
    rt, fake = estate
    dag_id = fake.dags[0].dag_id
    pages, runs = await walk(rt, dag_id=dag_id, limit=3)
    assert {r["dag_id"] for r in runs} <= {dag_id}
    assert len(runs) == pages[0]["total"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be between 1 and 200; got 0"),
        ({"limit": 201}, "limit must be between 1 and 200; got 201"),
        ({"since": "yesterday"}, "since must be an ISO-8601 time"),
        ({"until": "2026-13-45"}, "until must be an ISO-8601 time"),
        (
            {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            "since must be earlier than until",
        ),
        ({"cursor": "not-a-cursor"}, "cursor is not valid"),
        ({"cursor": "eyJ4IjoxfQ"}, "cursor is not valid"),
    ],
)
async def test_failed_runs_rejects_bad_input(
    estate: tuple[Runtime, FakeAirflow], kwargs: dict[str, Any], message: str
) -> None:
    rt, fake = estate
    with pytest.raises(InvalidInput, match=message):
        await detect.failed_runs(rt, **kwargs)
    assert fake.total_requests == 0


async def test_cursor_from_another_configuration_is_rejected(estate: tuple[Runtime, FakeAirflow]) -> None:
    rt, _ = estate
    now = datetime.now(UTC)
    cursor = detect.encode_cursor(None, now - timedelta(hours=1), now, {"elsewhere": 0})
    with pytest.raises(InvalidInput, match="unknown environment"):
        await detect.failed_runs(rt, cursor=cursor)


async def test_recent_failures_cursor_continues_in_failed_runs(estate: tuple[Runtime, FakeAirflow]) -> None:
    rt, _ = estate
    first = await detect.recent_failures(rt, 60)
    _, runs = await walk(rt, cursor=first["next"]["cursor"], limit=200)
    assert len(runs) == first["total"] == 420


async def test_a_window_larger_than_the_head_is_answered_narrowly_and_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More failures than the head holds: the total stays exact, every critical DAG (by config glob or by
    tag) comes first with its exact count even when all its failures are older than the head, the other
    DAGs shown are counted exactly too, and the number of failing DAGs is given as a lower bound."""
    monkeypatch.setattr(detect, "HEAD_RUNS", 20)
    fake = FakeAirflow("3")
    now = datetime.now(UTC)
    fake.add_dag(FakeDag("pay_ledger", [], "data", 3600, [("a", "Op")]))  # critical by config glob
    fake.add_dag(FakeDag("orders", ["business_critical"], "data", 3600, [("a", "Op")]))  # critical by tag
    fake.add_dag(FakeDag("pay_ledger_report", ["tier:3"], "data", 3600, [("a", "Op")]))  # matches the name part only
    for i in range(3):
        fake.add_run("pay_ledger", f"old__{i}", "failed", end=now - timedelta(minutes=50 + i))
        fake.add_run("orders", f"old__{i}", "failed", end=now - timedelta(minutes=45 + i))
    fake.add_run("pay_ledger_report", "old__0", "failed", end=now - timedelta(minutes=40))
    for i in range(12):
        fake.add_dag(FakeDag(f"noise_{i:02}", [], "data", 3600, [("a", "Op")]))
        for j in range(3 + i % 3):
            fake.add_run(f"noise_{i:02}", f"new__{j}", "failed", end=now - timedelta(minutes=1 + j, seconds=i))
    airflow = {"url": "http://prod.airflow.test", "username_env": "PSRE_T_USER", "password_env": "PSRE_T_PASS"}
    dags = [{"match": "pay_l?dger", "tier": 1}]
    settings = parse_settings({"environments": {"prod": {"airflow": airflow, "dags": dags}}}, "test")
    router = HostRouter({"prod.airflow.test": fake.transport()})
    rt = Runtime(settings, transport=router)

    result = await detect.recent_failures(rt, 60)

    truth = {fake.dags[r.dag].dag_id: 0 for r in fake.runs}
    for r in fake.runs:
        truth[fake.dags[r.dag].dag_id] += 1
    assert result["total"] == sum(truth.values()) == 7 + sum(3 + i % 3 for i in range(12))
    assert "dags_failing" not in result and 12 <= result["dags_failing_at_least"] <= len(truth)
    assert "more than 20 failures" in result["narrowed"]
    rows = result["by_dag"]
    assert [r["dag_id"] for r in rows[:2]] == ["pay_ledger", "orders"]
    assert all(r["failures"] == truth[r["dag_id"]] for r in rows)
    assert "pay_ledger_report" not in [r["dag_id"] for r in rows], "a name match that config does not make critical"
    assert all(r["dag_id"].startswith("noise_") for r in result["newest_runs"])
    assert fake.count("GET /dagTags") == 1
    await rt.aclose()


async def test_a_window_within_the_head_is_read_whole_in_one_request() -> None:
    fake = FakeAirflow.generate(n_dags=30, n_runs=600, failed_last_hour=40, seed=5)
    rt = runtime_for({"prod": fake})
    result = await detect.recent_failures(rt, 60)
    assert result["total"] == 40 and "dags_failing" in result and "narrowed" not in result
    assert fake.count("POST /dags/~/dagRuns/list") == 1 and fake.count("GET /dagTags") == 0
    await rt.aclose()


async def test_too_many_critical_dags_to_count_one_by_one_reads_the_window_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(detect, "HEAD_RUNS", 5)
    monkeypatch.setattr(detect, "MAX_CRITICAL_DAGS", 2)
    fake = FakeAirflow("3")
    now = datetime.now(UTC)
    for i in range(4):
        fake.add_dag(FakeDag(f"core_{i}", ["tier:1"], "data", 3600, [("a", "Op")]))
        for j in range(3):
            fake.add_run(f"core_{i}", f"r__{j}", "failed", end=now - timedelta(minutes=1 + j + i))
    rt = runtime_for({"prod": fake})
    result = await detect.recent_failures(rt, 60)
    assert result["total"] == 12 and result["dags_failing"] == 4 and "narrowed" not in result
    assert [r["failures"] for r in result["by_dag"]] == [3, 3, 3, 3]
    await rt.aclose()
