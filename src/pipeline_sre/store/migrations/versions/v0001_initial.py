"""Initial schema: actions, approvals, hash-chained audit log and its head row.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("call_json", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("incident_id", sa.String(128)),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("is_rerun", sa.Boolean(), nullable=False),
        sa.Column("runbook_id", sa.String(128)),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("approval_requested_at", _TS),
        sa.Column("approval_reason", sa.Text()),
        sa.Column("approved_at", _TS),
        sa.Column("executed_at", _TS),
        sa.Column("executed_by", sa.String(255)),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_expires_at", _TS),
        sa.Column("finished_at", _TS),
        sa.Column("result_json", sa.Text()),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_actions_state_env", "actions", ["state", "environment"])
    op.create_index("ix_actions_rate", "actions", ["environment", "resource", "executed_at"])
    op.create_index("ix_actions_incident", "actions", ["incident_id"])
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("action_id", sa.String(32), sa.ForeignKey("actions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("approver", sa.String(255), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("action_id", "approver", name="uq_approvals_action_approver"),
    )
    op.create_index("ix_approvals_action_id", "approvals", ["action_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("action_id", sa.String(32)),
        sa.Column("digest", sa.String(64)),
        sa.Column("result", sa.String(64), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_action_id", "audit_log", ["action_id"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", _SEQ, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_index("ix_audit_log_action_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_approvals_action_id", table_name="approvals")
    op.drop_table("approvals")
    op.drop_index("ix_actions_incident", table_name="actions")
    op.drop_index("ix_actions_rate", table_name="actions")
    op.drop_index("ix_actions_state_env", table_name="actions")
    op.drop_table("actions")
