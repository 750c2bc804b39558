"""Incident memory in the store: past incidents matched by signature, then by category on the same subject;
never the incident itself or what came after it; bounded by count and age; success per action kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from pipeline_sre.store.db import Database
from pipeline_sre.store.incident_memory import Failure, IncidentMemory
from pipeline_sre.store.incidents import Incident, IncidentStore
from pipeline_sre.store.models import ActionRow, ApprovalRow

DIGEST = "d" * 64
_ids = count(1)


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC) - timedelta(days=30)

    def __call__(self) -> datetime:
        return self.now


class Past:
    """Seeds ended incidents straight into a store, with the actions taken and who approved them."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.incidents = IncidentStore(db, dedup_window=timedelta(hours=1), clock=clock)

    def incident(
        self,
        *,
        signature: str = "sig-net",
        subject: str = "orders",
        category: str = "transient_network",
        actions: tuple[tuple[str, str], ...] = (("clear_failed_tasks", "succeeded"),),
        end: str = "resolved",
        approver: str = "bob",
        conf: dict[str, object] | None = None,
    ) -> Incident:
        """One incident that ran `actions` ((kind, final state), in order) and ended `end`; two hours pass."""
        n = next(_ids)
        inc, _ = self.incidents.open_or_join(
            environment="prod",
            source="airflow",
            subject=subject,
            signature=signature,
            category=category,
            severity="SEV3",
            title=f"{subject}: {category}",
            run_id=f"run{n}",
            task_id="extract",
            facts={},
        )
        action_id = None
        for i, (kind, state) in enumerate(actions):
            self.clock.now += timedelta(minutes=1)
            action_id = f"act_{n}_{i}"
            params: dict[str, object] = {"dag_id": subject, "dag_run_id": f"run{n}"}
            if kind == "trigger_dag":
                params = {"dag_id": subject, "conf": conf or {}, "note": "rerun"}
            self.action(action_id, inc.id, kind, state, params, approver)
        if action_id is not None:
            self.incidents.advance(inc.id, "executing", by="cli:alice", action_id=action_id)
            self.incidents.advance(inc.id, "verifying", by="cli:alice")
        self.clock.now += timedelta(minutes=10)
        reason = {"escalation_reason": "clearing did not help"} if end == "escalated" else {}
        done = self.incidents.advance(inc.id, end, by="system:verify", **reason)
        if end == "resolved":
            self.clock.now += timedelta(minutes=5)
            done = self.incidents.advance(inc.id, "closed", by="cli:alice", close_reason="done")
        self.clock.now += timedelta(hours=2)  # past the dedup window: the next one is a new incident
        return done

    def action(
        self, action_id: str, incident_id: str, kind: str, state: str, params: dict[str, object], approver: str
    ) -> None:
        now = self.clock.now
        with self.db.session(write=True) as s:
            s.add(
                ActionRow(
                    id=action_id,
                    kind=kind,
                    environment="prod",
                    resource=str(params["dag_id"]),
                    params_json=json.dumps(params),
                    call_json="{}",
                    digest=DIGEST,
                    state=state,
                    requested_by="mcp:alice",
                    incident_id=incident_id,
                    plan_json="{}",
                    created_at=now,
                    updated_at=now,
                    executed_at=now if state in ("succeeded", "failed") else None,
                )
            )
            s.flush()
            s.add(
                ApprovalRow(action_id=action_id, approver=approver, decision="approve", digest=DIGEST, created_at=now)
            )


@pytest.fixture
def past(tmp_path: Path) -> Past:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.upgrade()
    return Past(db, Clock())


def memory(past: Past, limit: int = 10) -> IncidentMemory:
    return IncidentMemory(past.db, clock=past.clock, limit=limit)


def failure(**kw: Any) -> Failure:
    fields = {"environment": "prod", "signature": "sig-net", "category": "transient_network", "subject": "orders"}
    return Failure(**{**fields, **kw})


def test_the_same_signature_shows_what_was_done_who_approved_and_that_it_recovered(past: Past) -> None:
    first = past.incident()
    found = memory(past).recall(failure())
    assert [p.incident.id for p in found.incidents] == [first.id]
    seen = found.incidents[0]
    assert seen.matched_by == "signature" and seen.recovered and seen.outcome == "recovered"
    action = seen.actions[0]
    assert (action.kind, action.state, action.outcome, action.approved_by) == (
        "clear_failed_tasks",
        "succeeded",
        "recovered",
        ("bob",),
    )
    assert action.params == {"dag_id": "orders", "dag_run_id": first.run_id}
    assert seen.incident.durations()["time_to_resolve_s"] > 0
    assert [(k.kind, k.tries, k.recovered, k.success_rate) for k in found.by_kind] == [
        ("clear_failed_tasks", 1, 1, 1.0)
    ]


