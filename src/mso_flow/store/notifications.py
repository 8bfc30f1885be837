"""Notifications: the outbox of events to tell people about, each person's notifications (the in-app list), the
mails that carry them, and the schedule rows that let one service process at a time scan or compose digests.

- `notification_event`: one row per event that may concern someone, written in the transaction of the event
  itself (its `key` is unique: an audit event `audit:<instance>:<seq>`, a scanner's notice
  `task_due_soon:<task>` / `task_overdue:<task>`, an instance-less incident `incident:<id>`), fanned out later.
- `notification`: one row per (event, person), unique; `read_at` NULL while unread.
- `notification_mail`: one row per (event, person, channel), unique, or per (person, channel, digest day) for a
  digest; its `state` moves pending → leased → sending → sent (services/notifications/delivery.py). Leases are
  taken under `FOR UPDATE SKIP LOCKED` (SQLite: one writer at a time).
- `notification_schedule`: a row per periodic job (`scan`, `digest`), locked with `FOR UPDATE SKIP LOCKED` while
  the job runs, so that one replica does it; `day` records the last digest's day.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from mso_flow.domain import MailState, TaskState
from mso_flow.store.incidents import Incident
from mso_flow.store.models import Base, HumanTask, ProcessDefinition, ProcessInstance
from mso_flow.store.paging import page

CHANNEL_EMAIL = "email"
ACTIVE_MAIL_STATES = (MailState.PENDING, MailState.LEASED, MailState.SENDING)


class NotificationEvent(Base):
    """An event that may concern people, waiting to be fanned out to them (`fanned_out_at` NULL)."""

    __tablename__ = "notification_event"
    __table_args__ = (
        Index(
            "ix_notification_event_pending",
            "created_at",
            sqlite_where=text("fanned_out_at IS NULL"),
            postgresql_where=text("fanned_out_at IS NULL"),
        ),
        Index("ix_notification_event_task_id_kind", "task_id", "kind"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # NotificationKind
    instance_id: Mapped[str | None] = mapped_column(String(36))
    task_id: Mapped[str | None] = mapped_column(String(36))
    incident_id: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str | None] = mapped_column(String(100))  # who caused it: never told of their own act
    target: Mapped[str | None] = mapped_column(String(100))  # the new holder of an assigned task
    created_at: Mapped[datetime]
    fanned_out_at: Mapped[datetime | None]


class Notification(Base):
    """What one person is told of one event; names of steps and processes, the business key and dates only."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("event_id", "username"),
        Index("ix_notification_username_created_at", "username", "created_at"),
        Index(
            "ix_notification_unread",
            "username",
            sqlite_where=text("read_at IS NULL"),
            postgresql_where=text("read_at IS NULL"),
        ),
        Index(
            "ix_notification_digest_pending",
            "created_at",
            sqlite_where=text("email = 'digest' AND digest_mail_id IS NULL"),
            postgresql_where=text("email = 'digest' AND digest_mail_id IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("notification_event.id"))
    username: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[str | None] = mapped_column(String(36))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(Text)
    process_name: Mapped[str | None] = mapped_column(Text)
    business_key: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    email: Mapped[str | None] = mapped_column(String(16))  # EmailMode when fanned out: immediate | digest | None
    digest_mail_id: Mapped[str | None] = mapped_column(String(36))  # the digest that carried it


class NotificationMail(Base):
    """A mail to send: one notification (`notification_id`) or a person's digest of a day (`digest_day`)."""

    __tablename__ = "notification_mail"
    __table_args__ = (
        UniqueConstraint("event_id", "username", "channel"),
        UniqueConstraint("username", "channel", "digest_day"),
        Index(
            "ix_notification_mail_active_next",
            "next_attempt_at",
            sqlite_where=text("state IN ('pending', 'leased', 'sending')"),
            postgresql_where=text("state IN ('pending', 'leased', 'sending')"),
        ),
        Index("ix_notification_mail_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the Message-ID's local part
    username: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(36))
    notification_id: Mapped[str | None] = mapped_column(String(36))
    digest_day: Mapped[str | None] = mapped_column(String(10))  # YYYY-MM-DD, Asia/Bangkok
    state: Mapped[str] = mapped_column(String(16))  # MailState
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]  # due time while pending; the lease's end while leased or sending
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class NotificationSchedule(Base):
    """A periodic job's row, locked while the job runs (one replica at a time)."""

    __tablename__ = "notification_schedule"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    ran_at: Mapped[datetime | None]
    day: Mapped[str | None] = mapped_column(String(10))  # digest: the last day composed (YYYY-MM-DD)


_EVENTS = cast(Table, NotificationEvent.__table__)
_NOTIFICATIONS = cast(Table, Notification.__table__)
_MAILS = cast(Table, NotificationMail.__table__)
_INSERT_EVENTS = insert(_EVENTS)  # the request path's one statement, built once


# --- the outbox of events ---------------------------------------------------------------------------------


def enqueue(session: Session, rows: list[dict[str, Any]]) -> None:
    """Outbox rows (`key`, `kind`, `instance_id`, `task_id`, `incident_id`, `actor`, `target`, `created_at`) in
    one Core statement, so the command's locked rows are not flushed ahead of their own UPDATE."""
    if rows:
        session.connection().execute(_INSERT_EVENTS, [{"id": str(uuid.uuid4()), **row} for row in rows])


_ANY_PENDING_EVENT = select(_EVENTS.c.id).where(_EVENTS.c.fanned_out_at.is_(None)).limit(1)
_ANY_DUE_MAIL = (
    select(_MAILS.c.id)
    .where(_MAILS.c.state.in_(list(ACTIVE_MAIL_STATES)), _MAILS.c.next_attempt_at <= bindparam("now"))
    .limit(1)
)


def work_waiting(connection: Connection, now: datetime) -> tuple[bool, bool]:
    """(events to fan out, mails due or leases ended) — two indexed reads on a bare connection, so that an idle
    poll takes no write lock (SQLite has one writer: the requests')."""
    events = connection.execute(_ANY_PENDING_EVENT).first() is not None
    mails = connection.execute(_ANY_DUE_MAIL, {"now": now}).first() is not None
    return events, mails


def pending_events(session: Session, limit: int) -> list[NotificationEvent]:
    """The oldest events not yet fanned out, locked (other processes skip them)."""
    stmt = (
        select(NotificationEvent)
        .where(NotificationEvent.fanned_out_at.is_(None))
        .order_by(NotificationEvent.created_at, NotificationEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def fanned_out(session: Session, event_ids: list[str], now: datetime) -> None:
    if event_ids:
        session.execute(
            update(NotificationEvent)
            .where(NotificationEvent.id.in_(event_ids))
            .values(fanned_out_at=now)
            .execution_options(synchronize_session=False)
        )


def add(session: Session, notifications: list[dict[str, Any]], mails: list[dict[str, Any]]) -> None:
    """Each person's notifications and the mails to send (unique per event and person: a second fan-out of the
    same event fails instead of telling anyone twice)."""
    connection = session.connection()
    if notifications:
        connection.execute(insert(_NOTIFICATIONS), notifications)
    if mails:
        connection.execute(insert(_MAILS), mails)


def new_mail(
    username: str,
    kind: str,
    now: datetime,
    event_id: str | None = None,
    notification_id: str | None = None,
    digest_day: str | None = None,
) -> dict[str, Any]:
    """A mail row due at once: one notification's (`event_id`, `notification_id`) or a digest's (`digest_day`)."""
    return {
        "id": str(uuid.uuid4()),
        "username": username,
        "channel": CHANNEL_EMAIL,
        "kind": kind,
        "event_id": event_id,
        "notification_id": notification_id,
        "digest_day": digest_day,
        "state": MailState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }


def business_keys(session: Session, instance_ids: Iterable[str | None]) -> dict[str, str | None]:
    """The business key of each instance (nothing else of it: no data leaves through a notification)."""
    wanted = {i for i in instance_ids if i}
    if not wanted:
        return {}
    stmt = select(ProcessInstance.id, ProcessInstance.business_key).where(ProcessInstance.id.in_(wanted))
    return {row.id: row.business_key for row in session.execute(stmt)}


def incidents_by_ids(session: Session, incident_ids: Iterable[str | None]) -> dict[str, Incident]:
    wanted = {i for i in incident_ids if i}
    if not wanted:
        return {}
    return {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(wanted)))}


def deployers(session: Session, definition_ids: Iterable[str]) -> dict[str, str]:
    """Who deployed each definition version."""
    wanted = set(definition_ids)
    if not wanted:
        return {}
    stmt = select(ProcessDefinition.id, ProcessDefinition.deployed_by).where(ProcessDefinition.id.in_(wanted))
    return {row.id: row.deployed_by for row in session.execute(stmt)}


# --- the due-date scanner ---------------------------------------------------------------------------------


def _not_noticed(kind: str) -> Any:
    return ~exists().where(NotificationEvent.task_id == HumanTask.id, NotificationEvent.kind == kind)


def crossing(session: Session, kind: str, after: datetime, until: datetime, limit: int) -> list[HumanTask]:
    """Open tasks due in (`after`, `until`] that have no `kind` notice yet (from the open-due index)."""
    stmt = (
        select(HumanTask)
        .where(
            HumanTask.state == TaskState.OPEN,
            HumanTask.due_at > after,
            HumanTask.due_at <= until,
            _not_noticed(kind),
        )
        .order_by(HumanTask.due_at, HumanTask.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def lock_schedule(session: Session, name: str) -> NotificationSchedule | None:
    """The job's row, locked for this transaction (made at its first run); None while another process holds it.
    Two processes making it at once: one insert fails, and that process runs the job at its next poll."""
    stmt = select(NotificationSchedule).where(NotificationSchedule.name == name).with_for_update(skip_locked=True)
    found = session.scalar(stmt)
    if found is None and session.get(NotificationSchedule, name) is None:
        found = NotificationSchedule(name=name, ran_at=None, day=None)
        session.add(found)
        session.flush()
    return found


# --- digests ----------------------------------------------------------------------------------------------


def digest_pending(session: Session, before: datetime) -> list[Notification]:
    """Notifications of people who chose the digest, made before `before` and not yet in a digest."""
    stmt = (
        select(Notification)
        .where(Notification.email == "digest", Notification.digest_mail_id.is_(None), Notification.created_at < before)
        .order_by(Notification.username, Notification.created_at, Notification.id)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def in_digest(session: Session, mail_id: str) -> list[Notification]:
    stmt = select(Notification).where(Notification.digest_mail_id == mail_id)
    return list(session.scalars(stmt.order_by(Notification.created_at, Notification.id)))


# --- mails ------------------------------------------------------------------------------------------------


def lease_mails(session: Session, now: datetime, lease: timedelta, limit: int) -> list[NotificationMail]:
    """Claim up to `limit` due mails for `lease`: pending ones, and leased ones whose holder's lease ran out
    (it never reached DATA). Mails left `sending` past their lease become `unknown`: the relay may have them."""
    session.execute(
        update(NotificationMail)
        .where(NotificationMail.state == MailState.SENDING, NotificationMail.next_attempt_at <= now)
        .values(state=MailState.UNKNOWN, last_error="interrupted_during_data")
        .execution_options(synchronize_session=False)
    )
    stmt = (
        select(NotificationMail)
        .where(
            NotificationMail.state.in_((MailState.PENDING, MailState.LEASED)),
            NotificationMail.next_attempt_at <= now,
        )
        .order_by(NotificationMail.next_attempt_at, NotificationMail.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    mails = list(session.scalars(stmt))
    for mail in mails:
        mail.state = MailState.LEASED
        mail.attempts += 1
        mail.next_attempt_at = now + lease
    return mails


def move(session: Session, mail_id: str, attempts: int, states: Sequence[str], values: dict[str, Any]) -> bool:
    """Change a mail only if it is still in one of `states` at attempt `attempts` (the holder's lease); whether
    it was."""
    result = session.execute(
        update(NotificationMail)
        .where(
            NotificationMail.id == mail_id,
            NotificationMail.attempts == attempts,
            NotificationMail.state.in_(list(states)),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def notification(session: Session, notification_id: str) -> Notification | None:
    return session.get(Notification, notification_id)


def deliveries(session: Session, state: str | None, offset: int, limit: int) -> tuple[list[NotificationMail], int]:
    """Mails, newest first, of one state when given."""
    stmt = select(NotificationMail).order_by(NotificationMail.created_at.desc(), NotificationMail.id)
    if state:
        stmt = stmt.where(NotificationMail.state == state)
    return page(session, stmt, offset, limit)


# --- a person's list --------------------------------------------------------------------------------------


def of_user(
    session: Session, username: str, unread_only: bool, offset: int, limit: int
) -> tuple[list[Notification], int]:
    stmt = select(Notification).where(Notification.username == username)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return page(session, stmt.order_by(Notification.created_at.desc(), Notification.id), offset, limit)


def unread(session: Session, username: str) -> int:
    """The person's unread notifications (from the partial unread index)."""
    stmt = select(func.count()).where(Notification.username == username, Notification.read_at.is_(None))
    return int(session.scalar(stmt) or 0)


def mark_read(session: Session, username: str, notification_id: str | None, now: datetime) -> int:
    """Mark one of the person's notifications (None: all of them) read; how many changed."""
    condition = and_(Notification.username == username, Notification.read_at.is_(None))
    if notification_id is not None:
        condition = and_(condition, Notification.id == notification_id)
    result = session.execute(
        update(Notification).where(condition).values(read_at=now).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def owned(session: Session, username: str, notification_id: str) -> bool:
    stmt = select(Notification.id).where(Notification.id == notification_id, Notification.username == username)
    return session.scalar(stmt) is not None
