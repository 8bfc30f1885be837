"""Process instances: their engine state, variables and lifecycle."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session, load_only, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from mso_flow.store import personal_data as keys_store
from mso_flow.store.models import ACTIVE_STATES, DataKey, HumanTask, ProcessInstance
from mso_flow.store.paging import page
from mso_flow.store.sqlalchemy_internals import new_unloaded

T = TypeVar("T")


def get(session: Session, instance_id: str) -> ProcessInstance | None:
    return session.get(ProcessInstance, instance_id)


def lock(session: Session, instance_id: str) -> ProcessInstance | None:
    """Load an instance and lock its row until the transaction ends (PostgreSQL; SQLite locks the database)."""
    stmt = (
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalar(stmt)


_INSTANCES = cast(Table, ProcessInstance.__table__)
_TASKS = cast(Table, HumanTask.__table__)
_KEYS = cast(Table, DataKey.__table__)
_SPLIT = len(_INSTANCES.c)
_TASK_END = _SPLIT + len(_TASKS.c)
# the hot path's locked read, built once: plain rows of both tables (FOR UPDATE locks both on PostgreSQL)
_LOCK_WITH_TASK = (
    select(*_INSTANCES.c, *_TASKS.c)
    .join_from(_INSTANCES, _TASKS, _TASKS.c.instance_id == _INSTANCES.c.id)
    .where(_TASKS.c.id == bindparam("task_id"))
    .with_for_update()
)
# SQLite's: the same and the instance's wrapped data key if it has one (an outer join: one statement fewer for a
# command on an instance whose data is sealed, which would read it next). SQLite only: there the transaction holds
# the database's write lock from its BEGIN IMMEDIATE, so the key read here is the key a later statement would read.
# On PostgreSQL a row-locking read that waited for a concurrent writer returns the locked rows' new versions but an
# outer-joined row as of the statement's start: an erasure committed meanwhile would go unseen, so the key is read
# by a statement of its own after the lock (`personal_data.wrapped_key`).
_LOCK_WITH_TASK_AND_KEY = (
    select(*_INSTANCES.c, *_TASKS.c, _KEYS.c.instance_id, _KEYS.c.master_key_id, _KEYS.c.wrapped_key)
    .join_from(_INSTANCES, _TASKS, _TASKS.c.instance_id == _INSTANCES.c.id)
    .outerjoin(_KEYS, _KEYS.c.instance_id == _INSTANCES.c.id)
    .where(_TASKS.c.id == bindparam("task_id"))
)


def _persistent(session: Session, cls: type[T], values: dict[str, Any]) -> T:
    """An object of `cls` for a row just read, attached to `session` as loaded (no ORM loading machinery)."""
    obj: T = new_unloaded(cls)
    instance_state(obj).dict.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def _instance_from(session: Session, row: Any) -> ProcessInstance:
    """The instance of a row of `select(*_INSTANCES.c, *_TASKS.c, …)` as the session's loaded object."""
    return _persistent(session, ProcessInstance, dict(zip(_INSTANCES.c.keys(), row[:_SPLIT], strict=True)))


def _task_from(session: Session, row: Any) -> HumanTask:
    """The task of such a row as the session's loaded object."""
    return _persistent(session, HumanTask, dict(zip(_TASKS.c.keys(), row[_SPLIT:_TASK_END], strict=True)))


