"""A person's notifications and e-mail setting (`/me/…`), and the admins' view of notification mail deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.domain import MailState
from mso_flow.schemas.common import Page
from mso_flow.schemas.notifications import (
    MailDeliveryOut,
    MarkedRead,
    NotificationList,
    NotificationOut,
    NotificationSettingsIn,
    NotificationSettingsOut,
)
from mso_flow.services.notifications import queries

router = APIRouter(tags=["notifications"])
NotificationId = Annotated[str, Path(max_length=36)]


@router.get("/me/notifications", response_model=NotificationList)
def my_notifications(
    caller: CallerDep, services: ServicesDep, paging: PagingDep, unread: Annotated[bool, Query()] = False
) -> NotificationList:
    """The caller's notifications, newest first (`?unread=true`: the unread ones), and the unread count."""
    found = queries.listing(services, caller, unread, paging.offset, paging.limit)
    return NotificationList(
        items=[NotificationOut.model_validate(n) for n in found.items],
        unread=found.unread,
        total=found.total,
        offset=paging.offset,
        limit=paging.limit,
    )


@router.post("/me/notifications/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
def mark_read(notification_id: NotificationId, caller: CallerDep, services: ServicesDep) -> Response:
    """Mark one of the caller's notifications read (404 for anyone else's)."""
    queries.mark_read(services, caller, notification_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/me/notifications/read-all", response_model=MarkedRead)
def mark_all_read(caller: CallerDep, services: ServicesDep) -> MarkedRead:
    """Mark every notification of the caller read."""
    return MarkedRead(marked=queries.mark_all_read(services, caller))


@router.get("/me/notification-settings", response_model=NotificationSettingsOut)
def my_settings(caller: CallerDep, services: ServicesDep) -> NotificationSettingsOut:
    """How the caller receives notifications by e-mail, and at which address."""
    return NotificationSettingsOut.model_validate(queries.email_setting(services, caller))


@router.put("/me/notification-settings", response_model=NotificationSettingsOut)
def set_my_settings(body: NotificationSettingsIn, caller: CallerDep, services: ServicesDep) -> NotificationSettingsOut:
    """Choose `immediate`, `digest` (08:00 Asia/Bangkok on working days) or `off`; in-app notifications stay."""
    return NotificationSettingsOut.model_validate(queries.set_email_mode(services, caller, body.email))


@router.get("/notifications/deliveries", response_model=Page[MailDeliveryOut])
def deliveries(
    caller: CallerDep, services: ServicesDep, paging: PagingDep, state: Annotated[MailState | None, Query()] = None
) -> Page[MailDeliveryOut]:
    """Every notification mail and its delivery state, newest first (admin)."""
    items, total = queries.deliveries(services, caller, state, paging.offset, paging.limit)
    return Page(
        items=[MailDeliveryOut.model_validate(m) for m in items], total=total, offset=paging.offset, limit=paging.limit
    )
