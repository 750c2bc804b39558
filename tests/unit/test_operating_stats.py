"""Operating statistics from the store: known incidents and actions give known figures (MTTR, success rate,
categories, handling, approval latency, shadow plans), a restart changes nothing, and incidents handled
through the app's operations (as MCP and the CLI handle them) count as much as the autopilot's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from pipeline_sre.app import operations
from pipeline_sre.app.operating_stats import operating_stats
from pipeline_sre.errors import InvalidInput, UnknownEnvironment
from pipeline_sre.governance.audit import AuditEvent, AuditLog, AuditValue
from pipeline_sre.governance.identity import Principal
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.store.db import Database
from pipeline_sre.store.incidents import Incident, IncidentStore
from pipeline_sre.store.models import ActionRow, ApprovalRow
from pipeline_sre.store.operating_stats import OperatingStatsQuery, percentile
from tests.fakes.airflow_api import FakeAirflow, FakeDag
from tests.unit.app.test_write_retries import runtime
from tests.unit.test_autopilot_webhooks import DAG, NETWORK_ERROR, TASKS, add_failed_run

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Seeded:
    db: Database
    clock: Clock
    incidents: IncidentStore


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    db = Database(f"sqlite:///{tmp_path / 'stats.db'}")
    db.upgrade()
    clock = Clock(NOW - timedelta(days=3))
    return Seeded(db, clock, IncidentStore(db, dedup_window=timedelta(hours=1), clock=clock))


def open_incident(s: Seeded, subject: str, category: str, *, source: str = "airflow", env: str = "prod") -> Incident:
    failed = s.clock.now - 10 * MINUTE  # the run ended ten minutes before detection
    incident, _ = s.incidents.open_or_join(
        environment=env,
        source=source,
        subject=subject,
        signature="sig",
        category=category,
        severity="SEV2",
        title=f"{subject}: {category}",
        run_id=f"{subject}-run",
        task_id="load",
        facts={},
        failed_at=failed,
    )
    return incident


def add_action(s: Seeded, action_id: str, incident: Incident | None, kind: str, *, waited: timedelta | None) -> None:
    """An executed action as the governed path leaves it; `waited` is how long a human took to approve."""
    now = s.clock.now
    asked = now - (waited or timedelta(0))
    with s.db.session(write=True) as session:
        session.add(
            ActionRow(
                id=action_id,
                kind=kind,
                environment=incident.environment if incident else "prod",
                resource="airflow:dag/x",
                params_json="{}",
                call_json="{}",
                digest="d" * 64,
                state="succeeded",
                requested_by="mcp:bob",
                incident_id=incident.id if incident else None,
                created_at=asked,
                updated_at=now,
                approval_requested_at=asked,
                approved_at=now,
                executed_at=now,
            )
        )
        if waited is not None:
            session.flush()
            session.add(
                ApprovalRow(action_id=action_id, approver="alice", decision="approve", digest="d" * 64, created_at=now)
            )


def seed(s: Seeded) -> None:
    """Day -3: three incidents resolved after 30, 60 and 120 minutes (from the failure) by a clear each, one
    escalated after a failed trigger, one closed by hand, one planned and left open, one with nothing."""
    durations = (30, 60, 120)
    for n, minutes in enumerate(durations):
        incident = open_incident(s, f"etl_{n}", "transient_network")
        add_action(s, f"act_clear{n}", incident, "clear_failed_tasks", waited=timedelta(minutes=2 * (n + 1)))
        s.clock.now += (minutes - 10) * MINUTE
        s.incidents.advance(incident.id, "resolved", by="system:autopilot")
        s.clock.now -= (minutes - 10) * MINUTE
    bad = open_incident(s, "etl_bad", "code_bug")
    add_action(s, "act_trigger", bad, "trigger_dag", waited=None)  # no human approval needed there
    s.incidents.advance(bad.id, "escalated", by="system:autopilot", escalation_reason="not recovered")
    s.incidents.advance(bad.id, "closed", by="web:alice", close_reason="handed over")
    hand = open_incident(s, "etl_hand", "upstream_missing")
    s.incidents.advance(hand.id, "closed", by="cli:alice", close_reason="false alarm")
    planned = open_incident(s, "etl_planned", "oom")
    s.incidents.advance(planned.id, "proposed", by="mcp:bob", runbook_id="spark_oom")
    open_incident(s, "freshness", "data_freshness", source="metric")
    open_incident(s, "etl_staging", "oom", env="staging")
    add_action(s, "act_orphan", None, "clear_failed_tasks", waited=None)  # proposed outside any incident


def stats(s: Seeded, days: int = 30, env: str | None = "prod") -> dict[str, Any]:
    return OperatingStatsQuery(s.db).compute(NOW - timedelta(days=days), NOW, env).to_dict()


def test_known_incidents_give_known_figures(seeded: Seeded) -> None:
    seed(seeded)
    out = stats(seeded)
    incidents = out["incidents"]
    assert incidents["opened"] == 7
    assert incidents["by_category"] == {
        "transient_network": 3,
        "code_bug": 1,
        "data_freshness": 1,
        "oom": 1,
        "upstream_missing": 1,
    }
    assert incidents["by_source"] == {"airflow": 6, "metric": 1}
    # Escalated then closed is still an escalation; closed by hand without either is "closed".
    assert incidents["by_outcome"] == {"resolved": 3, "escalated": 1, "closed": 1, "open": 2}
    assert incidents["handling"] == {"executed": 4, "plan_only": 1, "no_plan": 2}
    mttr = out["time_to_resolve"]
    assert (mttr["count"], mttr["median_s"], mttr["p90_s"]) == (3, 3600.0, 6480.0)  # 30, 60, 120 min
    assert mttr["daily"] == [{"day": "2026-03-28", "resolved": 3, "median_s": 3600.0}]
    fixes = out["fixes"]
    assert (fixes["executed"], fixes["resolved"], fixes["not_resolved"], fixes["no_incident"]) == (5, 3, 1, 1)
    assert fixes["success_rate"] == 0.75  # 3 resolved of the 4 settled; the orphan has no outcome
    assert fixes["by_kind"]["trigger_dag"]["success_rate"] == 0.0
    assert fixes["by_kind"]["clear_failed_tasks"]["success_rate"] == 1.0
    approval = out["approval_latency"]
    assert (approval["count"], approval["median_s"]) == (3, 240.0)  # 2, 4, 6 minutes; auto-approvals are no wait
    assert out["window"]["days"] == 30 and out["window"]["environment"] == "prod"


def test_the_window_and_the_environment_bound_every_figure(seeded: Seeded) -> None:
    seed(seeded)
    assert stats(seeded, days=2)["incidents"]["opened"] == 0  # everything happened three days ago
    assert stats(seeded, days=2)["fixes"]["success_rate"] is None
    assert stats(seeded, env="staging")["incidents"]["by_category"] == {"oom": 1}
    everywhere = stats(seeded, env=None)
    assert everywhere["incidents"]["opened"] == 8 and everywhere["incidents"]["by_category"]["oom"] == 2


def test_a_pending_fix_is_neither_success_nor_failure(seeded: Seeded) -> None:
    incident = open_incident(seeded, "etl_verifying", "transient_network")
    add_action(seeded, "act_pending", incident, "clear_failed_tasks", waited=None)
    seeded.incidents.advance(incident.id, "verifying", by="mcp:bob")
    fixes = stats(seeded)["fixes"]
    assert (fixes["pending"], fixes["success_rate"]) == (1, None)


def test_shadow_plans_are_counted_from_the_audit_log(seeded: Seeded) -> None:
    audit = AuditLog(seeded.db, clock=lambda: NOW - timedelta(days=1))
    for env, kind in (("prod", "clear_failed_tasks"), ("prod", None), ("staging", "clear_failed_tasks")):
        detail: dict[str, AuditValue] = {"environment": env, "would_propose": kind}
        audit.append(AuditEvent("autopilot.shadow_plan", "system:autopilot", "system", detail=detail))
    assert stats(seeded)["shadow_plans"] == {"clear_failed_tasks": 1, "escalate": 1}
    assert stats(seeded, env=None)["shadow_plans"] == {"clear_failed_tasks": 2, "escalate": 1}


def test_incidents_from_before_the_migration_get_their_times_from_their_steps(seeded: Seeded) -> None:
    """Migration 0006 fills the new columns from the steps each incident recorded."""
    from alembic import command
    from alembic.config import Config

    from pipeline_sre.store.db import MIGRATIONS_DIR
    from pipeline_sre.store.models import IncidentRow

    seed(seeded)
    before = stats(seeded)
    with seeded.db.session(write=True) as s:
        s.execute(update(IncidentRow).values(failed_at=None, resolved_at=None, escalated_at=None))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", seeded.db.url)
    command.downgrade(cfg, "0005")
    command.upgrade(cfg, "head")
    assert stats(seeded) == before


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5


# -- through the app, as every surface calls it -----------------------------------------------------------


@pytest.fixture
def fake() -> FakeAirflow:
    fake = FakeAirflow("3")
    fake.add_dag(FakeDag(DAG, ["tier:2"], "commerce", 3600, TASKS, max_tries=1))
    add_failed_run(fake, "manual__flood", NETWORK_ERROR)
    return fake


@pytest.fixture
async def rt(tmp_path: Path, fake: FakeAirflow, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")
    rt = runtime(tmp_path, fake)
    yield rt
    await rt.aclose()


@pytest.mark.anyio
async def test_incidents_handled_through_mcp_and_the_cli_count_and_survive_a_restart(
    rt: Runtime, tmp_path: Path, fake: FakeAirflow
) -> None:
    bob, alice = Principal("mcp", "bob"), Principal("cli", "alice")
    plan = await operations.propose(rt, bob, DAG, "manual__flood", "prod")
    operations.request_approval(rt, bob, plan["action"]["id"], "transient: rerun once")
    operations.decide(rt, alice, plan["action"]["id"], approve=True, comment="ok")
    await operations.execute(rt, alice, plan["action"]["id"])
    await operations.escalate(rt, bob, plan["incident_id"], "the rerun failed too")
    later = datetime.now(UTC) + MINUTE
    first = operating_stats(rt, 30, "prod", now=later).to_dict()
    assert first["incidents"]["opened"] == 1
    assert first["incidents"]["by_category"] == {"transient_network": 1}
    assert first["incidents"]["by_outcome"]["escalated"] == 1
    assert first["incidents"]["handling"]["executed"] == 1
    assert (first["fixes"]["executed"], first["fixes"]["not_resolved"]) == (1, 1)
    assert first["approval_latency"]["count"] == 1
    await rt.aclose()
    restarted = runtime(tmp_path, fake)  # a new process on the same store
    try:
        assert operating_stats(restarted, 30, "prod", now=later).to_dict() == first
    finally:
        await restarted.aclose()


def test_bad_input_names_what_is_allowed(tmp_path: Path) -> None:
    rt = runtime(tmp_path, FakeAirflow("3"))
    for bad in (0, 366, True):
        with pytest.raises(InvalidInput, match="1 to 365"):
            operating_stats(rt, bad)
    with pytest.raises(UnknownEnvironment, match="valid environments: prod"):
        operating_stats(rt, 30, "nowhere")


def test_the_daily_series_is_by_day_of_resolution(seeded: Seeded) -> None:
    first = open_incident(seeded, "a", "oom")
    seeded.clock.now += timedelta(days=1)
    second = open_incident(seeded, "b", "oom")
    seeded.incidents.advance(first.id, "resolved")
    seeded.incidents.advance(second.id, "resolved")
    daily = stats(seeded)["time_to_resolve"]["daily"]
    assert [(d["day"], d["resolved"]) for d in daily] == [(date(2026, 3, 29).isoformat(), 2)]
    assert json.dumps(daily)  # JSON-able as it is
