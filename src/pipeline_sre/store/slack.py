"""Slack's side of the store: request signatures already handled (replay guard) and the approval
messages posted, so every replica posts each request once and updates it once decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from pipeline_sre.errors import BackendUnavailable
from pipeline_sre.store.db import Database
from pipeline_sre.store.models import SlackMessageRow, SlackSeenRow

SEEN_KEEP = timedelta(minutes=10)  # Slack's signatures are refused after 5 minutes anyway
POST_LEASE = timedelta(minutes=2)  # a post takes a second; a claim this old belongs to a replica that died


def remember(db: Database, signature: str, now: datetime) -> bool:
    """Record a handled signature; False when it was handled before (a replay)."""
    try:
        with db.session(write=True) as s:
            s.execute(delete(SlackSeenRow).where(SlackSeenRow.seen_at < now - SEEN_KEEP))
            if s.get(SlackSeenRow, signature[:80]) is not None:
                return False
            s.add(SlackSeenRow(signature=signature[:80], seen_at=now))
    except BackendUnavailable as err:  # another replica stored the same signature at the same moment
        if isinstance(err.__cause__, IntegrityError):
            return False
        raise
    return True


@dataclass(frozen=True, slots=True)
class PostedMessage:
    action_id: str
    channel: str
    ts: str


class SlackMessages:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open(self) -> dict[str, PostedMessage]:
        """Messages of approval requests not yet final (posted, or being posted when `ts` is empty)."""
        with self.db.session(write=False) as s:
            rows = s.scalars(select(SlackMessageRow).where(SlackMessageRow.final.is_(False)))
            return {r.action_id: PostedMessage(r.action_id, r.channel, r.ts) for r in rows}

    def claim(self, action_id: str, channel: str) -> bool:
        """Insert the message row before posting; False when another replica already has it. A claim whose
        replica never stored the posted message (it died mid-post) lapses after POST_LEASE: then another
        replica takes it over and posts."""
        now = datetime.now(UTC)
        row = SlackMessageRow(action_id=action_id, channel=channel[:64], ts="", final=False, posted_at=now)
        try:
            with self.db.session(write=True) as s:
                s.add(row)
            return True
        except BackendUnavailable as err:  # the store wraps driver errors; a duplicate key means "taken"
            if not isinstance(err.__cause__, IntegrityError):
                raise
        with self.db.session(write=True) as s:
            taken = s.connection().execute(
                update(SlackMessageRow)
                .where(
                    SlackMessageRow.action_id == action_id,
                    SlackMessageRow.ts == "",
                    SlackMessageRow.posted_at < now - POST_LEASE,
                )
                .values(posted_at=now, channel=channel[:64])
            )
            return bool(taken.rowcount)

    def unclaim(self, action_id: str) -> None:
        with self.db.session(write=True) as s:
            row = s.get(SlackMessageRow, action_id)
            if row is not None and not row.ts:
                s.delete(row)

    def store(self, action_id: str, channel: str, ts: str) -> None:
        with self.db.session(write=True) as s:
            row = s.get(SlackMessageRow, action_id)
            if row is not None:
                row.channel, row.ts, row.posted_at = channel[:64], ts[:32], datetime.now(UTC)

    def finalise(self, action_id: str) -> None:
        with self.db.session(write=True) as s:
            row = s.get(SlackMessageRow, action_id)
            if row is not None:
                row.final = True
