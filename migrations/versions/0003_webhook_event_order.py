"""webhook deliveries carry their instance and audit seq, so one instance's events keep their order

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instance_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("event_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_column("event_seq")
        batch_op.drop_column("instance_id")
