"""Replica heartbeats: each `watch` replica records that it is alive once a cycle, so the console and
/metrics show which replicas share the store and which went quiet (a dead replica's claims and actions
are taken over by the others once their leases run out)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from pipeline_sre.store.db import Database
from pipeline_sre.store.models import ReplicaHeartbeatRow

FORGET_AFTER = timedelta(days=1)  # heartbeats older than this are removed


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Replica:
    instance_id: str
    role: str
    started_at: datetime
    seen_at: datetime
    cycles: int

    def age_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.seen_at).total_seconds())


class Heartbeats:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    def beat(self, instance_id: str, role: str) -> None:
        now = self.clock()
        with self.db.session(write=True) as s:
            s.execute(delete(ReplicaHeartbeatRow).where(ReplicaHeartbeatRow.seen_at < now - FORGET_AFTER))
            row = s.get(ReplicaHeartbeatRow, instance_id[:128])
            if row is None:
                s.add(
                    ReplicaHeartbeatRow(instance_id=instance_id[:128], role=role, started_at=now, seen_at=now, cycles=1)
                )
            else:
                row.seen_at, row.cycles = now, row.cycles + 1

    def replicas(self) -> list[Replica]:
        with self.db.session(write=False) as s:
            rows = s.scalars(select(ReplicaHeartbeatRow).order_by(ReplicaHeartbeatRow.seen_at.desc()))
            return [Replica(r.instance_id, r.role, r.started_at, r.seen_at, r.cycles) for r in rows]
