"""GitHub review bookkeeping: the pull request each reviewed config change was opened as, and the reviews
already judged. Functions take the caller's `Session`, so governance commits them with their audit record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipeline_sre.store.models import ActionRow, ReviewPullRow, ReviewSeenRow


@dataclass(frozen=True, slots=True)
class ReviewPull:
    """The pull request an action was opened as for review."""

    action_id: str
    repo: str
    number: int
    head_sha: str
    url: str
    author: str
    opened_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "pull_request": self.number,
            "url": self.url,
            "head_sha": self.head_sha,
            "opened_at": self.opened_at.isoformat(timespec="seconds"),
            "counts": f"an APPROVED review of {self.head_sha[:12]} by a login in github.user_map other than "
            f"{self.author}; CHANGES_REQUESTED by one denies",
        }


def _pull(row: ReviewPullRow) -> ReviewPull:
    return ReviewPull(row.action_id, row.repo, row.number, row.head_sha, row.url, row.author, row.opened_at)


def record_pull(session: Session, pull: ReviewPull) -> tuple[ReviewPull, bool]:
    """Store the pull request of an action once: (what is stored, whether this call stored it). The first
    record stands, so a retry changes nothing."""
    existing = session.get(ReviewPullRow, pull.action_id)
    if existing is not None:
        return _pull(existing), False
    row = ReviewPullRow(
        action_id=pull.action_id,
        repo=pull.repo.casefold(),
        number=pull.number,
        head_sha=pull.head_sha[:64],
        url=pull.url,
        author=pull.author[:64],
        opened_at=pull.opened_at,
    )
    session.add(row)
    session.flush()
    return _pull(row), True


def pull_of(session: Session, action_id: str) -> ReviewPull | None:
    row = session.get(ReviewPullRow, action_id)
    return _pull(row) if row is not None else None


def action_of(session: Session, repo: str, number: int) -> ReviewPull | None:
    stmt = select(ReviewPullRow).where(ReviewPullRow.repo == repo.casefold(), ReviewPullRow.number == number)
    row = session.execute(stmt).scalar_one_or_none()
    return _pull(row) if row is not None else None


def waiting(session: Session, states: Iterable[str], limit: int = 200) -> list[ReviewPull]:
    """Pull requests whose action is still in one of `states` (waiting for its approvals)."""
    stmt = (
        select(ReviewPullRow)
        .join(ActionRow, ActionRow.id == ReviewPullRow.action_id)
        .where(ActionRow.state.in_(list(states)))
        .order_by(ReviewPullRow.opened_at)
        .limit(limit)
    )
    return [_pull(r) for r in session.execute(stmt).scalars()]


def seen(session: Session, review_ids: Iterable[int]) -> set[int]:
    ids = list(review_ids)
    if not ids:
        return set()
    stmt = select(ReviewSeenRow.review_id).where(ReviewSeenRow.review_id.in_(ids))
    return set(session.execute(stmt).scalars())


def mark_seen(session: Session, review_id: int, action_id: str, login: str, outcome: str, now: datetime) -> bool:
    """Record a judged review; False when another replica judged it first."""
    try:
        with session.begin_nested():
            session.add(
                ReviewSeenRow(
                    review_id=review_id, action_id=action_id, login=login[:64], outcome=outcome[:64], seen_at=now
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True
