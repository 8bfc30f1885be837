"""Wake long-polling external-task fetches of this service process when a task of their topic is created.

A transaction that creates external tasks names their topics (`created`); when it commits, every fetch of
this process waiting on one of those topics is woken through its event loop. Waiters hold an `asyncio.Event`
only: no thread and no database connection. On PostgreSQL the topics are also sent with NOTIFY, and each
service process LISTENs (`listen`, one connection per process) so that fetches waiting in other processes and
replicas wake as well. Tasks that become free without being created (an expired lock, a retry timeout) are
found by the waiters' own short poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from mso_flow.store import notify as notify_store

_KEY = "mso_flow.created_topics"
CHANNEL = "mso_flow_external_tasks"


class TopicSignal:
    """Waiting fetches by topic; `notify` may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    @contextmanager
    def waiting(self, topics: Iterable[str]) -> Iterator[asyncio.Event]:
        """An event set when a task of one of `topics` is committed (call from a running event loop)."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        names = set(topics)
        with self._lock:
            for name in names:
                self._waiters.setdefault(name, set()).add(waiter)
        try:
            yield waiter[1]
        finally:
            with self._lock:
                for name in names:
                    waiters = self._waiters.get(name)
                    if waiters is not None:
                        waiters.discard(waiter)
                        if not waiters:
                            del self._waiters[name]

    def notify(self, topics: Iterable[str]) -> None:
        with self._lock:
            waiters = {w for name in topics for w in self._waiters.get(name, ())}
        for loop, ready in waiters:
            with contextlib.suppress(RuntimeError):  # the waiter's loop closed meanwhile
                loop.call_soon_threadsafe(ready.set)


SIGNAL = TopicSignal()


def created(session: Session, topics: Iterable[str]) -> None:
    """Remember that this transaction creates external tasks of `topics`; waiters wake when it commits."""
    names = set(topics)
    if not names:
        return
    session.info.setdefault(_KEY, set()).update(names)
    notify_store.notify(session, CHANNEL, json.dumps(sorted(names), ensure_ascii=False))


def _notified(payload: str) -> None:
    try:
        topics = json.loads(payload)
    except ValueError:  # cut at PostgreSQL's payload limit: wake nobody, the short poll finds the tasks
        return
    SIGNAL.notify(topics)


def listen(database_url: str) -> notify_store.Listener | None:
    """Wake this process's waiting fetches when another process or replica creates tasks (PostgreSQL only)."""
    if not database_url.startswith("postgresql"):
        return None
    return notify_store.Listener(database_url, CHANNEL, _notified).start()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    topics = session.info.pop(_KEY, None)
    if topics:
        SIGNAL.notify(topics)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
