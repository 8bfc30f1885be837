"""Notifications in the API: a person's list, their e-mail setting, and the admins' view of mail deliveries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from mso_flow.domain import EmailMode
from mso_flow.schemas.common import Request


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str = Field(description="task_created, task_assigned, task_due_soon, task_overdue or incident_opened")
    task_id: str | None
    instance_id: str | None
    title: str = Field(description="Thai: the kind and the step, e.g. `งานใหม่: ลงทะเบียนรับหนังสือ`")
    created_at: datetime
    read: bool
    step: str | None = Field(default=None, description="the step's name (the element's, for an incident)")
    process_name: str | None = None
    business_key: str | None = None
    due_at: datetime | None = None


class NotificationList(BaseModel):
    items: list[NotificationOut]
    unread: int = Field(description="the caller's unread notifications, all pages")
    total: int = Field(description="the caller's notifications matching the query, all pages")
    offset: int
    limit: int


class NotificationSettingsIn(Request):
    email: EmailMode = Field(
        description="immediate: a mail per notification; digest: one mail at 08:00 (Asia/Bangkok) on working days; "
        "off: in the app only"
    )


class NotificationSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: EmailMode
    address: str | None = Field(description="the address mails go to (set by an administrator); null: none")


class MarkedRead(BaseModel):
    marked: int


class MailDeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="also the local part of the mail's Message-ID")
    username: str
    kind: str
    state: str = Field(description="pending, leased, sending, sent, failed, unknown (cut during DATA) or dropped")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None = Field(description="a category (refused, timeout, tls, auth, smtp_4xx …)")
    created_at: datetime
    sent_at: datetime | None
    event_id: str | None
    digest_day: str | None
