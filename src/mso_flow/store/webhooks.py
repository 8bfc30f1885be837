"""Webhook subscriptions and the outbox of their deliveries.

A delivery row is written in the same transaction as the state change that caused it; the deliverer claims due
rows with a lease (`next_attempt_at` pushed into the future under `FOR UPDATE SKIP LOCKED`), so each attempt is
made by one service process, and a process that dies mid-attempt only delays the row until its lease ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from mso_flow.domain import DeliveryState
from mso_flow.store.models import Webhook, WebhookDelivery
from mso_flow.store.paging import page

PENDING, DELIVERED, FAILED = DeliveryState.PENDING, DeliveryState.DELIVERED, DeliveryState.FAILED


def add(session: Session, webhook: Webhook) -> None:
    session.add(webhook)
    session.flush()


def get(session: Session, webhook_id: str) -> Webhook | None:
    return session.get(Webhook, webhook_id)


def listing(session: Session, offset: int, limit: int, owner: str | None = None) -> tuple[list[Webhook], int]:
    """Active webhooks, of `owner` only when given."""
    stmt = select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.created_at, Webhook.id)
    if owner is not None:
        stmt = stmt.where(Webhook.created_by == owner)
    return page(session, stmt, offset, limit)


def deactivate(session: Session, webhook: Webhook) -> None:
    """Stop a subscription; its pending deliveries are dropped, its history stays."""
    webhook.active = False
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.state == PENDING)
        .values(state=FAILED, last_error="webhook deleted")
        .execution_options(synchronize_session=False)
    )


def active(session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.active.is_(True))))


def enqueue(session: Session, rows: list[tuple[str, str, str, str, int]], now: datetime) -> None:
    """Outbox rows (webhook id, event name, JSON payload, instance id, audit seq), due at once."""
    if rows:
        session.connection().execute(  # Core, so the locked instance is not flushed ahead of its one UPDATE
            insert(cast(Table, WebhookDelivery.__table__)),
            [
                {
                    "id": str(uuid.uuid4()),
                    "webhook_id": webhook_id,
                    "event": event,
                    "payload": payload,
                    "instance_id": instance_id,
                    "event_seq": seq,
                    "state": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for webhook_id, event, payload, instance_id, seq in rows
            ],
        )


def lease_due(
    session: Session, now: datetime, lease: timedelta, limit: int, busy: Collection[str] = ()
) -> list[tuple[WebhookDelivery, Webhook]]:
    """Claim up to `limit` due deliveries for `lease`; other processes skip them meanwhile. Deliveries of the
    webhooks in `busy` (being delivered already) and of webhooks paused by their circuit breaker wait."""
    paused = select(Webhook.id).where(Webhook.paused_until > now)
    stmt = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.state == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.webhook_id.not_in(paused),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.created_at, WebhookDelivery.event_seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if busy:
        stmt = stmt.where(WebhookDelivery.webhook_id.not_in(list(busy)))
    deliveries = list(session.scalars(stmt))
    hooks = {
        h.id: h for h in session.scalars(select(Webhook).where(Webhook.id.in_({d.webhook_id for d in deliveries})))
    }
    for delivery in deliveries:
        delivery.next_attempt_at = now + lease
        delivery.attempts += 1
    return [(d, hooks[d.webhook_id]) for d in deliveries]


def record_attempt(session: Session, delivery_id: str, attempts: int, result: dict[str, Any]) -> None:
    """Write the outcome of attempt number `attempts` (ignored if another attempt has been leased since)."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == attempts)
        .values(**result)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, leased: list[tuple[str, int]], due: datetime) -> None:
    """Give back leased deliveries (id, attempts) unattempted, due again at `due`."""
    for delivery_id, attempts in leased:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == attempts)
            .values(attempts=attempts - 1, next_attempt_at=due)
            .execution_options(synchronize_session=False)
        )


def note_outcome(
    session: Session, webhook_id: str, ok: bool, now: datetime, threshold: int, cooldown: timedelta
) -> None:
    """The circuit breaker: a success closes it; the `threshold`-th consecutive failure (and every one after,
    such as the probe after a pause) pauses the webhook until `now + cooldown`."""
    webhook = session.get(Webhook, webhook_id, with_for_update=True, populate_existing=True)
    if webhook is None:
        return
    if ok:
        webhook.consecutive_failures, webhook.paused_until = 0, None
    else:
        webhook.consecutive_failures += 1
        if webhook.consecutive_failures >= threshold:
            webhook.paused_until = now + cooldown


def deliveries_of(session: Session, webhook_id: str, offset: int, limit: int) -> tuple[list[WebhookDelivery], int]:
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.instance_id, WebhookDelivery.event_seq)
    )
    return page(session, stmt, offset, limit)
