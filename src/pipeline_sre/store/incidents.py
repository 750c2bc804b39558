"""Incidents: opened on detection, deduplicated by subject + signature, and moved through an explicit
state machine: every transition is checked against the allowed ones under a row lock (compare-and-set),
and recorded with its time and actor, so time to detect, triage, mitigate and resolve is measured.

    detected -> triaged -> diagnosed -> proposed -> awaiting_approval -> executing -> verifying -> resolved
    any open state -> escalated | closed;  resolved | escalated -> closed

Moves go forward only (but for awaiting_approval -> proposed when a new proposal replaces the action
being approved); entering the state an incident is already in only updates its fields."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from pipeline_sre.errors import BackendUnavailable, InvalidInput, NotFound
from pipeline_sre.models import iso
from pipeline_sre.store.db import Database
from pipeline_sre.store.models import OPEN_INCIDENT_STATES, IncidentRow, IncidentRunRow

TERMINAL = ("resolved", "escalated", "closed")
OPEN = OPEN_INCIDENT_STATES
STATES = (*OPEN, *TERMINAL)
FLOW = STATES[:8]  # the forward path, detected .. resolved
WRITING = "writing:"  # postmortem_path while one replica writes it


def transition_refusal(current: str, target: str) -> str | None:
    """Why `current -> target` is not a move of the state machine, or None when it is."""
    if current == "closed":
        return "a closed incident stays closed"
    if current in TERMINAL:
        return None if target == "closed" else f"only closing it is possible now (not {target})"
    if target in ("escalated", "closed"):
        return None
    if (current, target) == ("awaiting_approval", "proposed"):
        return None  # a new proposal replaced the action that was awaiting approval
    if FLOW.index(target) < FLOW.index(current):
        return f"it cannot go back to {target}"
    return None


def new_incident_id() -> str:
    return "inc_" + base64.b32encode(secrets.token_bytes(10)).decode().lower().rstrip("=")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    environment: str
    source: str
    subject: str
    state: str
    severity: str
    category: str
    signature: str
    title: str
    run_id: str | None
    latest_run_id: str | None
    task_id: str | None
    occurrences: int
    action_id: str | None
    runbook_id: str | None
    facts: dict[str, Any]
    steps: dict[str, str]
    verdict: dict[str, Any] | None
    escalation_reason: str | None
    postmortem_path: str | None
    opened_at: datetime
    transitions: list[dict[str, Any]]
    close_reason: str | None

    @classmethod
    def of(cls, row: IncidentRow) -> Incident:
        return cls(
            id=row.id,
            environment=row.environment,
            source=row.source,
            subject=row.subject,
            state=row.state,
            severity=row.severity,
            category=row.category,
            signature=row.signature,
            title=row.title,
            run_id=row.run_id,
            latest_run_id=row.latest_run_id,
            task_id=row.task_id,
            occurrences=row.occurrences,
            action_id=row.action_id,
            runbook_id=row.runbook_id,
            facts=json.loads(row.facts_json or "{}"),
            steps=json.loads(row.steps_json or "{}"),
            verdict=json.loads(row.verdict_json) if row.verdict_json else None,
            escalation_reason=row.escalation_reason,
            postmortem_path=row.postmortem_path,
            opened_at=row.opened_at,
            transitions=json.loads(row.transitions_json or "[]"),
            close_reason=row.close_reason,
        )

    def durations(self) -> dict[str, float]:
        """Seconds from the failure itself (when its run ended; detection when unknown) to each milestone
        reached: the incident's own MTTx figures. Mitigation is the first executed action."""
        start = self.steps.get("failed") or self.steps.get("detected")
        if not start:
            return {}
        t0 = datetime.fromisoformat(start)
        marks = {
            "detect": "detected",
            "triage": "triaged",
            "diagnose": "diagnosed",
            "mitigate": "executing",
            "resolve": "resolved",
        }
        return {
            f"time_to_{name}_s": max(0.0, round((datetime.fromisoformat(self.steps[state]) - t0).total_seconds(), 1))
            for name, state in marks.items()
            if state in self.steps and (name != "detect" or "failed" in self.steps)
        }

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "env": self.environment,
            "subject": self.subject,
            "state": self.state,
            "severity": self.severity,
            "category": self.category,
            "title": self.title,
            "occurrences": self.occurrences,
            "opened": iso(self.opened_at),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "source": self.source,
            "signature": self.signature,
            "run_id": self.run_id,
            "latest_run_id": self.latest_run_id,
            "task_id": self.task_id,
            "action_id": self.action_id,
            "runbook_id": self.runbook_id,
            "facts": self.facts,
            "steps": self.steps,
            "durations": self.durations(),
            "verdict": self.verdict,
            "escalation_reason": self.escalation_reason,
            "close_reason": self.close_reason,
            "transitions": self.transitions,
            "postmortem_path": self.postmortem_path,
        }


