"""Incidents: every state change with its time and actor, the reason an incident was closed by hand, at
most one open incident per dedup key (a partial unique index, on SQLite and PostgreSQL alike), and claims
on failed runs with an owner and a lease (a replica that dies mid-claim loses nothing), and a heartbeat per
replica.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


OPEN_STATES = ("detected", "triaged", "diagnosed", "proposed", "awaiting_approval", "executing", "verifying")
_OPEN_SQL = "state IN (" + ", ".join(f"'{s}'" for s in OPEN_STATES) + ")"


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("transitions_json", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("close_reason", sa.Text()))
    # Earlier races could leave two open incidents for one key: keep the newest open, close the others.
    op.execute(
        "UPDATE incidents SET state = 'closed', close_reason = 'duplicate open incident closed by migration 0005' "
        f"WHERE {_OPEN_SQL} AND EXISTS (SELECT 1 FROM incidents newer WHERE newer.dedup_key = incidents.dedup_key "
        f"AND newer.{_OPEN_SQL} AND (newer.opened_at > incidents.opened_at "
        "OR (newer.opened_at = incidents.opened_at AND newer.id > incidents.id)))"
    )
    op.create_index(
        "uq_incidents_open_key",
        "incidents",
        ["dedup_key"],
        unique=True,
        sqlite_where=sa.text(_OPEN_SQL),
        postgresql_where=sa.text(_OPEN_SQL),
    )
    with op.batch_alter_table("incident_runs") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128)))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("mac", sa.String(64)))
    op.create_table(
        "replica_heartbeats",
        sa.Column("instance_id", sa.String(128), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("replica_heartbeats")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("mac")
    with op.batch_alter_table("incident_runs") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
    op.drop_index("uq_incidents_open_key", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("close_reason")
        batch.drop_column("transitions_json")