def lock_with_task(session: Session, task_id: str) -> tuple[ProcessInstance, HumanTask] | None:
    """Read a task and its instance in one statement, locking both rows (PostgreSQL re-reads both once locked).

    In a session that holds no objects yet (every instance command's) the rows are read with a statement built
    once and become the session's objects directly (on SQLite the instance's wrapped data key is read with them and
    kept for the transaction: `personal_data.wrapped_key`); otherwise the ORM loads them, refreshing what it
    holds."""
    if not session.identity_map:
        connection = session.connection()
        with_key = connection.dialect.name == "sqlite"
        statement = _LOCK_WITH_TASK_AND_KEY if with_key else _LOCK_WITH_TASK
        row = connection.execute(statement, {"task_id": task_id}).first()
        if row is None:
            return None
        instance, task = _instance_from(session, row), _task_from(session, row)
        if with_key:
            keyed, master_id, wrapped = row[_TASK_END:]
            keys_store.remember_key(session, instance.id, keyed is not None, master_id, wrapped)
        return instance, task
    stmt = (
        select(ProcessInstance, HumanTask)
        .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
        .where(HumanTask.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    loaded = session.execute(stmt).first()
    return (loaded[0], loaded[1]) if loaded else None


def lock_many(session: Session, task_ids: list[str]) -> dict[str, tuple[ProcessInstance, HumanTask]]:
    """Lock several tasks and their instances: instances first, then tasks, each in id order (no deadlocks
    between two bulk operations)."""
    instance_ids = sorted(set(session.scalars(select(HumanTask.instance_id).where(HumanTask.id.in_(task_ids)))))
    locked = select(ProcessInstance).where(ProcessInstance.id.in_(instance_ids)).order_by(ProcessInstance.id)
    instances = {i.id: i for i in session.scalars(locked.with_for_update().execution_options(populate_existing=True))}
    tasks = select(HumanTask).where(HumanTask.id.in_(task_ids)).order_by(HumanTask.id)
    rows = session.scalars(tasks.with_for_update().execution_options(populate_existing=True))
    return {t.id: (instances[t.instance_id], t) for t in rows}


def active_by_business_key(session: Session, key: str, business_key: str) -> ProcessInstance | None:
    stmt = select(ProcessInstance).where(
        ProcessInstance.definition_key == key,
        ProcessInstance.business_key == business_key,
        ProcessInstance.state.in_(ACTIVE_STATES),
    )
    return session.scalar(stmt)


def add(session: Session, instance: ProcessInstance) -> None:
    session.add(instance)
    session.flush()


def listing(
    session: Session,
    offset: int,
    limit: int,
    key: str | None = None,
    state: str | None = None,
    business_key: str | None = None,
) -> tuple[list[ProcessInstance], int]:
    stmt = select(ProcessInstance)
    if key:
        stmt = stmt.where(ProcessInstance.definition_key == key)
    if state:
        stmt = stmt.where(ProcessInstance.state == state)
    if business_key:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    return page(session, stmt.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id), offset, limit)


def search(
    session: Session,
    offset: int,
    limit: int,
    keys: list[str] | None,
    state: str | None = None,
    business_key_part: str | None = None,
    started_from: datetime | None = None,
    started_before: datetime | None = None,
) -> tuple[list[ProcessInstance], int]:
    """Instances of these processes (`keys` None: of every process), newest first, whose business key contains
    `business_key_part` (LIKE wildcards in it are literal) and that started in [`started_from`, `started_before`)."""
    stmt = select(ProcessInstance)
    if keys is not None:
        stmt = stmt.where(ProcessInstance.definition_key.in_(keys))
    if state:
        stmt = stmt.where(ProcessInstance.state == state)
    if business_key_part:
        stmt = stmt.where(ProcessInstance.business_key.contains(business_key_part, autoescape=True))
    if started_from:
        stmt = stmt.where(ProcessInstance.started_at >= started_from)
    if started_before:
        stmt = stmt.where(ProcessInstance.started_at < started_before)
    return page(session, stmt.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id), offset, limit)


def business_keys(session: Session, instance_ids: list[str]) -> dict[str, str | None]:
    """The business key of each of these instances."""
    if not instance_ids:
        return {}
    rows = session.execute(
        select(ProcessInstance.id, ProcessInstance.business_key).where(ProcessInstance.id.in_(instance_ids))
    )
    return {instance_id: key for instance_id, key in rows}


def heads(session: Session, instance_ids: list[str]) -> dict[str, ProcessInstance]:
    """These instances by id, loaded without their engine state and variables (what a permission check reads)."""
    if not instance_ids:
        return {}
    stmt = (
        select(ProcessInstance)
        .where(ProcessInstance.id.in_(instance_ids))
        .options(load_only(ProcessInstance.id, ProcessInstance.started_by))
    )
    return {instance.id: instance for instance in session.scalars(stmt)}


# a query's read of tasks and their instance after a command, built once: plain rows of both tables, no lock
_WITH_TASKS = (
    select(*_INSTANCES.c, *_TASKS.c)
    .join_from(_INSTANCES, _TASKS, _TASKS.c.instance_id == _INSTANCES.c.id)
    .where(_TASKS.c.id.in_(bindparam("task_ids", expanding=True)))
)


def with_tasks(session: Session, task_ids: list[str]) -> tuple[ProcessInstance, dict[str, HumanTask]] | None:
    """Tasks of one instance and the instance, read in one statement (None: none of them exists).

    In a session that holds no objects yet (a query's read transaction) the rows become its objects directly;
    otherwise the ORM loads them."""
    if not session.identity_map:
        rows = session.connection().execute(_WITH_TASKS, {"task_ids": task_ids}).all()
        if not rows:
            return None
        instance = _instance_from(session, rows[0])
        tasks = [_task_from(session, r) for r in rows]
        return instance, {t.id: t for t in tasks}
    stmt = select(ProcessInstance, HumanTask).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
    found = session.execute(stmt.where(HumanTask.id.in_(task_ids))).all()
    return (found[0][0], {task.id: task for _, task in found}) if found else None
