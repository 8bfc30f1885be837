"""Background loops: fire due timers every few seconds, deliver webhooks (an event loop of its own: see
`webhook_delivery`), fan out and mail notifications (`notifications/loop.py`), and erase personal data past
retention every `retention_sweep_seconds`. `serve` runs them in a background process of their own, apart from its
web workers (`mso_flow/background.py`).

Every replica may run them: timers are fired under the instance's row lock, deliveries and mails are leased and
the notification scans hold their schedule row's lock, so work is done once however many processes poll.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from mso_flow.services.integrations import timers
from mso_flow.services.integrations.webhook_delivery import Deliverer
from mso_flow.services.notifications.loop import NotificationLoop
from mso_flow.services.platform.context import Services
from mso_flow.services.privacy import officer as privacy

log = logging.getLogger(__name__)


class BackgroundLoops:
    """Daemon threads that poll until `stop()`."""

    def __init__(self, services: Services):
        self.services = services
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._notifications: NotificationLoop | None = None

    def start(self) -> None:
        self._spawn("mso-timers", lambda: timers.fire_due(self.services))
        sweep = self.services.settings.retention_sweep_seconds
        self._spawn("mso-retention", lambda: privacy.erase_expired(self.services), sweep)
        self._notifications = NotificationLoop(self.services)
        self._spawn("mso-notifications", self._notifications.poll)
        mail = threading.Thread(
            target=self._notifications.deliverer.run, args=(self._stop,), name="mso-mail", daemon=True
        )
        mail.start()
        self._threads.append(mail)
        deliverer = Deliverer(self.services)
        thread = threading.Thread(
            target=lambda: asyncio.run(deliverer.run(self._stop)), name="mso-webhooks", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        if self._notifications is not None:
            self._notifications.close()

    def _spawn(self, name: str, work: Callable[[], int], interval: float | None = None) -> None:
        every = interval or self.services.settings.scheduler_interval_seconds
        thread = threading.Thread(target=self._run, args=(name, work, every), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run(self, name: str, work: Callable[[], int], interval: float) -> None:
        """Poll `work`; what it does to an instance is logged with the instance id by `services.events`."""
        while not self._stop.is_set():
            try:
                done = work()
                busy = done > 0
                if busy:
                    log.debug("%s: %d done", name, done, extra={"loop": name, "done": done})
            except Exception:  # a loop must survive a database restart or a bad row
                log.exception("background work failed in %s", name, extra={"loop": name})
                busy = False
            if not busy:
                self._stop.wait(interval)
