"""Approval console: local users, sessions, and the Slack request bookkeeping.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text()),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_console_sessions_user_name", "console_sessions", ["user_name"])
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "slack_seen_requests",
        sa.Column("signature", sa.String(80), primary_key=True),
        sa.Column("seen_at", _TS, nullable=False),
    )
    op.create_index("ix_slack_seen_requests_seen_at", "slack_seen_requests", ["seen_at"])
    op.create_table(
        "slack_messages",
        sa.Column("action_id", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("posted_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_messages")
    op.drop_index("ix_slack_seen_requests_seen_at", table_name="slack_seen_requests")
    op.drop_table("slack_seen_requests")
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions")
    op.drop_index("ix_console_sessions_user_name", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
