"""PostgreSQL LISTEN/NOTIFY between service processes and replicas (a no-op on SQLite, a single process).

`notify` queues a payload on a channel inside the caller's transaction (PostgreSQL delivers it at commit);
`Listener` is a daemon thread with one dedicated connection that passes every payload of its channel to a
callback, reconnecting after errors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger("mso_flow.store.notify")
MAX_PAYLOAD = 7000  # PostgreSQL's limit is 8000 bytes


def notify(session: Session, channel: str, payload: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(channel, payload[:MAX_PAYLOAD])))


class Listener:
    """LISTEN on `channel` of the database at `url` until `stop()`; `on_payload` runs in the listener thread."""

    def __init__(self, url: str, channel: str, on_payload: Callable[[str], None], interval: float = 1.0):
        self._conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._channel = channel
        self._on_payload = on_payload
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen-{channel}", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f'LISTEN "{self._channel}"')
                    while not self._stopping.is_set():
                        for message in connection.notifies(timeout=self._interval):
                            self._on_payload(message.payload)
            except psycopg.Error:
                log.warning("LISTEN %s lost its connection; reconnecting", self._channel, exc_info=True)
                self._stopping.wait(self._interval)
