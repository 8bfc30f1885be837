"""Delivery of notification mails: leased, sent off the request path with bounded concurrency, retried with
backoff, and never sent twice.

States (`domain.MailState`) and who moves them:

    pending ──lease──▶ leased ──relay took the envelope──▶ sending ──250 after DATA──▶ sent
       ▲                 │                                   │
       └──backoff────────┘ (connection, TLS, login,          ├── reply code refusing it: pending (4xx) / failed (5xx)
          (failed after     MAIL, RCPT failed; nothing       └── cut during DATA, or the process died: unknown
          the last attempt)  of the message went out)

A poll leases due mails in one transaction (`FOR UPDATE SKIP LOCKED`; SQLite: one writer) for a lease longer than
any exchange can take; a process that dies holding a lease in `leased` only delays the mail, since it had sent
nothing. Just before DATA, the sender moves the mail to `sending` — a conditional UPDATE that succeeds only while
its lease is still its own — and commits. A mail that is `sending` is never leased again: if its process dies or
the connection breaks during DATA, it becomes `unknown` (shown to admins) rather than risk a second copy. So at
most one mail per (event, person, channel) leaves, across replicas and restarts. The window that remains is the
other way round: a mail cut during DATA (or whose `sent` could not be committed) may be lost, not doubled; the
person still has the notification in the app. The Message-ID is the mail's id, so a relay or mailbox that sees
the same message twice (an operator resending by hand) can tell.

Each exchange runs in a thread of a pool of `MSO_FLOW_MAIL_CONCURRENCY` with a deadline on every socket operation:
a dead or slow relay holds at most that many threads, never a request and never the other background loops;
`run` (a thread of its own) leases more as soon as a sender is free. No database transaction is open during an
exchange: leasing, `sending` and the outcome are each a short transaction of their own. The sender runs in the
background process (`mso_flow/background.py`), apart from the web workers and at a lower CPU priority, so a burst
of mail takes no request's CPU time or interpreter lock (bench/results-notification-cost.txt). Where it runs
beside requests (an app started without `serve`), each mail (and each fan-out) first waits up to two seconds for
the process's requests to finish (`telemetry/activity.py`).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from email import policy as email_policy
from email.utils import parseaddr
from typing import Any

from sqlalchemy.orm import Session

from mso_flow.domain import EmailMode, MailState
from mso_flow.services.integrations.webhook_delivery import backoff
from mso_flow.services.notifications import mail as mail_text
from mso_flow.services.notifications import smtp
from mso_flow.services.platform.context import Services
from mso_flow.store import notifications as store
from mso_flow.store import users as users_store
from mso_flow.store.models import User
from mso_flow.store.notifications import Notification, NotificationMail
from mso_flow.telemetry import activity

log = logging.getLogger(__name__)
MIN_LEASE = timedelta(minutes=5)
YIELD_SECONDS = 2.0  # the longest a mail waits for the service's requests to finish (telemetry/activity.py)


@dataclass(frozen=True)
class Outgoing:
    """A leased mail, composed: what its attempt needs."""

    id: str
    attempts: int
    to: str
    payload: bytes


class MailDeliverer:
    """The mail sender of one service process."""

    def __init__(self, services: Services):
        self.services = services
        settings = services.settings
        self.relay = smtp.Relay.from_settings(settings)
        self.sender = parseaddr(settings.mail_from)[1]
        self.lease = max(MIN_LEASE, timedelta(seconds=settings.mail_timeout_seconds * 8))
        self._free = settings.mail_concurrency
        self._lock = threading.Lock()
        self._yields = False  # set by `run`: the background sender lets requests go first
        self._pool = ThreadPoolExecutor(max_workers=settings.mail_concurrency, thread_name_prefix="mso-mail")

    def poll(self) -> list[Future[None]]:
        """Lease as many due mails as there are free senders and start them; return their futures."""
        if self.relay is None:
            return []
        with self._lock:
            free = self._free
        if free <= 0:
            return []
        started = []
        for item in self._take(free):
            with self._lock:
                self._free -= 1
            future = self._pool.submit(self._deliver, item)
            future.add_done_callback(self._release)
            started.append(future)
        return started

    def run(self, stop: threading.Event) -> None:
        """Keep the senders busy until `stop`: lease more as soon as one is free, else look every
        `scheduler_interval_seconds` (an idle look is one read: no write lock)."""
        interval = self.services.settings.scheduler_interval_seconds
        self._yields = True
        in_flight: set[Future[None]] = set()
        while not stop.is_set():
            activity.wait_quiet(YIELD_SECONDS, stop)
            try:
                in_flight.update(self.poll() if self._due() else [])
            except Exception:  # the loop must survive a database restart
                log.exception("notification mail poll failed")
            in_flight = {f for f in in_flight if not f.done()}
            if in_flight:
                wait(in_flight, timeout=interval, return_when=FIRST_COMPLETED)
            else:
                stop.wait(interval)

    def _due(self) -> bool:
        with self._lock:
            if self._free <= 0:
                return False
        with self.services.db.query() as connection:
            return store.work_waiting(connection, self.services.clock())[1]

    def deliver_due(self) -> int:
        """Send every mail due now and wait for the attempts (tests, one-off runs); return how many were tried."""
        tried = 0
        while started := self.poll():
            wait(started)
            tried += len(started)
        return tried

    def close(self) -> None:
        """Stop taking mails; attempts under way end within their deadline."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _release(self, _: Future[None]) -> None:
        with self._lock:
            self._free += 1

    def _take(self, limit: int) -> list[Outgoing]:
        """Lease due mails (one short write transaction) and compose them (after it: no lock held meanwhile)."""
        leased = []
        with self.services.db.write() as session:
            now = self.services.clock()
            mails = store.lease_mails(session, now, self.lease, limit)
            people = {u.username: u for u in users_store.by_usernames(session, [m.username for m in mails])}
            for row in mails:
                person = people.get(row.username)
                notes = _notes(session, row)
                reason = _undeliverable(person) or (None if notes else "nothing_to_send")
                if reason is not None or person is None or not person.email:
                    row.state, row.last_error = MailState.DROPPED, reason
                    continue
                leased.append((row.id, row.attempts, person.email, row.notification_id is None, notes))
        settings = self.services.settings
        out = []
        for mail_id, attempts, to, is_digest, notes in leased:
            compose = mail_text.digest if is_digest else mail_text.one
            message = compose(settings, mail_id, to, notes, now)
            out.append(Outgoing(mail_id, attempts, to, message.as_bytes(policy=email_policy.SMTP)))
        return out

    def _deliver(self, item: Outgoing) -> None:
        assert self.relay is not None
        if self._yields:
            activity.wait_quiet(YIELD_SECONDS)
        try:
            try:
                if smtp.send(self.relay, self.sender, item.to, item.payload, lambda: self._sending(item)):
                    self._move(item, (MailState.SENDING, MailState.UNKNOWN), state=MailState.SENT, last_error=None)
            except smtp.NotSent as err:
                self._retry(item, err.category, permanent=False)
            except smtp.Refused as err:
                self._retry(item, err.category, permanent=err.permanent)
            except smtp.Uncertain as err:
                self._move(item, (MailState.SENDING,), state=MailState.UNKNOWN, last_error=err.category)
        except Exception:  # a database error: a leased mail is tried again after its lease, a sending one is not
            log.exception("notification mail %s: recording the attempt failed", item.id)

    def _sending(self, item: Outgoing) -> bool:
        """The point of no return, committed before DATA; False if the lease is no longer ours."""
        now = self.services.clock()
        return self._move(item, (MailState.LEASED,), state=MailState.SENDING, next_attempt_at=now + self.lease)

    def _retry(self, item: Outgoing, category: str, permanent: bool) -> None:
        settings = self.services.settings
        now = self.services.clock()
        if permanent or item.attempts >= settings.mail_max_attempts:
            values: dict[str, Any] = {"state": MailState.FAILED}
        else:
            retry = now + backoff(item.attempts, settings.mail_backoff_seconds)
            values = {"state": MailState.PENDING, "next_attempt_at": retry}
        self._move(item, (MailState.LEASED, MailState.SENDING), last_error=category, **values)
        log.info("notification mail %s attempt %d failed: %s", item.id, item.attempts, category)

    def _move(self, item: Outgoing, states: tuple[str, ...], **values: Any) -> bool:
        if values.get("state") == MailState.SENT:
            values["sent_at"] = self.services.clock()
        with self.services.db.write() as session:
            return store.move(session, item.id, item.attempts, states, values)


def _notes(session: Session, row: NotificationMail) -> list[Notification]:
    """What a mail carries: its one notification, or the notifications of its digest."""
    if row.notification_id is None:
        return store.in_digest(session, row.id)
    found = store.notification(session, row.notification_id)
    return [found] if found is not None else []


def _undeliverable(person: User | None) -> str | None:
    """Why a mail is not to be sent now (the person's address or choice changed since it was queued)."""
    if person is None or not person.active:
        return "inactive_user"
    if not person.email:
        return "no_address"
    if person.email_notifications == EmailMode.OFF:
        return "email_off"
    return None
