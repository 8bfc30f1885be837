"""The dependencies every use case needs, built once per service process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mso_flow.engine.model import ProcessDef
from mso_flow.engine.parsing import ParsedProcess
from mso_flow.engine.runtime import ProcessRuntime
from mso_flow.services.calendar import WorkingCalendar
from mso_flow.settings import Settings
from mso_flow.store import definitions as definitions_store
from mso_flow.store.db import Database
from mso_flow.store.models import ProcessDefinition


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


@dataclass
class Services:
    """Database, engine runtime, working calendar, clock and the per-process caches of definitions."""

    settings: Settings
    db: Database
    runtime: ProcessRuntime = field(default_factory=ProcessRuntime)
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    clock: Callable[[], datetime] = utcnow
    _models: dict[str, ProcessDef] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def model(self, definition: ProcessDefinition) -> ProcessDef:
        """The deployable facts of a definition version (cached; definitions never change)."""
        cached = self._models.get(definition.id)
        if cached is None:
            cached = ProcessDef.from_dict(definition.model)
            with self._lock:
                self._models[definition.id] = cached
        return cached

    def process(self, definition: ProcessDefinition) -> ParsedProcess:
        """The parsed SpiffWorkflow spec of a definition version (parsed once per service process)."""
        return self.runtime.specs.get(definition.id, definition.key, lambda: bytes(definition.bpmn_xml))

    def process_by_id(self, definition_id: str) -> ParsedProcess:
        def load() -> bytes:
            with self.db.read() as session:
                found = definitions_store.by_id(session, definition_id)
                if found is None:
                    raise LookupError(definition_id)
                return bytes(found.bpmn_xml)

        return self.runtime.specs.get(definition_id, definition_id.rsplit(":", 1)[0], load)
