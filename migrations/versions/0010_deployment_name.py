"""deployments keep the name their client gave them (Camunda's deployment-name); failed external tasks keep
the worker's error details

Revision ID: 0010
Revises: 0004
Create Date: 2026-11-30 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=300), nullable=True))
    with op.batch_alter_table("external_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_details", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("external_task", schema=None) as batch_op:
        batch_op.drop_column("error_details")
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_column("name")