def test_the_same_signature_on_another_subject_matches_and_the_category_fills_up(past: Past) -> None:
    elsewhere = past.incident(subject="billing")  # same failure, another DAG
    same_dag_other_error = past.incident(signature="sig-other", end="escalated", actions=())
    past.incident(signature="sig-other", subject="billing")  # neither the signature nor the subject
    past.incident(signature="sig-oom", category="oom")  # same subject, another category
    found = memory(past).recall(failure())
    assert [(p.incident.id, p.matched_by) for p in found.incidents] == [
        (elsewhere.id, "signature"),
        (same_dag_other_error.id, "category"),
    ]
    escalated = found.incidents[1]
    assert escalated.outcome == "escalated" and not escalated.actions and not escalated.recovered
    assert found.basis == "signature" and [k.kind for k in found.by_kind] == ["clear_failed_tasks"]


def test_without_the_signature_the_category_on_the_subject_is_the_basis(past: Past) -> None:
    other = past.incident(signature="sig-other", actions=(("trigger_dag", "succeeded"),))
    found = memory(past).recall(failure(signature="sig-new"))
    assert [p.incident.id for p in found.incidents] == [other.id] and found.basis == "category"
    assert [(k.kind, k.recovered) for k in found.by_kind] == [("trigger_dag", 1)]


def test_an_incident_never_remembers_itself_open_ones_or_later_ones(past: Past) -> None:
    earlier = past.incident()
    itself = past.incident()
    later = past.incident()
    past.incidents.open_or_join(  # still open: not an outcome yet
        environment="prod",
        source="airflow",
        subject="orders",
        signature="sig-net",
        category="transient_network",
        severity="SEV3",
        title="orders",
        run_id="open-run",
        task_id="extract",
        facts={},
    )
    found = memory(past).recall(failure(exclude=itself.id, before=itself.opened_at))
    assert [p.incident.id for p in found.incidents] == [earlier.id]
    assert {p.incident.id for p in memory(past).recall(failure()).incidents} == {earlier.id, itself.id, later.id}


def test_memory_is_bounded_by_count_and_age(past: Past) -> None:
    old = past.incident()
    past.clock.now += timedelta(days=200)
    recent = [past.incident() for _ in range(4)]
    found = memory(past, limit=3).recall(failure())
    assert [p.incident.id for p in found.incidents] == [i.id for i in reversed(recent)][:3]
    assert old.id not in {p.incident.id for p in memory(past).recall(failure()).incidents}  # 180 days back
    assert found.by_kind[0].tries == 4  # per-kind figures are not cut to the listing's limit


def test_success_rate_per_action_kind_credits_the_action_that_recovered(past: Past) -> None:
    for _ in range(3):  # clearing did not help three times: escalated after it
        past.incident(end="escalated")
    past.incident(actions=(("clear_failed_tasks", "failed"), ("trigger_dag", "succeeded")), conf={"batch": 50})
    found = memory(past).recall(failure())
    rates = [(k.kind, k.tries, k.recovered, k.success_rate) for k in found.by_kind]
    assert rates == [("trigger_dag", 1, 1, 1.0), ("clear_failed_tasks", 4, 0, 0.0)]
    newest = found.incidents[0]
    assert [(a.kind, a.outcome) for a in newest.actions] == [
        ("clear_failed_tasks", "failed"),
        ("trigger_dag", "recovered"),
    ]
    assert newest.actions[1].params["conf"] == {"batch": 50}
    assert [p.outcome for p in found.incidents[1:]] == ["escalated"] * 3
    assert found.incidents[1].actions[0].outcome == "did_not_recover"


def test_only_approvals_of_the_digest_that_ran_count(past: Past) -> None:
    first = past.incident()
    with past.db.session(write=True) as s:
        action_id = str(first.action_id)
        now = past.clock.now
        s.add(ApprovalRow(action_id=action_id, approver="eve", decision="approve", digest="e" * 64, created_at=now))
        s.add(ApprovalRow(action_id=action_id, approver="mallory", decision="deny", digest=DIGEST, created_at=now))
    assert memory(past).recall(failure()).incidents[0].actions[0].approved_by == ("bob",)


def test_a_placeholder_signature_matches_nothing_by_signature(past: Past) -> None:
    past.incident(signature="no-error-found", subject="billing")
    assert memory(past).recall(failure(signature="no-error-found")).incidents == ()


def query_plans(db: Database, run: Callable[[], object], explain: str, setup: str | None = None) -> str:
    """The database's plans for the incident lookups `run` makes (captured as they are sent)."""
    sent: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM incidents" in statement and "ORDER BY incidents.closed_at DESC" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    with db.engine.connect() as conn:
        if setup:
            conn.exec_driver_sql(setup)
        return "\n".join(str(row) for st, params in sent for row in conn.exec_driver_sql(explain + st, params))


def test_the_lookups_are_index_range_scans(past: Past) -> None:
    past.incident()
    plans = query_plans(past.db, lambda: memory(past).recall(failure(signature="sig-new")), "EXPLAIN QUERY PLAN ")
    assert "ix_incidents_memory_signature" in plans and "ix_incidents_memory_subject" in plans
