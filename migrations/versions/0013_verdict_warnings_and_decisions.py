"""definition versions keep the verdict's warnings and the files they were parsed with (called processes,
decisions); DMN decisions are versioned with their deployments

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mso_flow.store.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warnings", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("resources", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.create_table(
        "decision_definition",
        sa.Column("id", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("dmn_xml", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("deployed_at", mso_flow.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deployed_by", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployment.id"], name=op.f("fk_decision_definition_deployment_id_deployment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_definition")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_decision_definition_key_version")),
    )
    with op.batch_alter_table("decision_definition", schema=None) as batch_op:
        batch_op.create_index("ix_decision_definition_key", ["key"], unique=False)
        batch_op.create_index("ix_decision_definition_deployment_id", ["deployment_id"], unique=False)


def downgrade() -> None:
    op.drop_table("decision_definition")
    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.drop_column("resources")
        batch_op.drop_column("warnings")
