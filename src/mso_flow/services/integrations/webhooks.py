"""Webhook subscriptions: each belongs to the integrator who made it (admins see all), reaches only addresses
the outbound policy permits, and may be narrowed to processes and units and leave variables out of payloads.
The signature of a delivery covers its timestamp and body. Delivery itself is
`services/integrations/webhook_delivery.py`. The faces get subscriptions and deliveries as frozen records
(`WebhookRecord`, without the secret; `DeliveryRecord`, without the payload), never the store's rows."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mso_flow.services import policy
from mso_flow.services.integrations import outbound
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.events import WEBHOOK_EVENTS
from mso_flow.services.platform.failures import Forbidden, Invalid, NotFound
from mso_flow.store import webhooks as store
from mso_flow.store.models import Webhook, WebhookDelivery

EVENT_NAMES = frozenset(WEBHOOK_EVENTS.values()) | {"*"}


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """A subscription as the faces show it: everything but its secret."""

    id: str
    url: str
    events: tuple[str, ...]
    created_by: str
    created_at: datetime
    active: bool
    process_keys: tuple[str, ...] | None
    units: tuple[str, ...] | None
    include_variables: bool
    personal_data: bool
    consecutive_failures: int
    paused_until: datetime | None


def webhook_record(row: Webhook) -> WebhookRecord:
    return WebhookRecord(
        row.id,
        row.url,
        tuple(row.events),
        row.created_by,
        row.created_at,
        row.active,
        tuple(row.process_keys) if row.process_keys is not None else None,
        tuple(row.units) if row.units is not None else None,
        row.include_variables,
        row.personal_data,
        row.consecutive_failures,
        row.paused_until,
    )


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One delivery of a webhook as the faces show it: its state and attempts, never its payload (it may carry a
    case's data)."""

    id: str
    webhook_id: str
    event: str
    instance_id: str | None
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def delivery_record(row: WebhookDelivery) -> DeliveryRecord:
    return DeliveryRecord(
        row.id,
        row.webhook_id,
        row.event,
        row.instance_id,
        row.state,
        row.attempts,
        row.next_attempt_at,
        row.last_error,
        row.created_at,
        row.delivered_at,
    )


def _require_manager(caller: Caller) -> None:
    if not policy.may_manage_webhooks(caller):
        raise Forbidden("webhook_forbidden", "จัดการ webhook ได้เฉพาะระบบเชื่อมต่อหรือผู้ดูแลระบบ (integrator or admin)")


def create(
    services: Services,
    caller: Caller,
    url: str,
    events: list[str],
    secret: str,
    process_keys: list[str] | None = None,
    units: list[str] | None = None,
    include_variables: bool = True,
) -> WebhookRecord:
    """Subscribe `url` to `events` ("*" for all) of the processes in `process_keys` and `units` (None: all),
    owned by the caller. The URL must resolve to an address outbound calls may reach."""
    _require_manager(caller)
    unknown = sorted(set(events) - EVENT_NAMES)
    if unknown or not events:
        raise Invalid(
            "unknown_events",
            f"ไม่รู้จักเหตุการณ์ {', '.join(unknown) or '(ว่าง)'} (known: {', '.join(sorted(EVENT_NAMES))})",
        )
    _require_reachable(services, url)
    webhook = Webhook(
        id=str(uuid.uuid4()),
        url=url,
        events=sorted(set(events)),
        secret=secret,
        created_by=caller.username,
        created_at=services.clock(),
        active=True,
        process_keys=sorted(set(process_keys)) if process_keys is not None else None,
        units=sorted(set(units)) if units is not None else None,
        include_variables=include_variables,
        consecutive_failures=0,
    )
    with services.db.write() as session:
        store.add(session, webhook)
        created = webhook_record(webhook)
    services.subscriptions.invalidate()
    return created


def _require_reachable(services: Services, url: str) -> None:
    try:
        outbound.AddressPolicy.from_settings(services.settings).check_url(url)
    except outbound.Unresolved:
        raise Invalid("webhook_url_unresolved", f"ไม่พบที่อยู่ของ {url} (the host does not resolve)") from None
    except outbound.BlockedAddress:
        raise Invalid(
            "webhook_address_blocked",
            "ส่ง webhook ไปยังที่อยู่ภายใน (loopback, private, link-local) หรือตัวบริการเองไม่ได้ "
            "(the URL resolves to an address outbound calls may not reach; see MSO_FLOW_WEBHOOK_ALLOWED_NETWORKS)",
        ) from None


def _owner(caller: Caller) -> str | None:
    """Whose webhooks the caller sees: their own; admins see every webhook (None)."""
    return None if policy.sees_every_webhook(caller) else caller.username


def listing(services: Services, caller: Caller, offset: int, limit: int) -> tuple[list[WebhookRecord], int]:
    """The active webhooks the caller owns (all of them for an admin)."""
    _require_manager(caller)
    with services.db.read() as session:
        rows, total = store.listing(session, offset, limit, owner=_owner(caller))
        return [webhook_record(row) for row in rows], total


def _visible(session: Session, caller: Caller, webhook_id: str) -> Webhook:
    """An active webhook of the caller's; another's is reported as missing (404), never as forbidden."""
    webhook = store.get(session, webhook_id)
    owner = _owner(caller)
    if webhook is None or not webhook.active or (owner is not None and webhook.created_by != owner):
        raise NotFound("webhook_not_found", f"ไม่พบ webhook {webhook_id} (webhook not found)")
    return webhook


def delete(services: Services, caller: Caller, webhook_id: str) -> None:
    """Unsubscribe; deliveries not yet made are dropped."""
    _require_manager(caller)
    with services.db.write() as session:
        store.deactivate(session, _visible(session, caller, webhook_id))
    services.subscriptions.invalidate()


def deliveries(
    services: Services, caller: Caller, webhook_id: str, offset: int, limit: int
) -> tuple[list[DeliveryRecord], int]:
    _require_manager(caller)
    with services.db.read() as session:
        _visible(session, caller, webhook_id)
        rows, total = store.deliveries_of(session, webhook_id, offset, limit)
        return [delivery_record(row) for row in rows], total


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-MSO-Signature` header value: `sha256=` and the hex HMAC-SHA256 of `timestamp` "." body, where
    `timestamp` is the `X-MSO-Timestamp` header (Unix seconds), so a replayed old delivery can be refused."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
