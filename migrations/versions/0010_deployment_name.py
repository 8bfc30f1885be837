"""deployments keep the name their client gave them (Camunda's deployment-name)

Revision ID: 0010
Revises: 0004
Create Date: 2026-11-30 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_column("name")
