"""GitHub pull-request reviews as an approval channel: the pull request each reviewed config change was
opened as (its head commit, its author) and the reviews already judged.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "github_review_pulls",
        sa.Column("action_id", sa.String(32), primary_key=True),
        sa.Column("repo", sa.String(201), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.UniqueConstraint("repo", "number", name="uq_github_review_pulls"),
    )
    op.create_table(
        "github_reviews_seen",
        sa.Column("review_id", sa.BigInteger(), primary_key=True),
        sa.Column("action_id", sa.String(32), nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("seen_at", _TS, nullable=False),
    )
    op.create_index("ix_github_reviews_seen_action_id", "github_reviews_seen", ["action_id"])


def downgrade() -> None:
    op.drop_index("ix_github_reviews_seen_action_id", table_name="github_reviews_seen")
    op.drop_table("github_reviews_seen")
    op.drop_table("github_review_pulls")
