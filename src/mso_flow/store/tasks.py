"""Human tasks and their candidate roles; every list query reads indexed columns only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session

from mso_flow.domain import TaskState
from mso_flow.store.models import HumanTask, TaskCandidate
from mso_flow.store.paging import page

OPEN = TaskState.OPEN


def get(session: Session, task_id: str, refresh: bool = False) -> HumanTask | None:
    stmt = select(HumanTask).where(HumanTask.id == task_id)
    if refresh:
        stmt = stmt.execution_options(populate_existing=True)
    return session.scalar(stmt)


_TASKS = cast(Table, HumanTask.__table__)
_CANDIDATES = cast(Table, TaskCandidate.__table__)
_TASK_COLUMNS = [c.key for c in _TASKS.columns]
# the hot path's statements, built once (Table-level Core: no ORM unit of work, no autoflush)
_INSERT_TASKS = insert(_TASKS)
_INSERT_CANDIDATES = insert(_CANDIDATES)
_SET_CANDIDATE_ASSIGNEE = (
    update(_CANDIDATES).where(_CANDIDATES.c.task_id == bindparam("t_id")).values(assignee=bindparam("assignee"))
)
_DROP_CANDIDATES = delete(_CANDIDATES).where(_CANDIDATES.c.task_id == bindparam("t_id"))


def add_many(session: Session, tasks: list[HumanTask]) -> None:
    """Insert new open tasks and a candidate row per role (one statement per table, outside the unit of work;
    the objects stay transient, for the caller's response)."""
    if not tasks:
        return
    connection = session.connection()
    connection.execute(_INSERT_TASKS, [{k: getattr(t, k) for k in _TASK_COLUMNS} for t in tasks])
    candidates = [
        {"task_id": t.id, "role": r, "due_at": t.due_at, "assignee": t.assignee}
        for t in tasks
        for r in t.candidate_roles
    ]
    if candidates:
        connection.execute(_INSERT_CANDIDATES, candidates)


def set_assignee(session: Session, task: HumanTask, username: str | None) -> None:
    """Give a loaded task to `username` (None: back to the pool), keeping its candidate rows in step (the task's
    own row is written when the command ends: `store/rows.py`)."""
    task.assignee = username
    session.connection().execute(_SET_CANDIDATE_ASSIGNEE, {"t_id": task.id, "assignee": username})


def finish(session: Session, task: HumanTask, state: str, at: datetime, by: str | None) -> None:
    """Close a loaded task (completed or cancelled) and drop its candidate rows."""
    task.state = state
    task.completed_at = at
    task.completed_by = by
    session.connection().execute(_DROP_CANDIDATES, {"t_id": task.id})


def cancel(session: Session, task_ids: list[str], at: datetime, by: str | None) -> None:
    """Cancel open tasks by id (two statements for any number) without loading them."""
    if not task_ids:
        return
    session.execute(
        update(HumanTask)
        .where(HumanTask.id.in_(task_ids), HumanTask.state == OPEN)
        .values(state=TaskState.CANCELLED, completed_at=at, completed_by=by, version=HumanTask.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(TaskCandidate).where(TaskCandidate.task_id.in_(task_ids)))


def by_ids(session: Session, task_ids: list[str]) -> list[HumanTask]:
    if not task_ids:
        return []
    stmt = select(HumanTask).where(HumanTask.id.in_(task_ids)).execution_options(autoflush=False)
    return list(session.scalars(stmt.order_by(HumanTask.created_at, HumanTask.id)))


def open_for_instance(session: Session, instance_id: str) -> list[HumanTask]:
    stmt = select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == OPEN)
    return list(session.scalars(stmt.order_by(HumanTask.created_at, HumanTask.id)))


def of_instance(session: Session, instance_id: str) -> list[HumanTask]:
    """Every task the instance has had, open or closed."""
    stmt = select(HumanTask).where(HumanTask.instance_id == instance_id)
    return list(session.scalars(stmt.order_by(HumanTask.created_at, HumanTask.id)))


def of_instances(session: Session, instance_ids: list[str]) -> dict[str, list[HumanTask]]:
    """Every task of each instance, open or closed, in creation order (one query for a page of instances)."""
    found: dict[str, list[HumanTask]] = {}
    if instance_ids:
        stmt = select(HumanTask).where(HumanTask.instance_id.in_(instance_ids))
        for task in session.scalars(stmt.order_by(HumanTask.created_at, HumanTask.id)):
            found.setdefault(task.instance_id, []).append(task)
    return found


@dataclass
class TaskFilter:
    """What a task list asks for; `visible_to_roles` restricts to tasks the caller may see."""

    state: str | None = OPEN
    assignee: str | None = None
    candidate_role: str | None = None
    unassigned: bool | None = None
    definition_key: str | None = None
    instance_id: str | None = None
    due_before: datetime | None = None
    overdue_at: datetime | None = None
    workable_by: tuple[str, tuple[str, ...]] | None = None  # (username, roles): assigned or candidate
    element_id: str | None = None
    sort: str = "created_at"
    descending: bool = False


def _candidate_in(roles: tuple[str, ...]) -> ColumnElement[bool]:
    return exists().where(TaskCandidate.task_id == HumanTask.id, TaskCandidate.role.in_(roles))


def _workable(f: TaskFilter) -> Subquery:
    """(id, due_at) of the tasks a user holds or may work: unassigned candidates of their roles, from one
    partial index, plus their own tasks. Starting from these few rows instead of every open task keeps the
    inbox fast however much work other roles have (bench/inbox_query.py)."""
    assert f.workable_by is not None
    username, roles = f.workable_by
    pool = select(TaskCandidate.task_id.label("id"), TaskCandidate.due_at).where(
        TaskCandidate.role.in_(roles), TaskCandidate.assignee.is_(None)
    )
    own = select(HumanTask.id, HumanTask.due_at).where(
        HumanTask.assignee == username, *([HumanTask.state == f.state] if f.state else [])
    )
    return union(pool, own).subquery("workable")


def query(f: TaskFilter) -> Select[HumanTask]:
    """The SELECT for a task filter (shared by lists and counts)."""
    stmt = select(HumanTask)
    conditions: list[ColumnElement[bool]] = []
    if f.state:
        conditions.append(HumanTask.state == f.state)
    if f.assignee:
        conditions.append(HumanTask.assignee == f.assignee)
    if f.unassigned:
        conditions.append(HumanTask.assignee.is_(None))
    if f.candidate_role:
        conditions.append(_candidate_in((f.candidate_role,)))
    if f.definition_key:
        conditions.append(HumanTask.definition_key == f.definition_key)
    if f.instance_id:
        conditions.append(HumanTask.instance_id == f.instance_id)
    if f.element_id:
        conditions.append(HumanTask.element_id == f.element_id)
    if f.due_before:
        conditions.append(HumanTask.due_at < f.due_before)
    if f.overdue_at:
        conditions.append(and_(HumanTask.due_at < f.overdue_at, HumanTask.state == OPEN))
    columns: dict[str, Any] = {
        "due_at": HumanTask.due_at,
        "created_at": HumanTask.created_at,
        "name": HumanTask.name,
    }
    if f.workable_by:
        workable = _workable(f)
        stmt = stmt.join(workable, workable.c.id == HumanTask.id)
    return stmt.where(*conditions).order_by(*_ordering(columns[f.sort], HumanTask.id, f.descending))


def _ordering(column: Any, tiebreak: Any, descending: bool) -> list[Any]:
    return [column.is_(None), column.desc() if descending else column.asc(), tiebreak]


def _is_inbox(f: TaskFilter) -> bool:
    """The staff inbox: open work I hold or may work, by due date, with no other filter."""
    others = (
        f.assignee,
        f.candidate_role,
        f.unassigned,
        f.definition_key,
        f.instance_id,
        f.due_before,
        f.overdue_at,
        f.element_id,
    )
    return bool(f.workable_by) and f.state == OPEN and f.sort == "due_at" and not any(others)


def listing(session: Session, f: TaskFilter, offset: int, limit: int) -> tuple[list[HumanTask], int]:
    """A page of tasks and the total. The inbox is paged on the workable rows alone (index-only), then only
    the page's tasks are read: its cost depends on the caller's roles, not on the size of the table."""
    if not _is_inbox(f):
        return page(session, query(f), offset, limit)
    workable = _workable(f)
    ids = (
        select(workable.c.id, workable.c.due_at)
        .order_by(*_ordering(workable.c.due_at, workable.c.id, f.descending))
        .offset(offset)
        .limit(limit)
        .subquery("inbox_page")
    )
    stmt = select(HumanTask).join(ids, ids.c.id == HumanTask.id)
    items = list(session.scalars(stmt.order_by(*_ordering(ids.c.due_at, ids.c.id, f.descending))))
    total = session.scalar(select(func.count()).select_from(workable)) or 0
    return items, total


def counts_by_role(session: Session, roles: list[str], now: datetime) -> dict[str, tuple[int, int]]:
    """(open, overdue) open tasks per role, from the candidate index alone."""
    overdue = func.count().filter(TaskCandidate.due_at < now)
    stmt = (
        select(TaskCandidate.role, func.count(), overdue)
        .where(TaskCandidate.role.in_(roles))
        .group_by(TaskCandidate.role)
    )
    found = {role: (int(total), int(late)) for role, total, late in session.execute(stmt)}
    return {role: found.get(role, (0, 0)) for role in roles}


def element_states(session: Session, instance_id: str) -> list[tuple[str, str, int]]:
    """(element id, task state, number of tasks) of an instance, for its diagram."""
    stmt = (
        select(HumanTask.element_id, HumanTask.state, func.count())
        .where(HumanTask.instance_id == instance_id)
        .group_by(HumanTask.element_id, HumanTask.state)
    )
    return [(element, state, int(n)) for element, state, n in session.execute(stmt)]


def retarget_open(session: Session, instance_id: str, definition_id: str) -> None:
    """Point an instance's open tasks at another definition version (after a migration)."""
    session.execute(
        update(HumanTask)
        .where(HumanTask.instance_id == instance_id, HumanTask.state == OPEN)
        .values(definition_id=definition_id, version=HumanTask.version + 1)
        .execution_options(synchronize_session=False)
    )
