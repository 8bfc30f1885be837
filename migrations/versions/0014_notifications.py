"""notifications: users' e-mail and its setting, the notification outbox, each person's notifications, their
mails and the schedule of the periodic jobs (due-date scan, daily digest)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column("email_notifications", sa.String(length=16), server_default="immediate", nullable=False)
        )
    op.create_table(
        "notification_event",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("target", sa.String(length=100), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("fanned_out_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_event")),
        sa.UniqueConstraint("key", name=op.f("uq_notification_event_key")),
    )
    with op.batch_alter_table("notification_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_event_pending",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text("fanned_out_at IS NULL"),
            postgresql_where=sa.text("fanned_out_at IS NULL"),
        )
        batch_op.create_index("ix_notification_event_task_id_kind", ["task_id", "kind"], unique=False)
    op.create_table(
        "notification",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("step", sa.Text(), nullable=True),
        sa.Column("process_name", sa.Text(), nullable=True),
        sa.Column("business_key", sa.String(length=200), nullable=True),
        sa.Column("due_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("read_at", WHEN, nullable=True),
        sa.Column("email", sa.String(length=16), nullable=True),
        sa.Column("digest_mail_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["notification_event.id"], name=op.f("fk_notification_event_id_notification_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("event_id", "username", name=op.f("uq_notification_event_id_username")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_username_created_at", ["username", "created_at"], unique=False)
        batch_op.create_index(
            "ix_notification_unread",
            ["username"],
            unique=False,
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )
        batch_op.create_index(
            "ix_notification_digest_pending",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text("email = 'digest' AND digest_mail_id IS NULL"),
            postgresql_where=sa.text("email = 'digest' AND digest_mail_id IS NULL"),
        )
    op.create_table(
        "notification_mail",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("notification_id", sa.String(length=36), nullable=True),
        sa.Column("digest_day", sa.String(length=10), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_mail")),
        sa.UniqueConstraint(
            "event_id", "username", "channel", name=op.f("uq_notification_mail_event_id_username_channel")
        ),
        sa.UniqueConstraint(
            "username", "channel", "digest_day", name=op.f("uq_notification_mail_username_channel_digest_day")
        ),
    )
    with op.batch_alter_table("notification_mail", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_mail_active_next",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("state IN ('pending', 'leased', 'sending')"),
            postgresql_where=sa.text("state IN ('pending', 'leased', 'sending')"),
        )
        batch_op.create_index("ix_notification_mail_created_at", ["created_at"], unique=False)
    op.create_table(
        "notification_schedule",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("ran_at", WHEN, nullable=True),
        sa.Column("day", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notification_schedule")),
    )


def downgrade() -> None:
    op.drop_table("notification_schedule")
    with op.batch_alter_table("notification_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_mail_created_at")
        batch_op.drop_index("ix_notification_mail_active_next")
    op.drop_table("notification_mail")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_digest_pending")
        batch_op.drop_index("ix_notification_unread")
        batch_op.drop_index("ix_notification_username_created_at")
    op.drop_table("notification")
    with op.batch_alter_table("notification_event", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_event_task_id_kind")
        batch_op.drop_index("ix_notification_event_pending")
    op.drop_table("notification_event")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("email_notifications")
        batch_op.drop_column("email")
