"""Whether anyone could be told of a new task: the roles held by some active user, cached per service process.

The request path asks `holds_any` before writing an outbox row for a new task, so a process whose roles nobody
holds pays no statement at all. The set is re-read (one statement in the caller's transaction) at most every
`ttl` seconds, and at once after this process changed a user; a role granted through another replica reaches the
gate at most `ttl` seconds later (a task created in between tells nobody; the person still sees it in the inbox).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from mso_flow.store import users as users_store

PERSONAL_PREFIX = "user:"  # services/tasks/candidates.py: a named user's own role, held by that user


class Audience:
    """The roles some active user holds, re-read at most every `ttl` seconds."""

    def __init__(self, ttl: float = 5.0):
        self.ttl = timedelta(seconds=ttl)
        self._held: frozenset[str] = frozenset()
        self._until: datetime | None = None
        self._lock = threading.Lock()

    def holds_any(self, session: Session, roles: Iterable[str], now: datetime) -> bool:
        """Whether an active user may hold one of `roles` (a personal role `user:<name>` always may)."""
        wanted = list(roles)
        if any(r.startswith(PERSONAL_PREFIX) for r in wanted):
            return True
        with self._lock:
            stale = self._until is None or now >= self._until
        if stale:
            held = frozenset(users_store.held_roles(session.connection()))
            with self._lock:
                self._held, self._until = held, now + self.ttl
        return not self._held.isdisjoint(wanted)

    def invalidate(self) -> None:
        with self._lock:
            self._until = None
