"""The dependencies every use case needs, built once per service process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from mso_flow.domain import Role
from mso_flow.engine import budgets as limits
from mso_flow.engine.lane_roles import RoleMap
from mso_flow.engine.runtime import ProcessRuntime
from mso_flow.services.definitions.repository import Definition, DefinitionRepository
from mso_flow.services.notifications.audience import Audience
from mso_flow.services.platform.working_days import WorkingCalendar
from mso_flow.settings import Settings
from mso_flow.store import webhooks as webhooks_store
from mso_flow.store.db import Database
from mso_flow.store.models import Webhook

__all__ = ["SYSTEM", "Caller", "Definition", "Services", "SubscriptionCache", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Caller:
    """Who is asking: a username and the roles of their token. `operator` is someone at the service's host (the
    command line, start-up), never a bearer of a token or a browser session."""

    username: str
    roles: frozenset[str]
    operator: bool = False

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def has_any(self, roles: object) -> bool:
        return self.is_admin or bool(self.roles.intersection(roles))  # type: ignore[arg-type]


SYSTEM = Caller("system", frozenset({Role.ADMIN}), operator=True)


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


@dataclass
class Services:
    """Database, engine runtime, working calendar, clock, and the caches of one service process: tokens,
    webhook subscriptions, the definitions repository (the only cache of definitions and parsed specs) and the
    roles people hold (the notifications' gate)."""

    settings: Settings
    db: Database
    runtime: ProcessRuntime = field(default_factory=ProcessRuntime)
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    clock: Callable[[], datetime] = utcnow
    subscriptions: SubscriptionCache = field(default_factory=SubscriptionCache)
    definitions: DefinitionRepository = field(default_factory=DefinitionRepository)
    audience: Audience = field(default_factory=Audience)  # who could be told of a new task (notifications)

    def __post_init__(self) -> None:
        if self.definitions.roles_file is None:  # the lanes' roles: the roles file of these settings
            self.definitions.roles_file = self.settings.roles_file

    @property
    def reads_inline(self) -> bool:
        """Whether a one-row indexed read may run on the event loop: on SQLite it reads a local file (tens of µs;
        WAL readers never wait for writers), cheaper than a hand-off to the thread pool and back; a networked
        database keeps the hand-off."""
        return self.db.dialect == "sqlite"

    @property
    def role_map(self) -> RoleMap:
        """The roles file of the settings: lane name → the ministry's roles (`engine/lane_roles.py`)."""
        return self.definitions.roles

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

    def definition(self, definition_id: str) -> Definition:
        """A definition version by id, outside any transaction (inside one, use `definitions.definition`)."""
        cached = self.definitions.cached(definition_id)
        if cached is not None:
            return cached
        with self.db.read() as session:
            return self.definitions.definition(session, definition_id)
