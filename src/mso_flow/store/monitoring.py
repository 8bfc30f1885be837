"""The cheap aggregate queries a metrics scrape runs: open work, outbox backlog, timer lag, open incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import MetaData, Table, case, func, inspect, select
from sqlalchemy.orm import Session

from mso_flow.store import webhooks as webhooks_store
from mso_flow.store.models import Base, HumanTask, ProcessDefinition, TaskCandidate, Timer, WebhookDelivery
from mso_flow.store.waits import WAITING

INCIDENT_TABLES = ("incidents", "incident")


@dataclass(frozen=True)
class OpenWork:
    role: str
    unit: str
    open: int
    overdue: int


def open_work(session: Session, now: datetime) -> list[OpenWork]:
    """Open and overdue tasks per candidate role and unit (a task with two roles counts for each), from the
    candidate index, which holds open tasks only."""
    overdue = func.sum(case((TaskCandidate.due_at < now, 1), else_=0))
    stmt = (
        select(TaskCandidate.role, ProcessDefinition.unit, func.count(), overdue)
        .join(HumanTask, HumanTask.id == TaskCandidate.task_id)
        .join(ProcessDefinition, ProcessDefinition.id == HumanTask.definition_id)
        .group_by(TaskCandidate.role, ProcessDefinition.unit)
    )
    return [OpenWork(role, unit or "", int(n), int(late or 0)) for role, unit, n, late in session.execute(stmt)]


def outbox(session: Session) -> dict[str, int]:
    """Webhook deliveries waiting for an attempt and given up, by state."""
    states = (webhooks_store.PENDING, webhooks_store.FAILED)
    stmt = (
        select(WebhookDelivery.state, func.count())
        .where(WebhookDelivery.state.in_(states))
        .group_by(WebhookDelivery.state)
    )
    counts: dict[str, int] = {str(state): 0 for state in states}
    counts.update({state: int(n) for state, n in session.execute(stmt)})
    return counts


def oldest_due_timer(session: Session, now: datetime) -> datetime | None:
    """The due time of the oldest timer that is due and not yet fired (from the partial index of waiting timers)."""
    return session.scalar(select(func.min(Timer.due_at)).where(Timer.state == WAITING, Timer.due_at <= now))


def open_incidents(session: Session) -> int:
    """Open incidents, 0 while the database has no incident table. The table (added by the incidents feature)
    counts as open the rows whose `state` is 'open', or else whose `resolved_at` is null."""
    connection = session.connection()
    name = next((n for n in INCIDENT_TABLES if inspect(connection).has_table(n)), None)
    if name is None:
        return 0
    table = Base.metadata.tables.get(name)
    if table is None:
        table = Table(name, MetaData(), autoload_with=connection)
    stmt = select(func.count()).select_from(table)
    if "state" in table.c:
        stmt = stmt.where(table.c.state == "open")
    elif "resolved_at" in table.c:
        stmt = stmt.where(table.c.resolved_at.is_(None))
    return int(session.scalar(stmt) or 0)
