"""The definitions repository: a definition version's facts and its parsed SpiffWorkflow spec, read through the
caller's session and cached once per service process. A version is parsed with the files it was deployed with
(the processes its call activities call, the decisions its business rule tasks evaluate: `Bound`).

Definition versions never change once deployed, so each service process reads a version's facts and parses its
BPMN once. Two rules keep the cache true:
- every read goes through the session of the caller's transaction (a use case never opens a second session
  inside its write transaction);
- what a session reads or creates enters the cache only when that session's transaction commits, so a
  deployment that rolls back leaves nothing behind (its ids would otherwise be reused by the next deployment).
Within one transaction, what it read is kept on the session, so it is read and parsed once there too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from mso_flow.domain import ResourceKind
from mso_flow.engine.lane_roles import RoleMap, load_role_map
from mso_flow.engine.model import ProcessDef
from mso_flow.engine.parsing import ParsedProcess, Resource, parse_document
from mso_flow.store import definitions as store
from mso_flow.store.models import DecisionDefinition, ProcessDefinition

_PENDING = "mso_flow.definitions"


@dataclass(frozen=True)
class Definition:
    """An immutable definition version as use cases need it: identity and the process's facts."""

    id: str
    key: str
    version: int
    model: ProcessDef


class DefinitionNotFound(LookupError):
    """No definition version has this id (an instance's definition is never deleted, so a caller's bug)."""


class DefinitionRepository:
    """Definition versions by id: facts (`Definition`) and parsed specs (`ParsedProcess`)."""

    def __init__(self, roles_file: Path | None = None) -> None:
        self.roles_file = roles_file  # lane name → roles (the settings' roles file), read on first use
        self._roles: RoleMap | None = None
        self._definitions: dict[str, Definition] = {}
        self._specs: dict[str, ParsedProcess] = {}
        self._latest: dict[str, str] = {}  # key -> id of its latest version as last seen (a guess to check)
        self._lock = threading.Lock()

    @property
    def roles(self) -> RoleMap:
        """The roles of the lanes, from `roles_file` (read once; none: each lane is its own role)."""
        if self._roles is None:
            self._roles = load_role_map(self.roles_file)
        return self._roles

    def definition(self, session: Session, definition_id: str) -> Definition:
        """A definition version's facts, read with `session` unless cached."""
        found = self._definitions.get(definition_id) or self._pending(session)[0].get(definition_id)
        if found is not None:
            return found
        return self.of_row(session, _read(session, definition_id))

    def of_row(self, session: Session, row: ProcessDefinition) -> Definition:
        """The facts of a row the caller read anyway (cached when `session` commits)."""
        found = self._definitions.get(row.id)
        if found is None:
            found = Definition(row.id, row.key, row.version, ProcessDef.from_dict(row.model))
            self._pending(session)[0][row.id] = found
        return found

    def model(self, row: ProcessDefinition) -> ProcessDef:
        """The facts of a committed row, outside any transaction (views of rows a use case returned)."""
        found = self._definitions.get(row.id)
        if found is None:
            found = Definition(row.id, row.key, row.version, ProcessDef.from_dict(row.model))
            with self._lock:
                self._definitions[row.id] = found
        return found.model

    def process(self, session: Session, definition_id: str) -> ParsedProcess:
        """A definition version's parsed spec, parsed once (cached when `session` commits)."""
        found = self._specs.get(definition_id) or self._pending(session)[1].get(definition_id)
        if found is not None:
            return found
        row = _read(session, definition_id)
        resolver = Bound(session, row.resources or [])
        parsed = next(
            p for p in parse_document(bytes(row.bpmn_xml), row.id, self.roles, resolver) if p.definition.key == row.key
        )
        self._pending(session)[1][definition_id] = parsed
        return parsed

    def cached(self, definition_id: str) -> Definition | None:
        """A committed definition version's facts when this process holds them (no session needed)."""
        return self._definitions.get(definition_id)

    def latest_guess(self, key: str) -> Definition | None:
        """The version of `key` last seen as its latest, when cached: a guess the caller must confirm in its
        write transaction (another process may have deployed a newer one since)."""
        found = self._latest.get(key)
        return self._definitions.get(found) if found else None

    def seen_latest(self, key: str, definition_id: str | None) -> None:
        """Remember (or, with None, forget) the latest version of `key`."""
        with self._lock:
            if definition_id is None:
                self._latest.pop(key, None)
            else:
                self._latest[key] = definition_id

    def created(self, session: Session, row: ProcessDefinition, parsed: ParsedProcess) -> None:
        """A version this transaction deployed: cached, already parsed, if and when it commits."""
        definitions, specs = self._pending(session)
        definitions[row.id] = Definition(row.id, row.key, row.version, parsed.definition)
        specs[row.id] = parsed

    def _pending(self, session: Session) -> tuple[dict[str, Definition], dict[str, ParsedProcess]]:
        pending: tuple[dict[str, Definition], dict[str, ParsedProcess]] | None = session.info.get(_PENDING)
        if pending is None:
            pending = ({}, {})
            session.info[_PENDING] = pending
            event.listen(session, "after_commit", self._publish, once=True)
            event.listen(session, "after_rollback", _forget, once=True)
        return pending

    def _publish(self, session: Session) -> None:
        definitions, specs = session.info.pop(_PENDING, ({}, {}))
        with self._lock:
            self._definitions.update(definitions)
            self._specs.update(specs)


def process_resource(row: ProcessDefinition, key: str) -> Resource:
    """A deployed process version as a file another document is parsed with."""
    return Resource(ResourceKind.BPMN, key, row.file_name, bytes(row.bpmn_xml), row.id)


def decision_resource(row: DecisionDefinition, key: str) -> Resource:
    """A deployed decision version as a file a document is parsed with."""
    return Resource(ResourceKind.DMN, key, row.file_name, bytes(row.dmn_xml), row.id)


class Bound:
    """The files a definition version was parsed with at its deployment (`ProcessDefinition.resources`), read
    through the caller's session, so the version is parsed again exactly as deployed (`engine.parsing.Resolver`)."""

    def __init__(self, session: Session, resources: list[dict[str, str]]):
        self.session = session
        self.ids = {(ResourceKind(r["kind"]), r["key"]): r["id"] for r in resources}

    def resolve(self, kind: ResourceKind, key: str) -> Resource | None:
        found = self.ids.get((kind, key))
        if found is None:
            return None
        if kind == ResourceKind.DMN:
            decision = store.decision_by_id(self.session, found)
            return decision_resource(decision, key) if decision is not None else None
        row = store.by_id(self.session, found)
        return process_resource(row, key) if row is not None else None


def _read(session: Session, definition_id: str) -> ProcessDefinition:
    row = store.by_id(session, definition_id)
    if row is None:
        raise DefinitionNotFound(definition_id)
    return row


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_PENDING, None)
