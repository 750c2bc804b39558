"""Console: failed sign-ins in the store, so every replica counts them against the same limit.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("user_key", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_console_login_failures_key", "console_login_failures", ["client", "user_key", "at"])
    op.create_index("ix_console_login_failures_at", "console_login_failures", ["at"])


def downgrade() -> None:
    op.drop_index("ix_console_login_failures_at", table_name="console_login_failures")
    op.drop_index("ix_console_login_failures_key", table_name="console_login_failures")
    op.drop_table("console_login_failures")
