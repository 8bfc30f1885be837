"""Delivery of the webhook outbox: signed, concurrent across subscriptions, in order within one, each attempt
bounded by an overall deadline, retried with backoff, and a circuit breaker per subscription.

A poll leases due deliveries (skipping subscriptions already being delivered by this process and those whose
breaker is open) and starts one sequence per subscription; at most `webhook_concurrency` requests run at once.
Within a sequence the first failure ends it: the deliveries behind it are given back, due with the failed one's
retry, so a slow or dead receiver costs only its own deliveries. Requests go through `outbound.GuardedTransport`
(addresses checked at connect time, redirects not followed); `last_error` records a category, never the
receiver's words. The background loop (`Deliverer.run`) does not wait for a sequence to end before polling
again; `deliver_due` (tests, one-off runs) polls once and waits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session

from mso_flow.services.integrations import outbound
from mso_flow.services.integrations.webhooks import signature
from mso_flow.services.platform import events
from mso_flow.services.platform.context import Services
from mso_flow.services.privacy import need_to_know, personal_data
from mso_flow.store import webhooks as store
from mso_flow.store.models import Webhook, WebhookDelivery
from mso_flow.telemetry import metrics

LEASE = timedelta(seconds=60)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Leased:
    """One leased delivery with what its attempt needs."""

    id: str
    attempts: int
    webhook_id: str
    event: str
    payload: str
    url: str
    secret: str
    created_at: datetime


def backoff(attempts: int, base: float) -> timedelta:
    """Delay before the next attempt: base · 2^(attempts-1), at most one hour."""
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 3600.0))


class Deliverer:
    """The outbox deliverer of one service process (all its methods run on one event loop)."""

    def __init__(self, services: Services, batch: int = 50):
        self.services = services
        self.batch = batch
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[int]] = set()
        self._slots: asyncio.Semaphore | None = None

    def client(self) -> httpx.AsyncClient:
        """An HTTP client for this deliverer's loop: checked addresses only, no redirects."""
        policy = outbound.AddressPolicy.from_settings(self.services.settings)  # may resolve names: not at start-up
        return httpx.AsyncClient(transport=outbound.GuardedTransport(policy), follow_redirects=False)

    async def poll(self, client: httpx.AsyncClient) -> list[asyncio.Task[int]]:
        """Lease due deliveries and start a sequence per subscription; return the started sequences."""
        leased = await asyncio.to_thread(self._lease)
        sequences: dict[str, list[Leased]] = {}
        for item in leased:
            sequences.setdefault(item.webhook_id, []).append(item)
        started = []
        for webhook_id, items in sequences.items():
            self._busy.add(webhook_id)
            task = asyncio.create_task(self._sequence(client, webhook_id, items))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        return started

    def _lease(self) -> list[Leased]:
        with self.services.db.write() as session:
            now = self.services.clock()
            due = store.lease_due(session, now, LEASE, self.batch, busy=set(self._busy))
            owners = {(w.created_by, d.instance_id) for d, w in due if d.instance_id is not None}
            reading = need_to_know.subscribers_reading(session, owners)
            return [
                Leased(
                    d.id,
                    d.attempts,
                    d.webhook_id,
                    d.event,
                    self._body(session, d, w, d.instance_id is None or (w.created_by, d.instance_id) in reading),
                    w.url,
                    w.secret,
                    d.created_at,
                )
                for d, w in due
            ]

    def _body(self, session: Session, delivery: WebhookDelivery, hook: Webhook, reads: bool) -> str:
        """The payload as sent: without its data unless the subscription's owner reads the instance's data (`reads`,
        decided now: rights lost since the event apply to its retries); a granted subscription's sealed values
        opened (the disclosure logged)."""
        if not reads:
            return events.without_data(delivery.payload)
        if not hook.personal_data:
            return delivery.payload
        return personal_data.open_payload(self.services, session, delivery.instance_id, delivery.payload, hook.id)

    async def _sequence(self, client: httpx.AsyncClient, webhook_id: str, items: list[Leased]) -> int:
        """Deliver one subscription's deliveries in order until the first failure; return how many arrived."""
        delivered = 0
        try:
            for position, item in enumerate(items):
                error = await self._attempt(client, item)
                await asyncio.to_thread(self._record, item, error, items[position + 1 :])
                if error is not None:
                    break
                delivered += 1
        except Exception:  # a database error: the leases run out and the deliveries are tried again
            log.exception("webhook delivery to subscription %s failed", webhook_id)
        finally:
            self._busy.discard(webhook_id)
        return delivered

    async def _attempt(self, client: httpx.AsyncClient, item: Leased) -> str | None:
        """One POST within the overall deadline; None when the receiver answered 2xx, else the category."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, self.services.settings.webhook_concurrency))
        body = item.payload.encode()
        timestamp = str(int(self.services.clock().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-MSO-Event": item.event,
            "X-MSO-Delivery": item.id,
            "X-MSO-Timestamp": timestamp,
            "X-MSO-Signature": signature(item.secret, timestamp, body),
            "X-MSO-Attempt": str(item.attempts),
        }
        deadline = self.services.settings.webhook_timeout_seconds
        async with self._slots:
            try:
                async with asyncio.timeout(deadline):
                    # the body of the answer is never read: only its status counts
                    async with client.stream("POST", item.url, content=body, headers=headers, timeout=deadline) as r:
                        return outbound.status_category(r.status_code)
            except (TimeoutError, httpx.HTTPError) as err:
                return outbound.error_category(err)

    def _record(self, item: Leased, error: str | None, behind: list[Leased]) -> None:
        settings = self.services.settings
        now = self.services.clock()
        result: dict[str, Any]
        if error is None:
            result = {"state": store.DELIVERED, "delivered_at": now, "last_error": None}
            metrics.WEBHOOK_DELIVERY_SECONDS.observe(max(0.0, (now - item.created_at).total_seconds()))
        elif item.attempts >= settings.webhook_max_attempts:
            result = {"state": store.FAILED, "last_error": error}
        else:
            retry = now + backoff(item.attempts, settings.webhook_backoff_seconds)
            result = {"next_attempt_at": retry, "last_error": error}
        with self.services.db.write() as session:
            store.record_attempt(session, item.id, item.attempts, result)
            cooldown = timedelta(seconds=settings.webhook_breaker_cooldown_seconds)
            store.note_outcome(
                session, item.webhook_id, error is None, now, settings.webhook_breaker_failures, cooldown
            )
            if error is not None and behind:
                due = result.get("next_attempt_at", now)
                store.release(session, [(b.id, b.attempts) for b in behind], due)
        if error is not None:
            log.info("webhook delivery %s attempt %d failed: %s", item.id, item.attempts, error)

    async def run(self, stop: threading.Event) -> None:
        """Poll every `scheduler_interval_seconds` (at once again after a full batch) until `stop` is set."""
        interval = self.services.settings.scheduler_interval_seconds
        async with self.client() as client:
            while not stop.is_set():
                try:
                    started = await self.poll(client)
                except Exception:  # the loop must survive a database restart or a bad row
                    log.exception("webhook delivery poll failed")
                    started = []
                if not started:
                    await _sleep_unless(stop, interval)
                else:
                    await asyncio.sleep(0.05)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def _sleep_unless(stop: threading.Event, seconds: float) -> None:
    step = min(seconds, 0.2)
    waited = 0.0
    while waited < seconds and not stop.is_set():
        await asyncio.sleep(step)
        waited += step


def deliver_due(services: Services) -> int:
    """Poll once and wait for every started sequence; return how many deliveries reached their receiver."""

    async def once() -> int:
        worker = Deliverer(services)
        async with worker.client() as client:
            sequences: list[Awaitable[int]] = list(await worker.poll(client))
            return sum(await asyncio.gather(*sequences))

    return asyncio.run(once())
