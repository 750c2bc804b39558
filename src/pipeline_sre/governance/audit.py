"""Append-only audit log, each record hash-chained to the one before.

hash(n) = SHA-256(canonical JSON of {seq, ts, actor, actor_kind, event, action_id, digest, result,
detail (its canonical JSON text), prev_hash}); prev_hash(n) = hash(n-1); the first prev_hash is 64 zeros.
Appends lock the single `audit_head` row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write lock
taken by BEGIN IMMEDIATE), so concurrent writers in several processes never fork seq or prev_hash.

Detail must already be redacted by the caller (never raw log text); every string in it is run through
the `redact` hook as well, and long strings are cut.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import IO, Any, TypeAlias, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.actions import canonical_json, sha256_hex
from pipeline_sre.governance.identity import ActorKind
from pipeline_sre.store.db import Database
from pipeline_sre.store.models import GENESIS_HASH, AuditHeadRow, AuditRow

AuditValue: TypeAlias = str | int | float | bool | Sequence["AuditValue"] | Mapping[str, "AuditValue"] | None
Redactor = Callable[[str], str]
MAX_STRING = 2000
_AUDIT = cast(Table, AuditRow.__table__)
_HEAD = cast(Table, AuditHeadRow.__table__)
# Built once: appends are hot, and statement construction dominates a single-record append.
_LOCK_HEAD_SQLITE = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)  # BEGIN IMMEDIATE holds the lock
_LOCK_HEAD = _LOCK_HEAD_SQLITE.with_for_update()
_INSERT = insert(_AUDIT)
_SET_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))


def identity(value: str) -> str:
    return value


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    event: str
    actor: str
    actor_kind: ActorKind = "system"
    result: str = "ok"
    action_id: str | None = None
    digest: str | None = None
    detail: Mapping[str, AuditValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    ts: str
    actor: str
    actor_kind: str
    event: str
    action_id: str | None
    digest: str | None
    result: str
    detail_json: str
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "event": self.event,
            "action_id": self.action_id,
            "digest": self.digest,
            "result": self.result,
            "detail": self.detail_json,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        return sha256_hex(canonical_json(self.hashed_fields()))

    def row(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "event": self.event,
            "action_id": self.action_id,
            "digest": self.digest,
            "result": self.result,
            "detail_json": self.detail_json,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    def to_dict(self) -> dict[str, Any]:
        out = self.hashed_fields()
        out["detail"] = json.loads(self.detail_json)
        out["hash"] = self.hash
        return out


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}

    @classmethod
    def parse(cls, raw: Any) -> Checkpoint:
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("seq"), int)
            or not isinstance(raw.get("hash"), str)
            or len(raw["hash"]) != 64
        ):
            raise InvalidInput('a checkpoint is a JSON object {"seq": <int>, "hash": "<64 hex chars>"}')
        return cls(seq=raw["seq"], hash=raw["hash"])


@dataclass(slots=True)
class VerifyReport:
    ok: bool = True
    records: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    head: Checkpoint | None = None
    checkpoint: Checkpoint | None = None
    anchors: int = 0
    last_anchor: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None

    def fail(self, seq: int | None, problem: str) -> None:
        self.ok = False
        if self.first_bad_seq is None and seq is not None:
            self.first_bad_seq = seq
        if len(self.problems) < 50:
            self.problems.append(problem)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "head": self.head.to_dict() if self.head else None,
            "checkpoint": self.checkpoint.to_dict() if self.checkpoint else None,
            "anchors": self.anchors,
            "last_anchor": self.last_anchor,
            "first_bad_seq": self.first_bad_seq,
            "problems": self.problems,
        }


def _clean(value: Any, redact: Redactor, depth: int = 0) -> Any:
    if depth > 8:
        return "(nested too deep)"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, str):
        out = redact(value)
        return out if len(out) <= MAX_STRING else out[:MAX_STRING] + f"...(cut, {len(out)} chars)"
    if isinstance(value, Mapping):
        return {redact(str(k)): _clean(v, redact, depth + 1) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_clean(v, redact, depth + 1) for v in value]
    raise InvalidInput(f"audit detail values must be JSON scalars, lists or mappings, not {type(value).__name__}")


class AuditLog:
    def __init__(self, db: Database, redact: Redactor = identity, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.redact = redact
        self.clock = clock

    # -- appending ----------------------------------------------------------------------------------

    def append(self, event: AuditEvent, *, session: Session | None = None) -> AuditRecord:
        return self.append_many([event], session=session)[0]

    def append_many(self, events: Sequence[AuditEvent], *, session: Session | None = None) -> list[AuditRecord]:
        """Append in order; in the caller's transaction if given (it commits with the caller's change)."""
        if not events:
            return []
        if session is None:
            with self.db.connect(write=True) as conn:
                return self._append(conn, events)
        return self._append(session.connection(), events)

    def _append(self, conn: Connection, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        sqlite = conn.dialect.name == "sqlite"
        seq, prev = conn.execute(_LOCK_HEAD_SQLITE if sqlite else _LOCK_HEAD).one()
        records: list[AuditRecord] = []
        rows: list[dict[str, Any]] = []
        for ev in events:
            seq += 1
            ts = self.clock().astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
            detail = canonical_json(_clean(dict(ev.detail), self.redact))
            draft = AuditRecord(
                seq=seq,
                ts=ts,
                actor=self.redact(ev.actor)[:255],
                actor_kind=ev.actor_kind,
                event=ev.event,
                action_id=ev.action_id,
                digest=ev.digest,
                result=self.redact(ev.result)[:64],
                detail_json=detail,
                prev_hash=prev,
                hash="",
            )
            digest = draft.compute_hash()
            rec = replace(draft, hash=digest)
            records.append(rec)
            rows.append(rec.row())
            prev = digest
        conn.execute(_INSERT, rows)
        conn.execute(_SET_HEAD, {"new_seq": seq, "new_hash": prev})
        return records

    def tool_call(
        self,
        tool: str,
        actor: str,
        *,
        actor_kind: ActorKind = "mcp",
        arguments: Mapping[str, AuditValue] | None = None,
        result: str = "ok",
        action_id: str | None = None,
    ) -> AuditRecord:
        """A call of a tool that reads logs or writes; `arguments` must already be redacted."""
        return self.append(
            AuditEvent(
                event="tool.call",
                actor=actor,
                actor_kind=actor_kind,
                result=result,
                action_id=action_id,
                detail={"tool": tool, "arguments": dict(arguments or {})},
            )
        )

    # -- reading ------------------------------------------------------------------------------------

    def head(self) -> Checkpoint:
        with self.db.connect(write=False) as conn:
            seq, digest = conn.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).one()
        return Checkpoint(seq=int(seq), hash=str(digest))

    def records(
        self, after_seq: int = 0, limit: int | None = None, action_id: str | None = None
    ) -> Iterator[AuditRecord]:
        stmt = select(*_COLUMNS).where(_AUDIT.c.seq > after_seq).order_by(_AUDIT.c.seq)
        if action_id:
            stmt = stmt.where(_AUDIT.c.action_id == action_id)
        if limit:
            stmt = stmt.limit(limit)
        with self.db.connect(write=False) as conn:
            result = conn.execution_options(yield_per=5000).execute(stmt)
            for row in result:
                yield AuditRecord(*row)

    def export_jsonl(self, out: IO[str]) -> int:
        n = 0
        for rec in self.records():
            out.write(canonical_json(rec.to_dict()) + "\n")
            n += 1
        return n

    def verify(self, checkpoint: Checkpoint | None = None, anchors: Sequence[Checkpoint] = ()) -> VerifyReport:
        """Walk the whole chain; report edits, deletions, reordering, insertions and a cut tail. Each
        checkpoint (a given one, and the anchors kept outside the store) must still be in the chain."""
        report = VerifyReport(checkpoint=checkpoint, anchors=len(anchors))
        expected_seq = 1
        prev = GENESIS_HASH
        pinned = {c.seq: c.hash for c in ([*anchors, checkpoint] if checkpoint else anchors) if c.seq > 0}
        seen: set[int] = set()
        with self.db.connect(write=False) as conn:
            head_row = conn.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).one_or_none()
            report.head = Checkpoint(int(head_row[0]), str(head_row[1])) if head_row else None
            result = conn.execution_options(yield_per=5000).execute(select(*_COLUMNS).order_by(_AUDIT.c.seq))
            for row in result:
                rec = AuditRecord(*row)
                report.records += 1
                if rec.seq != expected_seq:
                    if rec.seq > expected_seq:
                        report.fail(expected_seq, f"records {expected_seq}..{rec.seq - 1} are missing (deleted)")
                    else:
                        report.fail(rec.seq, f"record {rec.seq} appears out of order (inserted or reordered)")
                if rec.prev_hash != prev:
                    report.fail(
                        rec.seq,
                        f"record {rec.seq}: prev_hash does not match the record before it "
                        "(a record was deleted, inserted or reordered)",
                    )
                if rec.compute_hash() != rec.hash:
                    report.fail(rec.seq, f"record {rec.seq}: content does not match its hash (edited)")
                if rec.seq in pinned:
                    seen.add(rec.seq)
                    if rec.hash != pinned[rec.seq]:
                        report.fail(rec.seq, f"record {rec.seq}: hash differs from the checkpoint (history rewritten)")
                prev = rec.hash
                expected_seq = rec.seq + 1
                report.last_seq, report.last_hash = rec.seq, rec.hash
        head = report.head
        if head is None:
            report.fail(None, "the audit head row is missing")
        elif (head.seq, head.hash) != (report.last_seq, report.last_hash):
            if head.seq > report.last_seq:
                report.fail(
                    report.last_seq + 1,
                    f"the log ends at record {report.last_seq} but the head says {head.seq} (tail cut)",
                )
            elif head.seq < report.last_seq:
                report.fail(head.seq + 1, f"records after the head ({head.seq}) were added outside the log (inserted)")
            else:
                report.fail(head.seq, f"record {head.seq}: hash differs from the head row")
        for seq in sorted(set(pinned) - seen):
            if seq > report.last_seq:
                report.fail(
                    report.last_seq + 1,
                    f"the log ends at record {report.last_seq} but a checkpoint is at {seq} (tail cut or wiped)",
                )
                break
            report.fail(seq, f"record {seq} of a checkpoint is missing")
        return report


_COLUMNS = (
    _AUDIT.c.seq,
    _AUDIT.c.ts,
    _AUDIT.c.actor,
    _AUDIT.c.actor_kind,
    _AUDIT.c.event,
    _AUDIT.c.action_id,
    _AUDIT.c.digest,
    _AUDIT.c.result,
    _AUDIT.c.detail_json,
    _AUDIT.c.prev_hash,
    _AUDIT.c.hash,
)
