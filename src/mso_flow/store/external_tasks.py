"""External service tasks waiting for workers: one row per ready task, locked by one worker at a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, not_, or_, select, update
from sqlalchemy.orm import Session

from mso_flow.domain import ExternalTaskState
from mso_flow.store.models import ExternalTask, ProcessInstance
from mso_flow.store.paging import page

OPEN = ExternalTaskState.OPEN


def sync(
    session: Session, instance: ProcessInstance, ready: Iterable[tuple[str, str, str]], now: datetime
) -> list[str]:
    """Make the instance's open rows match the engine's ready external tasks (task id, element id, topic).
    Rows no longer ready are cancelled (e.g. by a boundary event); returns the ids of new rows."""
    wanted = {task_id: (element_id, topic) for task_id, element_id, topic in ready}
    stored = set(
        session.scalars(
            select(ExternalTask.id).where(ExternalTask.instance_id == instance.id, ExternalTask.state == OPEN)
        )
    )
    gone = stored - wanted.keys()
    if gone:
        session.execute(
            update(ExternalTask)
            .where(ExternalTask.id.in_(gone))
            .values(state=ExternalTaskState.CANCELLED, completed_at=now, worker_id=None, lock_expires_at=None)
            .execution_options(synchronize_session=False)
        )
    new = [task_id for task_id in wanted if task_id not in stored]
    session.add_all(
        ExternalTask(
            id=task_id,
            instance_id=instance.id,
            definition_id=instance.definition_id,
            element_id=wanted[task_id][0],
            topic=wanted[task_id][1],
            state=OPEN,
            created_at=now,
            version=1,
        )
        for task_id in new
    )
    return new


def lock_available(session: Session, topic: str, now: datetime, limit: int) -> list[ExternalTask]:
    """Open tasks of `topic` that no worker holds (never locked, or lock expired) and have retries left."""
    stmt = (
        select(ExternalTask)
        .where(
            ExternalTask.topic == topic,
            ExternalTask.state == OPEN,
            or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at <= now),
            or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0),
        )
        .order_by(ExternalTask.created_at, ExternalTask.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def get(session: Session, task_id: str) -> ExternalTask | None:
    return session.get(ExternalTask, task_id)


def lock_row(session: Session, task_id: str) -> ExternalTask | None:
    stmt = select(ExternalTask).where(ExternalTask.id == task_id).with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def listing(
    session: Session,
    now: datetime,
    offset: int,
    limit: int,
    topic: str | None = None,
    worker_id: str | None = None,
    instance_id: str | None = None,
    locked: bool | None = None,
    with_retries_left: bool | None = None,
    state: str | None = OPEN,
) -> tuple[list[ExternalTask], int]:
    """External tasks by topic, worker, instance, lock and retries, oldest first."""
    stmt = select(ExternalTask)
    if state:
        stmt = stmt.where(ExternalTask.state == state)
    if topic:
        stmt = stmt.where(ExternalTask.topic == topic)
    if worker_id:
        stmt = stmt.where(ExternalTask.worker_id == worker_id)
    if instance_id:
        stmt = stmt.where(ExternalTask.instance_id == instance_id)
    live_lock = and_(ExternalTask.worker_id.is_not(None), ExternalTask.lock_expires_at > now)
    if locked is True:
        stmt = stmt.where(live_lock)
    elif locked is False:
        stmt = stmt.where(not_(live_lock))
    has_retries = or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0)
    if with_retries_left is True:
        stmt = stmt.where(has_retries)
    elif with_retries_left is False:
        stmt = stmt.where(not_(has_retries))
    return page(session, stmt.order_by(ExternalTask.created_at, ExternalTask.id), offset, limit)


def any_available(session: Session, topics: list[str], now: datetime) -> bool:
    """Whether some task of `topics` is free to lock (a read, for waiting fetches)."""
    stmt = select(ExternalTask.id).where(
        ExternalTask.topic.in_(topics),
        ExternalTask.state == OPEN,
        or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at <= now),
        or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0),
    )
    return session.scalar(stmt.limit(1)) is not None
