"""security: webhook filters, payload option and circuit breaker; external-task locks bound to a user; signed
audit heads

Revision ID: 0009
Revises: 0004
Create Date: 2026-11-30 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mso_flow.store.models

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.add_column(sa.Column("process_keys", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("units", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("include_variables", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("paused_until", mso_flow.store.models.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("external_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_by", sa.String(length=100), nullable=True))
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_signature", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_column("audit_signature")
    with op.batch_alter_table("external_task", schema=None) as batch_op:
        batch_op.drop_column("locked_by")
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        for column in ("paused_until", "consecutive_failures", "include_variables", "units", "process_keys"):
            batch_op.drop_column(column)
