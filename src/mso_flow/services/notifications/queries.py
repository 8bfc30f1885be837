"""A person's notifications (`GET /api/v1/me/notifications`, the bell, the notifications page), marking them read,
their e-mail setting, and the admins' view of mail deliveries. Queries return frozen views, never rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mso_flow.domain import EmailMode
from mso_flow.services import policy
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden, NotFound
from mso_flow.store import notifications as store
from mso_flow.store import users as users_store
from mso_flow.store.notifications import Notification, NotificationMail


@dataclass(frozen=True)
class NotificationView:
    id: str
    kind: str
    task_id: str | None
    instance_id: str | None
    title: str
    step: str | None
    process_name: str | None
    business_key: str | None
    due_at: datetime | None
    created_at: datetime
    read: bool


@dataclass(frozen=True)
class NotificationList:
    items: list[NotificationView]
    total: int
    unread: int


@dataclass(frozen=True)
class EmailSetting:
    email: str  # EmailMode
    address: str | None


@dataclass(frozen=True)
class MailView:
    id: str
    username: str
    kind: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    event_id: str | None
    digest_day: str | None


def _view(note: Notification) -> NotificationView:
    return NotificationView(
        note.id,
        note.kind,
        note.task_id,
        note.instance_id,
        note.title,
        note.step,
        note.process_name,
        note.business_key,
        note.due_at,
        note.created_at,
        note.read_at is not None,
    )


def listing(services: Services, caller: Caller, unread_only: bool, offset: int, limit: int) -> NotificationList:
    """The caller's own notifications, newest first, and how many are unread."""
    with services.db.read() as session:
        items, total = store.of_user(session, caller.username, unread_only, offset, limit)
        return NotificationList([_view(n) for n in items], total, store.unread(session, caller.username))


def unread(services: Services, caller: Caller) -> int:
    """The number on the bell (one indexed count)."""
    with services.db.read() as session:
        return store.unread(session, caller.username)


def mark_read(services: Services, caller: Caller, notification_id: str) -> None:
    """Mark one of the caller's notifications read (again: no change); 404 for anyone else's."""
    with services.db.write() as session:
        if not store.owned(session, caller.username, notification_id):
            raise NotFound("notification_not_found", f"ไม่พบการแจ้งเตือน {notification_id} (notification not found)")
        store.mark_read(session, caller.username, notification_id, services.clock())


def mark_all_read(services: Services, caller: Caller) -> int:
    with services.db.write() as session:
        return store.mark_read(session, caller.username, None, services.clock())


def email_setting(services: Services, caller: Caller) -> EmailSetting:
    with services.db.read() as session:
        user = users_store.by_username(session, caller.username)
        if user is None:
            raise NotFound("user_not_found", f"ไม่พบผู้ใช้ {caller.username} (user not found)")
        return EmailSetting(user.email_notifications, user.email)


def set_email_mode(services: Services, caller: Caller, mode: EmailMode) -> EmailSetting:
    """The caller's choice: every notification by mail at once, a daily digest, or none."""
    with services.db.write() as session:
        user = users_store.by_username(session, caller.username, lock=True)
        if user is None:
            raise NotFound("user_not_found", f"ไม่พบผู้ใช้ {caller.username} (user not found)")
        user.email_notifications = EmailMode(mode)
        return EmailSetting(user.email_notifications, user.email)


def deliveries(
    services: Services, caller: Caller, state: str | None, offset: int, limit: int
) -> tuple[list[MailView], int]:
    """Every notification mail and its state, newest first (admins)."""
    if not policy.may_read_mail_deliveries(caller):
        raise Forbidden("admin_required", "ต้องเป็นผู้ดูแลระบบ (admin role required)")
    with services.db.read() as session:
        rows, total = store.deliveries(session, state, offset, limit)
        return [_mail(m) for m in rows], total


def _mail(row: NotificationMail) -> MailView:
    return MailView(
        row.id,
        row.username,
        row.kind,
        row.state,
        row.attempts,
        row.next_attempt_at,
        row.last_error,
        row.created_at,
        row.sent_at,
        row.event_id,
        row.digest_day,
    )
