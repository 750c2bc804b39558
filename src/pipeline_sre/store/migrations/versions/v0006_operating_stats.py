"""Operating statistics from the store: when each incident's failure happened, and when it was resolved or
escalated, as columns (the same times its steps record), so MTTR and outcomes are plain range queries;
indexes for the windows the statistics read (incidents opened or resolved, actions executed, shadow plans
in the audit log).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("failed_at", _TS))
        batch.add_column(sa.Column("resolved_at", _TS))
        batch.add_column(sa.Column("escalated_at", _TS))
    _backfill()
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])
    op.create_index("ix_incidents_resolved_at", "incidents", ["resolved_at"])
    op.create_index("ix_actions_executed_at", "actions", ["executed_at"])
    op.create_index("ix_audit_log_event_ts", "audit_log", ["event", "ts"])


def _backfill() -> None:
    """The new columns of existing incidents, from the steps they recorded (state -> first time entered)."""
    conn = op.get_bind()
    naive = conn.dialect.name == "sqlite"  # the store keeps naive UTC on SQLite (store.models.UTCDateTime)
    incidents = sa.table(
        "incidents",
        sa.column("id", sa.String),
        sa.column("steps_json", sa.Text),
        sa.column("opened_at", _TS),
        sa.column("failed_at", _TS),
        sa.column("resolved_at", _TS),
        sa.column("escalated_at", _TS),
    )

    def when(text: str | None) -> datetime | None:
        if not text:
            return None
        at = datetime.fromisoformat(text)
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        return at.replace(tzinfo=None) if naive else at

    rows = conn.execute(sa.select(incidents.c.id, incidents.c.steps_json, incidents.c.opened_at)).all()
    for incident_id, steps_json, opened_at in rows:
        steps = json.loads(steps_json or "{}")
        values = {
            "failed_at": when(steps.get("failed") or steps.get("detected")) or opened_at,
            "resolved_at": when(steps.get("resolved")),
            "escalated_at": when(steps.get("escalated")),
        }
        conn.execute(sa.update(incidents).where(incidents.c.id == incident_id).values(**values))


def downgrade() -> None:
    op.drop_index("ix_audit_log_event_ts", table_name="audit_log")
    op.drop_index("ix_actions_executed_at", table_name="actions")
    op.drop_index("ix_incidents_resolved_at", table_name="incidents")
    op.drop_index("ix_incidents_opened_at", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("resolved_at")
        batch.drop_column("failed_at")
