"""Incident memory: past incidents are looked up by environment and signature, and by environment, subject
and category, newest ended first; these two indexes keep both lookups to an index range scan.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_incidents_memory_signature", "incidents", ["environment", "signature", "closed_at"])
    op.create_index("ix_incidents_memory_subject", "incidents", ["environment", "subject", "category", "closed_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_memory_subject", table_name="incidents")
    op.drop_index("ix_incidents_memory_signature", table_name="incidents")
