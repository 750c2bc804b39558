"""Incidents and the failed runs each one has absorbed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("dedup_key", sa.String(400), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("run_id", sa.String(255)),
        sa.Column("latest_run_id", sa.String(255)),
        sa.Column("task_id", sa.String(255)),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.String(32)),
        sa.Column("runbook_id", sa.String(128)),
        sa.Column("facts_json", sa.Text(), nullable=False),
        sa.Column("steps_json", sa.Text(), nullable=False),
        sa.Column("verdict_json", sa.Text()),
        sa.Column("escalation_reason", sa.Text()),
        sa.Column("postmortem_path", sa.String(1000)),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("closed_at", _TS),
    )
    op.create_index("ix_incidents_dedup", "incidents", ["dedup_key", "state"])
    op.create_index("ix_incidents_state_env", "incidents", ["state", "environment"])
    op.create_table(
        "incident_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("incident_id", sa.String(32)),
        sa.Column("seen_at", _TS, nullable=False),
        sa.UniqueConstraint("environment", "subject", "run_id", name="uq_incident_runs"),
    )
    op.create_index("ix_incident_runs_incident_id", "incident_runs", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_runs_incident_id", table_name="incident_runs")
    op.drop_table("incident_runs")
    op.drop_index("ix_incidents_state_env", table_name="incidents")
    op.drop_index("ix_incidents_dedup", table_name="incidents")
    op.drop_table("incidents")