@dataclass(frozen=True, slots=True)
class SeenFailure:
    """A failed run as the store captured it when an incident took it: Airflow keeps only a run's latest
    try, so after a clear this is the only record that the run failed, and how."""

    run_id: str
    failed_at: datetime
    signature: str
    category: str
    task_id: str | None
    exception: str | None
    evidence: str | None


class IncidentStore:
    def __init__(
        self,
        db: Database,
        *,
        dedup_window: timedelta,
        clock: Callable[[], datetime] = utcnow,
        owner: str = "local",
        claim_lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.db = db
        self.dedup_window = dedup_window
        self.clock = clock
        self.owner = owner[:128]
        self.claim_lease = claim_lease

    def claim_run(self, environment: str, subject: str, run_id: str) -> bool:
        """True for the one caller that takes this failed run now: the first to see it, or a replica taking
        over a claim whose owner let its lease run out without opening or joining an incident (it died, or
        the store was down). False for everyone else. Releasing a claim is never needed for correctness."""
        now = self.clock()
        try:
            with self.db.session(write=True) as s:
                s.add(
                    IncidentRunRow(
                        environment=environment,
                        subject=subject,
                        run_id=run_id,
                        seen_at=now,
                        claimed_by=self.owner,
                        lease_until=now + self.claim_lease,
                    )
                )
            return True
        except BackendUnavailable as err:  # the store wraps driver errors; a duplicate key means "claimed"
            if not isinstance(err.__cause__, IntegrityError):
                raise
        with self.db.session(write=True) as s:  # compare-and-set: only one replica wins an expired lease
            taken = s.connection().execute(
                update(IncidentRunRow)
                .where(
                    IncidentRunRow.environment == environment,
                    IncidentRunRow.subject == subject,
                    IncidentRunRow.run_id == run_id,
                    IncidentRunRow.incident_id.is_(None),
                    IncidentRunRow.lease_until.is_not(None),
                    IncidentRunRow.lease_until < now,
                )
                .values(claimed_by=self.owner, lease_until=now + self.claim_lease)
            )
            return bool(taken.rowcount)

    def failures_seen(self, environment: str, subject: str, since: datetime) -> list[SeenFailure]:
        """The failed runs of `subject` that incidents took since `since`, oldest first, each with its
        incident's signature; the failure's time is the one captured at detection for the incident's own
        run, else when the run was seen (a joined run's end was not recorded)."""
        with self.db.session(write=False) as s:
            rows = s.execute(
                select(IncidentRunRow.run_id, IncidentRunRow.seen_at, IncidentRow)
                .join(IncidentRow, IncidentRow.id == IncidentRunRow.incident_id)
                .where(
                    IncidentRunRow.environment == environment,
                    IncidentRunRow.subject == subject,
                    IncidentRunRow.seen_at >= since,
                )
                .order_by(IncidentRunRow.seen_at)
            ).all()
        seen = []
        for run_id, seen_at, row in rows:
            facts = json.loads(row.facts_json or "{}")
            failed = json.loads(row.steps_json or "{}").get("failed") if run_id == row.run_id else None
            seen.append(
                SeenFailure(
                    run_id=run_id,
                    failed_at=datetime.fromisoformat(failed) if failed else seen_at,
                    signature=row.signature,
                    category=row.category,
                    task_id=row.task_id,
                    exception=facts.get("exception"),
                    evidence=facts.get("evidence"),
                )
            )
        return seen

    def run_handled(self, environment: str, subject: str, run_id: str) -> bool:
        """Whether a failed run has been taken all the way to an incident (opened or joined)."""
        with self.db.session(write=False) as s:
            linked = s.scalars(
                select(IncidentRunRow.incident_id).where(
                    IncidentRunRow.environment == environment,
                    IncidentRunRow.subject == subject,
                    IncidentRunRow.run_id == run_id,
                )
            ).first()
            return linked is not None

    def finish_run(self, environment: str, subject: str, run_id: str) -> None:
        """The run was handled without an incident (shadow mode, nothing to act on): no lease to take over.
        Only the claim's current owner finishes it (a replica whose lease ran out no longer holds it)."""
        with self.db.session(write=True) as s:
            s.execute(
                update(IncidentRunRow)
                .where(
                    IncidentRunRow.environment == environment,
                    IncidentRunRow.subject == subject,
                    IncidentRunRow.run_id == run_id,
                    IncidentRunRow.incident_id.is_(None),
                    IncidentRunRow.claimed_by == self.owner,
                )
                .values(lease_until=None)
            )

    def release_run(self, environment: str, subject: str, run_id: str) -> None:
        """Undo a claim that led to no incident (the backend failed mid-way), so a later pass retries it.
        Only the caller's own claim: when its lease ran out and another replica took the run over, deleting
        that replica's claim would leave the run it goes on to handle with no record (the fault suite saw a
        run fixed by an incident yet never linked to it)."""
        with self.db.session(write=True) as s:
            s.execute(
                delete(IncidentRunRow).where(
                    IncidentRunRow.environment == environment,
                    IncidentRunRow.subject == subject,
                    IncidentRunRow.run_id == run_id,
                    IncidentRunRow.incident_id.is_(None),
                    IncidentRunRow.claimed_by == self.owner,
                )
            )

    def open_or_join(
        self,
        *,
        environment: str,
        source: str,
        subject: str,
        signature: str,
        category: str,
        severity: str,
        title: str,
        run_id: str | None,
        task_id: str | None,
        facts: dict[str, Any],
        detected_at: datetime | None = None,
        failed_at: datetime | None = None,
        by: str = "system:detect",
    ) -> tuple[Incident, bool]:
        """The open incident for the same subject and signature, or the escalate-only one (no action tried)
        escalated within the dedup window (a human has it: the same failure joins it and pages nobody), or
        a new one. At most one
        incident per key is open (a unique index): when two replicas race to open it, the loser joins.

        `occurrences` counts distinct failed runs: the same run seen again (another surface, a retry)
        joins without counting twice. `failed_at` is when the failure happened (its run's end), the start
        of every duration. Returns (incident, joined)."""
        join = partial(
            self._open_or_join,
            environment=environment,
            source=source,
            subject=subject,
            signature=signature,
            category=category,
            severity=severity,
            title=title,
            run_id=run_id,
            task_id=task_id,
            facts=facts,
            detected_at=detected_at,
            failed_at=failed_at,
            by=by,
        )
        try:
            return join()
        except BackendUnavailable as err:
            if not isinstance(err.__cause__, IntegrityError):
                raise
        return join()  # another replica opened it a moment ago: join that one

    def _open_or_join(
        self,
        *,
        environment: str,
        source: str,
        subject: str,
        signature: str,
        category: str,
        severity: str,
        title: str,
        run_id: str | None,
        task_id: str | None,
        facts: dict[str, Any],
        detected_at: datetime | None,
        failed_at: datetime | None,
        by: str,
    ) -> tuple[Incident, bool]:
        now = self.clock()
        key = f"{environment}|{source}|{subject}|{signature}"
        with self.db.session(write=True) as s:
            row = s.scalars(
                select(IncidentRow)
                .where(IncidentRow.dedup_key == key, IncidentRow.state.in_(OPEN))
                .order_by(IncidentRow.opened_at.desc())
                .limit(1)
                # Locked: two replicas joining at once would both add 1 to the same `occurrences` and lose one.
                .with_for_update()
            ).first()
            if row is None:
                row = s.scalars(
                    select(IncidentRow)
                    .where(IncidentRow.dedup_key == key, IncidentRow.state == "escalated")
                    .where(IncidentRow.action_id.is_(None))  # escalate-only: no fix was tried, a human has it
                    .where(IncidentRow.closed_at >= now - self.dedup_window)
                    .order_by(IncidentRow.closed_at.desc())
                    .limit(1)
                    .with_for_update()
                ).first()
            if row is not None:
                if run_id is None or not self._has_run(s, row, run_id):
                    row.occurrences += 1
                row.latest_run_id = run_id or row.latest_run_id
                row.updated_at = now
                if run_id:
                    self._link_run(s, row, run_id)
                return Incident.of(row), True
            stamp = (detected_at or now).isoformat()
            steps = {"detected": stamp}
            started = detected_at or now
            if failed_at is not None:
                started = min(failed_at, started)
                steps = {"failed": started.isoformat(), **steps}
            row = IncidentRow(
                id=new_incident_id(),
                environment=environment,
                source=source,
                subject=subject,
                dedup_key=key,
                state="detected",
                severity=severity,
                category=category,
                signature=signature,
                title=title[:400],
                run_id=run_id,
                latest_run_id=run_id,
                task_id=task_id,
                occurrences=1,
                facts_json=json.dumps(facts, default=str),
                steps_json=json.dumps(steps),
                transitions_json=json.dumps([{"to": "detected", "at": stamp, "by": by}]),
                opened_at=now,
                updated_at=now,
                failed_at=started,
            )
            s.add(row)
            s.flush()
            if run_id:
                self._link_run(s, row, run_id)
            return Incident.of(row), False

    @staticmethod
    def _has_run(s: Any, row: IncidentRow, run_id: str) -> bool:
        if row.run_id == run_id or row.latest_run_id == run_id:
            return True
        return (
            s.scalars(
                select(IncidentRunRow.id).where(IncidentRunRow.incident_id == row.id, IncidentRunRow.run_id == run_id)
            ).first()
            is not None
        )

    def _link_run(self, s: Any, row: IncidentRow, run_id: str) -> None:
        """Record the run as handled by this incident: its claim is linked, or, for a run that came in
        through a surface that claims nothing (a proposal from MCP or the CLI), a handled claim is written,
        so the autopilot never takes the same failed run again (a second incident, a second rerun)."""
        link = s.scalars(
            select(IncidentRunRow).where(
                IncidentRunRow.environment == row.environment,
                IncidentRunRow.subject == row.subject,
                IncidentRunRow.run_id == run_id,
            )
        ).first()
        if link is None:  # a replica claiming it at this moment makes this insert fail: open_or_join retries
            s.add(
                IncidentRunRow(
                    environment=row.environment,
                    subject=row.subject,
                    run_id=run_id,
                    incident_id=row.id,
                    seen_at=self.clock(),
                    claimed_by=self.owner,
                )
            )
        elif link.incident_id is None:
            link.incident_id = row.id

    def advance(self, incident_id: str, state: str, *, by: str = "system", **fields: Any) -> Incident:
        """Move to `state` if the state machine allows it from the current one, recording when and by whom;
        then set fields. Entering the current state again only sets the fields."""
        return self.move(incident_id, state, by=by, **fields)[0]

    def reach(self, incident_id: str, state: str, *, by: str = "system", **fields: Any) -> tuple[Incident, bool]:
        """`move` forward to `state` unless the incident is already there or past it (a racing process moved it
        first, or it ended): then nothing changes and this is not an error. For moves that several processes
        may make for one event, such as the move after an action ran."""
        return self.move(incident_id, state, by=by, forward_only=True, **fields)

    def move(
        self, incident_id: str, state: str, *, by: str = "system", forward_only: bool = False, **fields: Any
    ) -> tuple[Incident, bool]:
        """`advance`, and whether this call made the move: checked under the row's lock, so when replicas
        race only one of them moves (and only that one notifies, writes, pages)."""
        if state not in STATES:
            raise InvalidInput(f"unknown incident state {state!r}; states: {', '.join(STATES)}")
        now = self.clock()
        with self.db.session(write=True) as s:
            row = self._row(s, incident_id, lock=True)
            if forward_only and (
                row.state in TERMINAL or (state in FLOW and FLOW.index(row.state) >= FLOW.index(state))
            ):
                return Incident.of(row), False
            moved = row.state != state
            if moved:
                refusal = transition_refusal(row.state, state)
                if refusal:
                    raise InvalidInput(f"incident {incident_id} is {row.state}: {refusal}")
                steps = json.loads(row.steps_json or "{}")
                steps.setdefault(state, now.isoformat())
                row.steps_json = json.dumps(steps)
                moves = json.loads(row.transitions_json or "[]")
                moves.append({"from": row.state, "to": state, "at": now.isoformat(), "by": by})
                row.transitions_json = json.dumps(moves)
                row.state = state
                if state in TERMINAL:
                    row.closed_at = now
                if state == "resolved":  # entered once: a resolved or escalated incident can only be closed
                    row.resolved_at = now
                elif state == "escalated":
                    row.escalated_at = now
            row.updated_at = now
            for name, value in fields.items():
                if name in ("facts", "verdict"):
                    value = json.dumps(value, default=str)
                    name += "_json"
                setattr(row, name, value)
            return Incident.of(row), moved

    def claim_postmortem(self, incident_id: str) -> bool:
        """One replica writes an incident's postmortem: True for the caller that takes the job (a job
        abandoned for longer than the claim lease may be taken again)."""
        now = self.clock()
        with self.db.session(write=True) as s:
            taken = s.connection().execute(
                update(IncidentRow)
                .where(IncidentRow.id == incident_id)
                .where(
                    IncidentRow.postmortem_path.is_(None)
                    | (
                        IncidentRow.postmortem_path.like(WRITING + "%")
                        & (IncidentRow.updated_at < now - self.claim_lease)
                    )
                )
                .values(postmortem_path=WRITING + self.owner, updated_at=now)
            )
            return bool(taken.rowcount)

    def mark(self, incident_id: str, **fields: Any) -> Incident:
        """Set fields without a state change (the latest verdict, the postmortem path)."""
        with self.db.session(write=True) as s:
            row = self._row(s, incident_id, lock=True)
            for name, value in fields.items():
                if name in ("facts", "verdict"):
                    value = json.dumps(value, default=str)
                    name += "_json"
                setattr(row, name, value)
            row.updated_at = self.clock()
            return Incident.of(row)

    def get(self, incident_id: str) -> Incident:
        with self.db.session(write=False) as s:
            return Incident.of(self._row(s, incident_id))

    def by_action(self, action_id: str) -> Incident | None:
        with self.db.session(write=False) as s:
            row = s.scalars(select(IncidentRow).where(IncidentRow.action_id == action_id)).first()
            return Incident.of(row) if row else None

    def list(
        self,
        state: str | None = None,
        environment: str | None = None,
        states: tuple[str, ...] | None = None,
        limit: int = 50,
    ) -> list[Incident]:
        if state is not None and state not in STATES:
            raise InvalidInput(f"unknown incident state {state!r}; states: {', '.join(STATES)}")
        query = select(IncidentRow).order_by(IncidentRow.opened_at.desc()).limit(limit)
        if state is not None:
            query = query.where(IncidentRow.state == state)
        if states is not None:
            query = query.where(IncidentRow.state.in_(states))
        if environment is not None:
            query = query.where(IncidentRow.environment == environment)
        with self.db.session(write=False) as s:
            return [Incident.of(r) for r in s.scalars(query)]

    @staticmethod
    def _row(s: Any, incident_id: str, *, lock: bool = False) -> IncidentRow:
        query = select(IncidentRow).where(IncidentRow.id == incident_id)
        if lock:
            query = query.with_for_update()
        row: IncidentRow | None = s.scalars(query).first()
        if row is None:
            raise NotFound(f"no incident {incident_id!r}; list_incidents() shows the known ones")
        return row
