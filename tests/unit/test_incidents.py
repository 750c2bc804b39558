from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline_sre.errors import InvalidInput, NotFound
from pipeline_sre.store.db import Database
from pipeline_sre.store.incidents import IncidentStore


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> tuple[IncidentStore, Clock]:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.upgrade()
    clock = Clock()
    return IncidentStore(db, dedup_window=timedelta(hours=1), clock=clock), clock


def open_one(store: IncidentStore, run_id: str, signature: str = "sig1"):  # type: ignore[no-untyped-def]
    return store.open_or_join(
        environment="prod",
        source="airflow",
        subject="orders",
        signature=signature,
        category="oom",
        severity="SEV2",
        title="orders: oom",
        run_id=run_id,
        task_id="load",
        facts={"tier": 1},
    )


def test_same_dag_and_signature_join_one_incident(store: tuple[IncidentStore, Clock]) -> None:
    s, clock = store
    first, joined = open_one(s, "r1")
    assert not joined and first.state == "detected"
    for i in range(2, 50):
        again, joined = open_one(s, f"r{i}")
        assert joined and again.id == first.id
    assert s.get(first.id).occurrences == 49
    assert s.get(first.id).latest_run_id == "r49"
    other, joined = open_one(s, "r50", signature="sig2")
    assert not joined and other.id != first.id
    clock.now += timedelta(hours=2)  # still open: the same failure joins it, however old it is
    later, joined = open_one(s, "r51")
    assert joined and later.id == first.id
    again, joined = open_one(s, "r51")  # the same run seen again does not count twice
    assert joined and s.get(first.id).occurrences == 50


def test_an_escalated_incident_absorbs_the_same_failure_within_the_window(store: tuple[IncidentStore, Clock]) -> None:
    """Escalate-only failures (code bugs, schema, permissions) page once: the human has it."""
    s, clock = store
    first, _ = open_one(s, "r1")
    s.advance(first.id, "escalated", by="system:autopilot", escalation_reason="code bug")
    again, joined = open_one(s, "r2")
    assert joined and again.id == first.id and s.get(first.id).occurrences == 2
    clock.now += timedelta(hours=2)  # escalated longer ago than the window: a new incident
    later, joined = open_one(s, "r3")
    assert not joined and later.id != first.id
    s.advance(later.id, "escalated", by="system:autopilot", action_id="act_tried", escalation_reason="rerun failed")
    after_a_fix, joined = open_one(s, "r4")  # a fix was tried and failed: a new failure is a new incident
    assert not joined and after_a_fix.id != later.id


def test_one_open_incident_per_key_even_when_inserts_race(store: tuple[IncidentStore, Clock]) -> None:
    """The unique index is the guarantee: a second open incident for a key cannot be stored."""
    from pipeline_sre.errors import BackendUnavailable
    from pipeline_sre.store.models import IncidentRow

    s, clock = store
    first, _ = open_one(s, "r1")
    with pytest.raises(BackendUnavailable), s.db.session(write=True) as session:
        row = session.get(IncidentRow, first.id)
        assert row is not None
        session.add(
            IncidentRow(
                id="inc_duplicate",
                environment="prod",
                source="airflow",
                subject="orders",
                dedup_key=row.dedup_key,
                state="detected",
                severity="SEV2",
                category="oom",
                signature="sig1",
                title="dup",
                occurrences=1,
                opened_at=clock.now,
                updated_at=clock.now,
            )
        )


def test_a_claim_whose_owner_died_is_taken_over_after_its_lease(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'claims.db'}")
    db.upgrade()
    now = [datetime(2026, 12, 3, 8, 0, tzinfo=UTC)]
    a, b = (
        IncidentStore(
            db, dedup_window=timedelta(hours=1), clock=lambda: now[0], owner=name, claim_lease=timedelta(minutes=5)
        )
        for name in ("replica-a", "replica-b")
    )
    assert a.claim_run("prod", "orders", "r1")  # replica a claims, then dies before opening an incident
    assert not b.claim_run("prod", "orders", "r1")
    now[0] += timedelta(minutes=6)
    assert b.claim_run("prod", "orders", "r1")  # the lease ran out: b takes the run over
    assert not a.claim_run("prod", "orders", "r1")
    now[0] += timedelta(minutes=6)
    b.finish_run("prod", "orders", "r1")  # handled without an incident: nothing left to take over
    assert not a.claim_run("prod", "orders", "r1")
    db.dispose()


