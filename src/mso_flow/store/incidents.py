"""Incidents: a process error on an instance (or at a start) waiting for an administrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from mso_flow.store.models import Base, ExternalTask, Timer

OPEN = "open"
RESOLVED = "resolved"
STATES = (OPEN, RESOLVED)


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_state_created_at", "state", "created_at"),
        Index("ix_incident_definition_key", "definition_key"),
        Index("ix_incident_instance_id", "instance_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(String(36))
    definition_id: Mapped[str] = mapped_column(String(100))
    definition_key: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(200))
    element_id: Mapped[str | None] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    message_th: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    variables: Mapped[list[str]]
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    retries: Mapped[int] = mapped_column(default=0)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(Text)


@dataclass
class IncidentFilter:
    key: str | None = None
    unit: str | None = None
    state: str | None = None
    instance_id: str | None = None


def add(session: Session, incident: Incident) -> None:
    session.add(incident)
    session.flush()


def get(session: Session, incident_id: str) -> Incident | None:
    return session.get(Incident, incident_id)


def lock(session: Session, incident_id: str) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())


def open_of(session: Session, instance_id: str, kind: str) -> list[Incident]:
    """The open incidents of one kind of an instance."""
    stmt = select(Incident).where(Incident.instance_id == instance_id, Incident.kind == kind, Incident.state == OPEN)
    return list(session.scalars(stmt))


def listing(session: Session, f: IncidentFilter, offset: int, limit: int) -> tuple[list[Incident], int]:
    """Incidents matching `f`, newest first, and how many match."""
    conditions: list[Any] = []
    if f.key:
        conditions.append(Incident.definition_key == f.key)
    if f.unit:
        conditions.append(Incident.unit == f.unit)
    if f.state:
        conditions.append(Incident.state == f.state)
    if f.instance_id:
        conditions.append(Incident.instance_id == f.instance_id)
    total = session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0
    stmt = select(Incident).where(*conditions).order_by(Incident.created_at.desc(), Incident.id)
    return list(session.scalars(stmt.offset(offset).limit(limit))), int(total)


def retried(session: Session, instance_id: str, now: datetime) -> None:
    """After a successful retry: the instance's failed timers have fired, its external tasks out of retries get
    one more attempt."""
    session.execute(
        update(Timer)
        .where(Timer.instance_id == instance_id, Timer.state == "failed")
        .values(state="fired", fired_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ExternalTask)
        .where(ExternalTask.instance_id == instance_id, ExternalTask.state == "open", ExternalTask.retries == 0)
        .values(retries=1, lock_expires_at=now, worker_id=None)
        .execution_options(synchronize_session=False)
    )
