"""personal data: wrapped data keys of instances, reads of unmasked personal values, webhook grants

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-30 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

# The log of reads is append-only in the database too (PostgreSQL), like the audit trail.
REJECT_FUNCTION = """
CREATE OR REPLACE FUNCTION personal_data_read_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'personal_data_read is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
REJECT_TRIGGER = """
CREATE TRIGGER personal_data_read_append_only BEFORE UPDATE OR DELETE ON personal_data_read
FOR EACH ROW EXECUTE FUNCTION personal_data_read_reject_change()
"""


def upgrade() -> None:
    op.create_table(
        "data_key",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("master_key_id", sa.String(length=32), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_by", sa.String(length=100), nullable=True),
        sa.Column("erase_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instance.id"], name=op.f("fk_data_key_instance_id_process_instance")
        ),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_data_key")),
    )
    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.create_index("ix_data_key_erased_at", ["erased_at"], unique=False)
    op.create_table(
        "personal_data_read",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instance.id"],
            name=op.f("fk_personal_data_read_instance_id_process_instance"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_read")),
    )
    with op.batch_alter_table("personal_data_read", schema=None) as batch_op:
        batch_op.create_index("ix_personal_data_read_instance_id_id", ["instance_id", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REJECT_FUNCTION)
        op.execute(REJECT_TRIGGER)
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_data", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.drop_column("personal_data")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS personal_data_read_append_only ON personal_data_read")
        op.execute("DROP FUNCTION IF EXISTS personal_data_read_reject_change()")
    with op.batch_alter_table("personal_data_read", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_data_read_instance_id_id")
    op.drop_table("personal_data_read")
    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.drop_index("ix_data_key_erased_at")
    op.drop_table("data_key")
