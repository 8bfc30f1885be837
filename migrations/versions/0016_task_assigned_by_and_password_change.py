"""a task remembers who assigned it (claimed and assigned read differently); a user may be made to choose a new
password at the next login (set or reset by an admin, or a one-time bootstrap password)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_by", sa.String(length=100), nullable=True))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("password_must_change", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("password_must_change")
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.drop_column("assigned_by")
