"""The notification work of one service process, polled by `services/platform/loops.py`: fan out the outbox, scan due
dates and compose the day's digests (every `SCAN_EVERY`); the mails go out from the deliverer's own thread
(`delivery.MailDeliverer.run`). `run_once` does all of it to the end and waits for the mails (tests, one-off
runs).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mso_flow.services.notifications import delivery, digest, fanout, scanner
from mso_flow.services.notifications.delivery import MailDeliverer
from mso_flow.services.platform.context import Services
from mso_flow.store import notifications as store
from mso_flow.telemetry import activity

SCAN_EVERY = timedelta(seconds=60)


class NotificationLoop:
    def __init__(self, services: Services):
        self.services = services
        self.deliverer = MailDeliverer(services)
        self._next_scan: datetime | None = None

    def poll(self) -> int:
        """One round; how much it did (the caller polls again at once while there is work). Whether there is work
        is read first without a write lock, so an idle round costs the requests nothing on SQLite."""
        now = self.services.clock()
        with self.services.db.query() as connection:
            events, _ = store.work_waiting(connection, now)
        if events:
            activity.wait_quiet(delivery.YIELD_SECONDS)  # not urgent: after the requests in flight
        done = fanout.fan_out(self.services) if events else 0
        if self._next_scan is None or now >= self._next_scan:
            self._next_scan = now + SCAN_EVERY
            done += scanner.scan(self.services) + digest.compose(self.services)
        return done

    def close(self) -> None:
        self.deliverer.close()


def run_once(services: Services) -> int:
    """Fan out everything, scan, compose today's digests, send every due mail and wait; how many mails were tried."""
    while fanout.fan_out(services):
        pass
    scanner.scan(services)
    while fanout.fan_out(services):
        pass
    digest.compose(services)
    deliverer = MailDeliverer(services)
    try:
        return deliverer.deliver_due()
    finally:
        deliverer.close()
