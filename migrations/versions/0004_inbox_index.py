"""task candidates carry the task's assignee: inboxes read unassigned work of a role from one partial index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_candidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE task_candidate SET assignee = "
        "(SELECT human_task.assignee FROM human_task WHERE human_task.id = task_candidate.task_id)"
    )
    with op.batch_alter_table("task_candidate", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_candidate_unassigned",
            ["role", "due_at", "task_id"],
            unique=False,
            sqlite_where=sa.text("assignee IS NULL"),
            postgresql_where=sa.text("assignee IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("task_candidate", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_task_candidate_unassigned",
            sqlite_where=sa.text("assignee IS NULL"),
            postgresql_where=sa.text("assignee IS NULL"),
        )
        batch_op.drop_column("assignee")
