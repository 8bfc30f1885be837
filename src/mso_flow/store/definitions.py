"""Process definitions, decision definitions (DMN), their versions and deployments."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Select, Table, bindparam, func, or_, select
from sqlalchemy.orm import Session

from mso_flow.domain import DefinitionSource
from mso_flow.store.models import DecisionDefinition, Deployment, ProcessDefinition
from mso_flow.store.paging import page


def latest(session: Session, key: str) -> ProcessDefinition | None:
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key)
    return session.scalar(stmt.order_by(ProcessDefinition.version.desc()).limit(1))


_DEFINITIONS = cast(Table, ProcessDefinition.__table__)
_LATEST_ID = (
    select(_DEFINITIONS.c.id)
    .where(_DEFINITIONS.c.key == bindparam("key"))
    .order_by(_DEFINITIONS.c.version.desc())
    .limit(1)
)


def latest_id(session: Session, key: str) -> str | None:
    """The id of the latest version of `key` (one indexed read, built once; no ORM row)."""
    found: str | None = session.connection().execute(_LATEST_ID, {"key": key}).scalar()
    return found


def by_version(session: Session, key: str, version: int) -> ProcessDefinition | None:
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == version)
    return session.scalar(stmt)


def by_id(session: Session, definition_id: str) -> ProcessDefinition | None:
    return session.get(ProcessDefinition, definition_id)


def _latest_versions() -> Select[ProcessDefinition]:
    newest = (
        select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
        .group_by(ProcessDefinition.key)
        .subquery()
    )
    return select(ProcessDefinition).join(
        newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.version)
    )


def listing(
    session: Session,
    offset: int,
    limit: int,
    key: str | None = None,
    q: str | None = None,
    unit: str | None = None,
) -> tuple[list[ProcessDefinition], int]:
    """The latest version of each key, filtered by key, name text and unit."""
    stmt = _latest_versions()
    if key:
        stmt = stmt.where(ProcessDefinition.key == key)
    if q:
        pattern = f"%{q}%"
        stmt = stmt.where(or_(ProcessDefinition.name.like(pattern), ProcessDefinition.key.like(pattern)))
    if unit:
        stmt = stmt.where(ProcessDefinition.unit == unit)
    return page(session, stmt.order_by(ProcessDefinition.key), offset, limit)


def versions(session: Session, key: str, offset: int, limit: int) -> tuple[list[ProcessDefinition], int]:
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key)
    return page(session, stmt.order_by(ProcessDefinition.version.desc()), offset, limit)


def last_from_files(session: Session) -> dict[str, ProcessDefinition]:
    """The last version deployed from each file of the `bpmn/` directory, by file name (relative path)."""
    newest = (
        select(ProcessDefinition.file_name, func.max(ProcessDefinition.deployed_at).label("at"))
        .where(ProcessDefinition.source == DefinitionSource.FILE)
        .group_by(ProcessDefinition.file_name)
        .subquery()
    )
    stmt = select(ProcessDefinition).join(
        newest, (ProcessDefinition.file_name == newest.c.file_name) & (ProcessDefinition.deployed_at == newest.c.at)
    )
    rows = session.scalars(
        stmt.where(ProcessDefinition.source == DefinitionSource.FILE).order_by(ProcessDefinition.version)
    )
    return {row.file_name: row for row in rows}


def last_decisions_from_files(session: Session) -> dict[str, DecisionDefinition]:
    """The last decision version deployed from each `.dmn` file of the `bpmn/` directory, by file name."""
    rows = session.scalars(
        select(DecisionDefinition)
        .where(DecisionDefinition.source == DefinitionSource.FILE)
        .order_by(DecisionDefinition.deployed_at, DecisionDefinition.version)
    )
    return {row.file_name: row for row in rows}


def latest_by_keys(session: Session, keys: list[str]) -> dict[str, ProcessDefinition]:
    """The latest version of each of `keys` that is deployed."""
    rows = session.scalars(_latest_versions().where(ProcessDefinition.key.in_(keys)))
    return {row.key: row for row in rows}


def count_keys(session: Session) -> int:
    return session.scalar(select(func.count(func.distinct(ProcessDefinition.key)))) or 0


def add_deployment(session: Session, deployment: Deployment) -> None:
    session.add(deployment)
    session.flush()


def add(session: Session, definition: ProcessDefinition) -> None:
    session.add(definition)
    session.flush()


def latest_start_messages(session: Session) -> list[tuple[str, str, list[str]]]:
    """(definition id, key, message names of its start events) of every latest version."""
    rows = session.execute(
        _latest_versions().with_only_columns(ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.model)
    )
    return [(row.id, row.key, list(row.model.get("start_messages", []))) for row in rows]


def latest_ids(session: Session) -> list[str]:
    """The id of the latest version of every key, by key."""
    stmt = _latest_versions().with_only_columns(ProcessDefinition.id).order_by(ProcessDefinition.key)
    return list(session.scalars(stmt))


def query(
    session: Session,
    offset: int,
    limit: int,
    key: str | None = None,
    latest_only: bool = False,
    deployment_id: str | None = None,
    definition_id: str | None = None,
) -> tuple[list[ProcessDefinition], int]:
    """Definition versions (every version, or the latest of each key), by key, deployment or id."""
    stmt = _latest_versions() if latest_only else select(ProcessDefinition)
    if key:
        stmt = stmt.where(ProcessDefinition.key == key)
    if deployment_id:
        stmt = stmt.where(ProcessDefinition.deployment_id == deployment_id)
    if definition_id:
        stmt = stmt.where(ProcessDefinition.id == definition_id)
    return page(session, stmt.order_by(ProcessDefinition.key, ProcessDefinition.version), offset, limit)


def deployment(session: Session, deployment_id: str) -> Deployment | None:
    return session.get(Deployment, deployment_id)


def deployments(
    session: Session, offset: int, limit: int, name: str | None = None, source: str | None = None
) -> tuple[list[Deployment], int]:
    """Deployments, newest first, by name and source."""
    stmt = select(Deployment)
    if name:
        stmt = stmt.where(Deployment.name == name)
    if source:
        stmt = stmt.where(Deployment.source == source)
    return page(session, stmt.order_by(Deployment.deployed_at.desc(), Deployment.id), offset, limit)


# --- decisions ---------------------------------------------------------------------------------------------------


def latest_decision(session: Session, key: str) -> DecisionDefinition | None:
    stmt = select(DecisionDefinition).where(DecisionDefinition.key == key)
    return session.scalar(stmt.order_by(DecisionDefinition.version.desc()).limit(1))


def decision_by_id(session: Session, decision_id: str) -> DecisionDefinition | None:
    return session.get(DecisionDefinition, decision_id)


def add_decision(session: Session, decision: DecisionDefinition) -> None:
    session.add(decision)
    session.flush()


def decisions(
    session: Session, offset: int, limit: int, deployment_id: str | None = None
) -> tuple[list[DecisionDefinition], int]:
    """The latest version of each decision, by key (every version a deployment created, with `deployment_id`)."""
    if deployment_id:
        stmt = select(DecisionDefinition).where(DecisionDefinition.deployment_id == deployment_id)
    else:
        newest = (
            select(DecisionDefinition.key, func.max(DecisionDefinition.version).label("version"))
            .group_by(DecisionDefinition.key)
            .subquery()
        )
        stmt = select(DecisionDefinition).join(
            newest, (DecisionDefinition.key == newest.c.key) & (DecisionDefinition.version == newest.c.version)
        )
    return page(session, stmt.order_by(DecisionDefinition.key, DecisionDefinition.version), offset, limit)
