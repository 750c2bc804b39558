"""Incidents: every state change with its time and actor, and the reason an incident was closed by hand.

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


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("transitions_json", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("close_reason", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("close_reason")
        batch.drop_column("transitions_json")