def test_a_replica_whose_lease_ran_out_cannot_release_or_finish_the_new_owners_claim(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'claims.db'}")
    db.upgrade()
    now = [datetime(2026, 12, 3, 8, 0, tzinfo=UTC)]
    a, b = (
        IncidentStore(
            db, dedup_window=timedelta(hours=1), clock=lambda: now[0], owner=name, claim_lease=timedelta(minutes=5)
        )
        for name in ("replica-a", "replica-b")
    )
    assert a.claim_run("prod", "orders", "r1")
    now[0] += timedelta(minutes=6)  # a is slow (or cut off); its lease runs out and b takes the run over
    assert b.claim_run("prod", "orders", "r1")
    a.release_run("prod", "orders", "r1")  # a's backend call fails late: it must not drop b's claim
    a.finish_run("prod", "orders", "r1")
    assert not a.claim_run("prod", "orders", "r1")  # b still holds it, with its lease
    now[0] += timedelta(minutes=6)
    assert a.claim_run("prod", "orders", "r1")  # and only its own lease running out frees it
    db.dispose()


def test_a_run_taken_to_an_incident_without_a_claim_is_never_claimed_again(
    store: tuple[IncidentStore, Clock],
) -> None:
    """MCP and the CLI propose without claiming the run: opening (or joining) the incident records it as
    handled, so the autopilot, meeting the same failed run later (closed by hand, escalated after a rerun
    that failed again), opens no second incident and proposes no second rerun."""
    s, _ = store
    first, _ = open_one(s, "r1")
    assert open_one(s, "r2")[1]  # joined
    for run_id in ("r1", "r2"):
        assert s.run_handled("prod", "orders", run_id)
        assert not s.claim_run("prod", "orders", run_id)
    s.advance(first.id, "closed", by="mcp:carol", close_reason="false alarm")
    assert not s.claim_run("prod", "orders", "r1")
    assert s.claim_run("prod", "orders", "r3")  # a run no incident has seen is still claimed once
    again, joined_again = open_one(s, "r3")  # the claim is linked to the incident it opens
    assert not joined_again and s.run_handled("prod", "orders", "r3") and again.id != first.id


def test_each_run_is_claimed_once(store: tuple[IncidentStore, Clock]) -> None:
    s, _ = store
    assert s.claim_run("prod", "orders", "r1")
    assert not s.claim_run("prod", "orders", "r1")
    assert s.claim_run("dev", "orders", "r1")


def test_steps_are_timestamped_and_terminal_states_stay(store: tuple[IncidentStore, Clock]) -> None:
    s, clock = store
    inc, _ = open_one(s, "r1")
    for minutes, state in ((1, "triaged"), (2, "diagnosed"), (3, "proposed"), (10, "executing"), (30, "resolved")):
        clock.now = inc.opened_at + timedelta(minutes=minutes)
        s.advance(inc.id, state)
    done = s.get(inc.id)
    assert done.durations() == {
        "time_to_triage_s": 60.0,
        "time_to_diagnose_s": 120.0,
        "time_to_mitigate_s": 600.0,
        "time_to_resolve_s": 1800.0,
    }
    with pytest.raises(InvalidInput, match="only closing"):
        s.advance(inc.id, "executing")
    assert s.advance(inc.id, "closed").state == "closed"
    # a resolved incident no longer absorbs new failures of the same signature
    assert not open_one(s, "r2")[1]


def test_bad_input(store: tuple[IncidentStore, Clock]) -> None:
    s, _ = store
    with pytest.raises(NotFound, match="list_incidents"):
        s.get("inc_nope")
    with pytest.raises(InvalidInput, match="states: detected"):
        s.list(state="broken")


def test_reach_moves_forward_only_and_a_second_mover_is_no_error(store: tuple[IncidentStore, Clock]) -> None:
    # the executor and a process refused as the second executor both move the incident on after the one write
    s, _ = store
    inc, _ = open_one(s, "r1")
    s.advance(inc.id, "awaiting_approval")
    first, moved = s.reach(inc.id, "executing", by="alice", action_id="act_1")
    assert moved and first.state == "executing"
    assert s.reach(inc.id, "verifying", by="alice")[1]
    again, moved = s.reach(inc.id, "executing", by="bob", action_id="act_2")  # the second mover: already past it
    assert not moved and again.state == "verifying" and again.action_id == "act_1"
    assert [m["to"] for m in again.transitions].count("executing") == 1
    with pytest.raises(InvalidInput, match="cannot go back to executing"):
        s.advance(inc.id, "executing")  # a plain move back is still refused
    s.advance(inc.id, "resolved")
    assert not s.reach(inc.id, "verifying")[1]  # an ended incident stays as it is
