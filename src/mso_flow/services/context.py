"""The dependencies every use case needs, built once per service process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from mso_flow.engine import limits
from mso_flow.engine.model import ProcessDef
from mso_flow.engine.parsing import ParsedProcess
from mso_flow.engine.runtime import ProcessRuntime
from mso_flow.services.calendar import WorkingCalendar
from mso_flow.settings import Settings
from mso_flow.store import definitions as definitions_store
from mso_flow.store import webhooks as webhooks_store
from mso_flow.store.db import Database
from mso_flow.store.models import ProcessDefinition, Webhook


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Caller:
    """Who is asking: a username and the roles of their token."""

    username: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has_any(self, roles: object) -> bool:
        return self.is_admin or bool(self.roles.intersection(roles))  # type: ignore[arg-type]


SYSTEM = Caller("system", frozenset({"admin"}))


class TokenCache:
    """Recently authenticated tokens (by hash), so most requests check their token without a query.

    A change of a user's roles takes effect within `ttl` seconds.
    """

    def __init__(self, ttl: float = 10.0, size: int = 10_000):
        self.ttl = timedelta(seconds=ttl)
        self.size = size
        self._entries: dict[str, tuple[Caller, datetime]] = {}

    def get(self, token_hash: str, now: datetime) -> Caller | None:
        entry = self._entries.get(token_hash)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    def put(self, token_hash: str, caller: Caller, now: datetime) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[token_hash] = (caller, now + self.ttl)


class SubscriptionCache:
    """The active webhook subscriptions, re-read at most every `ttl` seconds (and at once after a change made
    by this process): recording an instance's events then costs no extra query. A subscription made through
    another service process receives events from at most `ttl` seconds after it was made."""

    def __init__(self, ttl: float = 1.0):
        self.ttl = timedelta(seconds=ttl)
        self._hooks: list[Webhook] = []
        self._until: datetime | None = None

    def get(self, session: Session, now: datetime) -> list[Webhook]:
        if self._until is None or now >= self._until:
            self._hooks = webhooks_store.active(session)
            self._until = now + self.ttl
        return self._hooks

    def invalidate(self) -> None:
        self._until = None


@dataclass(frozen=True)
class Definition:
    """An immutable definition version as use cases need it: identity and the process's facts."""

    id: str
    key: str
    version: int
    model: ProcessDef


@dataclass
class Services:
    """Database, engine runtime, working calendar, clock and the per-process caches of definitions.

    Definition versions never change once deployed, so each service process reads a version's facts and parses
    its BPMN once, then serves every request from memory.
    """

    settings: Settings
    db: Database
    runtime: ProcessRuntime = field(default_factory=ProcessRuntime)
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    clock: Callable[[], datetime] = utcnow
    token_cache: TokenCache = field(default_factory=TokenCache)
    subscriptions: SubscriptionCache = field(default_factory=SubscriptionCache)
    _definitions: dict[str, Definition] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """The services of one service process: its database pool and its working calendar."""
        limits.configure(
            limits.Budget(
                cpu_seconds=settings.expression_cpu_seconds,
                wall_seconds=settings.expression_wall_seconds,
                memory_mb=settings.expression_memory_mb,
                max_result_bytes=settings.max_variables_bytes,
                engine_seconds=settings.engine_command_seconds,
            )
        )
        return cls(
            settings=settings,
            db=Database(settings.database_url, settings.db_pool_size),
            calendar=WorkingCalendar.from_file(settings.holidays_file),
        )

    def model(self, row: ProcessDefinition) -> ProcessDef:
        """The deployable facts of a definition row."""
        return self.remember(row).model

    def remember(self, row: ProcessDefinition) -> Definition:
        """Cache a definition row that was read anyway."""
        cached = self._definitions.get(row.id)
        if cached is None:
            cached = Definition(row.id, row.key, row.version, ProcessDef.from_dict(row.model))
            with self._lock:
                self._definitions[row.id] = cached
        return cached

    def definition(self, definition_id: str) -> Definition:
        """A definition version by id, read from the database once per service process."""
        cached = self._definitions.get(definition_id)
        if cached is not None:
            return cached
        with self.db.read() as session:
            row = definitions_store.by_id(session, definition_id)
            if row is None:
                raise LookupError(definition_id)
            return self.remember(row)

    def process(self, definition_id: str) -> ParsedProcess:
        """The parsed SpiffWorkflow spec of a definition version (parsed once per service process)."""

        def load() -> bytes:
            with self.db.read() as session:
                row = definitions_store.by_id(session, definition_id)
                if row is None:
                    raise LookupError(definition_id)
                return bytes(row.bpmn_xml)

        return self.runtime.specs.get(definition_id, self.definition(definition_id).key, load)
