"""user administration: active flag, revocable tokens with their creation time, the admin audit chain

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-30 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mso_flow.store.models

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

ADMIN_SEQ_WHERE = sa.text("instance_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("token_created_at", mso_flow.store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column("token_hash", existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE app_user SET token_created_at = created_at")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("instance_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.create_index(
            "uq_audit_event_admin_seq",
            ["seq"],
            unique=True,
            sqlite_where=ADMIN_SEQ_WHERE,
            postgresql_where=ADMIN_SEQ_WHERE,
        )
    op.create_table(
        "audit_chain",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_chain")),
    )


def downgrade() -> None:
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("uq_audit_event_admin_seq", sqlite_where=ADMIN_SEQ_WHERE, postgresql_where=ADMIN_SEQ_WHERE)
        batch_op.alter_column("instance_id", existing_type=sa.String(length=36), nullable=False)
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.alter_column("token_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("token_created_at")
        batch_op.drop_column("active")
