"""Queries on actions and approvals. Every state change is compare-and-set: UPDATE ... WHERE state = expected.

Functions take the caller's `Session`, so a transition and its audit record commit in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipeline_sre.store.models import ActionRow, ApprovalRow


def get_action(session: Session, action_id: str, *, lock: bool = False) -> ActionRow | None:
    stmt = select(ActionRow).where(ActionRow.id == action_id)
    if lock and session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def insert_action(session: Session, row: ActionRow) -> None:
    session.add(row)
    session.flush()


def transition(session: Session, action_id: str, expected: str | Sequence[str], new_state: str, **values: Any) -> bool:
    """Move `action_id` to `new_state` only if it is still in `expected`; True when this caller won."""
    states = [expected] if isinstance(expected, str) else list(expected)
    stmt = (
        update(ActionRow)
        .where(ActionRow.id == action_id, ActionRow.state.in_(states))
        .values(state=new_state, **values)
        .execution_options(synchronize_session=False)
    )
    result = session.connection().execute(stmt)
    return result.rowcount == 1


def renew_lease(session: Session, action_id: str, owner: str, now: datetime, until: datetime) -> bool:
    """The executor still at work extends its lease (only while it is still the owner of an executing action)."""
    stmt = (
        update(ActionRow)
        .where(ActionRow.id == action_id, ActionRow.state == "executing", ActionRow.lease_owner == owner)
        .values(lease_expires_at=until, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.connection().execute(stmt).rowcount == 1


def claim_stale(session: Session, action_id: str, owner: str, now: datetime, until: datetime) -> bool:
    """Take over an `executing` action whose lease ran out (its executor crashed or was killed)."""
    stmt = (
        update(ActionRow)
        .where(
            ActionRow.id == action_id,
            ActionRow.state == "executing",
            or_(ActionRow.lease_expires_at.is_(None), ActionRow.lease_expires_at <= now),
        )
        .values(lease_owner=owner, lease_expires_at=until, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.connection().execute(stmt).rowcount == 1


def list_actions(
    session: Session, states: Sequence[str] | None = None, environment: str | None = None, limit: int = 200
) -> list[ActionRow]:
    stmt = select(ActionRow).order_by(ActionRow.created_at.desc()).limit(limit)
    if states:
        stmt = stmt.where(ActionRow.state.in_(list(states)))
    if environment:
        stmt = stmt.where(ActionRow.environment == environment)
    return list(session.execute(stmt).scalars())


def executing_ids(session: Session) -> list[str]:
    return list(session.execute(select(ActionRow.id).where(ActionRow.state == "executing")).scalars())


EXECUTED_STATES = ("executing", "succeeded", "failed")
PENDING_STATES = ("proposed", "awaiting_approval", "approved")


def count_executions(session: Session, environment: str, resource: str, since: datetime) -> int:
    """Actions on `resource` that started (live) since `since`."""
    stmt = select(func.count()).where(
        ActionRow.environment == environment,
        ActionRow.resource == resource,
        ActionRow.state.in_(EXECUTED_STATES),
        ActionRow.executed_at >= since,
    )
    return int(session.execute(stmt).scalar_one())


def count_automated_reruns(
    session: Session, incident_id: str, states: Sequence[str], exclude_id: str | None = None
) -> int:
    stmt = select(func.count()).where(
        ActionRow.incident_id == incident_id,
        ActionRow.automated.is_(True),
        ActionRow.is_rerun.is_(True),
        ActionRow.state.in_(list(states)),
    )
    if exclude_id:
        stmt = stmt.where(ActionRow.id != exclude_id)
    return int(session.execute(stmt).scalar_one())


def add_approval(session: Session, row: ApprovalRow) -> bool:
    """False when this approver already decided on this action (unique per action and approver)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def approvals_for(session: Session, action_id: str) -> list[ApprovalRow]:
    stmt = select(ApprovalRow).where(ApprovalRow.action_id == action_id).order_by(ApprovalRow.id)
    return list(session.execute(stmt).scalars())
