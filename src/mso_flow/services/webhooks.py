"""Webhook subscriptions, and delivery of the outbox: signed, retried with backoff, one attempt at a time."""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from datetime import timedelta

import httpx

from mso_flow.services import policy
from mso_flow.services.context import Caller, Services
from mso_flow.services.errors import Forbidden, Invalid, NotFound
from mso_flow.services.events import WEBHOOK_EVENTS
from mso_flow.store import webhooks as store
from mso_flow.store.models import Webhook, WebhookDelivery
from mso_flow.telemetry import metrics

EVENT_NAMES = frozenset(WEBHOOK_EVENTS.values()) | {"*"}
LEASE = timedelta(seconds=60)
log = logging.getLogger(__name__)


def _require_manager(caller: Caller) -> None:
    if not policy.may_manage_webhooks(caller):
        raise Forbidden("webhook_forbidden", "จัดการ webhook ได้เฉพาะระบบเชื่อมต่อหรือผู้ดูแลระบบ (integrator or admin)")


def create(services: Services, caller: Caller, url: str, events: list[str], secret: str) -> Webhook:
    """Subscribe `url` to `events` ("*" for all)."""
    _require_manager(caller)
    unknown = sorted(set(events) - EVENT_NAMES)
    if unknown or not events:
        raise Invalid(
            "unknown_events",
            f"ไม่รู้จักเหตุการณ์ {', '.join(unknown) or '(ว่าง)'} (known: {', '.join(sorted(EVENT_NAMES))})",
        )
    webhook = Webhook(
        id=str(uuid.uuid4()),
        url=url,
        events=sorted(set(events)),
        secret=secret,
        created_by=caller.username,
        created_at=services.clock(),
        active=True,
    )
    with services.db.write() as session:
        store.add(session, webhook)
    services.subscriptions.invalidate()
    return webhook


def listing(services: Services, caller: Caller, offset: int, limit: int) -> tuple[list[Webhook], int]:
    _require_manager(caller)
    with services.db.read() as session:
        return store.listing(session, offset, limit)


def _active(session: object, webhook_id: str) -> Webhook:
    webhook = store.get(session, webhook_id)  # type: ignore[arg-type]
    if webhook is None or not webhook.active:
        raise NotFound("webhook_not_found", f"ไม่พบ webhook {webhook_id} (webhook not found)")
    return webhook


def delete(services: Services, caller: Caller, webhook_id: str) -> None:
    """Unsubscribe; deliveries not yet made are dropped."""
    _require_manager(caller)
    with services.db.write() as session:
        store.deactivate(session, _active(session, webhook_id))
    services.subscriptions.invalidate()


def deliveries(
    services: Services, caller: Caller, webhook_id: str, offset: int, limit: int
) -> tuple[list[WebhookDelivery], int]:
    _require_manager(caller)
    with services.db.read() as session:
        _active(session, webhook_id)
        return store.deliveries_of(session, webhook_id, offset, limit)


def signature(secret: str, body: bytes) -> str:
    """The `X-MSO-Signature` header value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int, base: float) -> timedelta:
    """Delay before the next attempt: base · 2^(attempts-1), at most one hour."""
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 3600.0))


def deliver_due(services: Services, client: httpx.Client, limit: int = 20) -> int:
    """Make one attempt for each due delivery (leased, so no other process attempts it meanwhile); return how
    many reached their receiver."""
    settings = services.settings
    with services.db.write() as session:
        leased = [
            (d.id, d.attempts, d.event, d.payload, w.url, w.secret, d.created_at)
            for d, w in store.lease_due(session, services.clock(), LEASE, limit)
        ]
    delivered = 0
    for delivery_id, attempts, event, payload, url, secret, created_at in leased:
        body = payload.encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-MSO-Event": event,
            "X-MSO-Delivery": delivery_id,
            "X-MSO-Signature": signature(secret, body),
            "X-MSO-Attempt": str(attempts),
        }
        try:
            response = client.post(url, content=body, headers=headers, timeout=settings.webhook_timeout_seconds)
            error = None if response.is_success else f"HTTP {response.status_code}"
        except httpx.HTTPError as err:
            error = f"{type(err).__name__}: {err}"
        now = services.clock()
        if error is None:
            result = {"state": store.DELIVERED, "delivered_at": now, "last_error": None}
            delivered += 1
            metrics.WEBHOOK_DELIVERY_SECONDS.observe(max(0.0, (now - created_at).total_seconds()))
        elif attempts >= settings.webhook_max_attempts:
            result = {"state": store.FAILED, "last_error": error}
        else:
            result = {"next_attempt_at": now + backoff(attempts, settings.webhook_backoff_seconds), "last_error": error}
        if error:
            log.info("webhook delivery %s attempt %d failed: %s", delivery_id, attempts, error)
        with services.db.write() as session:
            store.record_attempt(session, delivery_id, attempts, result)
    return delivered
