"""What instances wait for: timers (fired by the scheduler) and messages (correlated by name and business key)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from mso_flow.domain import TimerKind, TimerState
from mso_flow.store.models import MessageWait, ProcessDefinition, ProcessInstance, Timer

WAITING = TimerState.WAITING


def sync_timers(
    session: Session,
    instance: ProcessInstance,
    timers: Iterable[tuple[str, str, datetime]],
    now: datetime,
) -> None:
    """Make the instance's waiting timer rows match the engine's (task id, element id, due at)."""
    wanted = {task_id: (element_id, due_at) for task_id, element_id, due_at in timers}
    stored = set(session.scalars(select(Timer.id).where(Timer.instance_id == instance.id, Timer.state == WAITING)))
    gone = stored - wanted.keys()
    if gone:
        session.execute(
            update(Timer)
            .where(Timer.id.in_(gone))
            .values(state=TimerState.CANCELLED)
            .execution_options(synchronize_session=False)
        )
    closed = wanted.keys() - stored
    if closed:  # a timer that failed (or a cycle that fired) and waits again under the same task id
        for row in session.scalars(select(Timer).where(Timer.id.in_(closed))):
            row.state, row.due_at, row.fired_at = WAITING, wanted[row.id][1], None
            stored.add(row.id)
    new = [
        {
            "id": task_id,
            "instance_id": instance.id,
            "definition_id": instance.definition_id,
            "element_id": element_id,
            "kind": TimerKind.EVENT,
            "due_at": due_at,
            "state": WAITING,
            "created_at": now,
        }
        for task_id, (element_id, due_at) in wanted.items()
        if task_id not in stored
    ]
    if new:
        session.execute(insert(Timer), new)


def sync_messages(session: Session, instance: ProcessInstance, names: Iterable[str]) -> None:
    """Make the instance's message waits match the names its engine state waits for."""
    session.execute(delete(MessageWait).where(MessageWait.instance_id == instance.id))
    rows = [{"instance_id": instance.id, "name": n, "business_key": instance.business_key} for n in names]
    if rows:
        session.execute(insert(MessageWait), rows)


def due_instances(session: Session, now: datetime, limit: int) -> list[str]:
    """Instances with a waiting timer due by `now`, earliest first (no locks: the firing transaction locks)."""
    stmt = (
        select(Timer.instance_id, func.min(Timer.due_at).label("due"))
        .where(Timer.state == WAITING, Timer.due_at <= now, Timer.instance_id.is_not(None))
        .group_by(Timer.instance_id)
        .order_by("due")
        .limit(limit)
    )
    return [row.instance_id for row in session.execute(stmt)]


def lock_due(session: Session, instance_id: str, now: datetime) -> list[Timer]:
    """The instance's due waiting timers, locked; call with the instance row already locked."""
    stmt = (
        select(Timer)
        .where(Timer.instance_id == instance_id, Timer.state == WAITING, Timer.due_at <= now)
        .with_for_update()
    )
    return list(session.scalars(stmt))


def mark(session: Session, timer_ids: list[str], state: str, now: datetime) -> None:
    """Close waiting timers as `fired` (or `failed`)."""
    session.execute(
        update(Timer)
        .where(Timer.id.in_(timer_ids), Timer.state == WAITING)
        .values(state=state, fired_at=now)
        .execution_options(synchronize_session=False)
    )


def waiting_instances(session: Session, name: str, business_key: str) -> list[str]:
    """Ids of the instances that wait for message `name` under `business_key`."""
    stmt = select(MessageWait.instance_id).where(MessageWait.name == name, MessageWait.business_key == business_key)
    return sorted(set(session.scalars(stmt)))


def timers_of(session: Session, instance_id: str) -> list[Timer]:
    return list(session.scalars(select(Timer).where(Timer.instance_id == instance_id).order_by(Timer.created_at)))


def is_waiting(session: Session, instance_id: str, name: str) -> bool:
    stmt = select(MessageWait.id).where(MessageWait.instance_id == instance_id, MessageWait.name == name).limit(1)
    return session.scalar(stmt) is not None


START = TimerKind.START


def schedule_start_timers(
    session: Session, key: str, definition_id: str, firings: list[tuple[str, datetime]], now: datetime
) -> None:
    """A new version of process `key` replaces the waiting start timers of its older versions with its own."""
    older = select(ProcessDefinition.id).where(ProcessDefinition.key == key, ProcessDefinition.id != definition_id)
    session.execute(
        update(Timer)
        .where(Timer.kind == START, Timer.state == WAITING, Timer.definition_id.in_(older))
        .values(state=TimerState.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    for element_id, due_at in firings:
        add_start_timer(session, definition_id, element_id, due_at, now)


def add_start_timer(session: Session, definition_id: str, element_id: str, due_at: datetime, now: datetime) -> None:
    session.execute(
        insert(Timer),
        [
            {
                "id": str(uuid.uuid4()),
                "instance_id": None,
                "definition_id": definition_id,
                "element_id": element_id,
                "kind": START,
                "due_at": due_at,
                "state": WAITING,
                "created_at": now,
            }
        ],
    )
