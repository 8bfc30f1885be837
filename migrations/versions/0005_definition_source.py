"""definition versions know their source: a file of bpmn/ deployed at start-up, or a designer's deployment

Start-up deployment compares a file with the last version deployed from that file (not with the latest
version), so a version deployed through the API is never overridden by an unchanged file.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=8), nullable=False, server_default="api"))
    op.execute(
        "UPDATE process_definition SET source = 'file' "
        "WHERE deployment_id IN (SELECT id FROM deployment WHERE source = 'startup')"
    )
    op.execute("UPDATE deployment SET source = 'file' WHERE source = 'startup'")


def downgrade() -> None:
    op.execute("UPDATE deployment SET source = 'startup' WHERE source = 'file'")
    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.drop_column("source")
