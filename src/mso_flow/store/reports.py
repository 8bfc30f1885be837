"""KPI queries: durations of completed steps and instances with their median and p90, and open overdue tasks.

Percentiles are computed in SQL with window functions (the same statement on SQLite and PostgreSQL) and
interpolate linearly between ranks, like PostgreSQL's `percentile_cont`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from mso_flow.domain import InstanceState, TaskState
from mso_flow.store.models import HumanTask, ProcessDefinition, ProcessInstance, TaskCandidate


@dataclass(frozen=True)
class Period:
    """What a report covers: completions in [start, end), optionally one process or one unit."""

    start: datetime | None = None
    end: datetime | None = None
    key: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class DurationStats:
    key: str
    element_id: str | None
    count: int
    median_seconds: float
    p90_seconds: float
    on_time_ratio: float


def seconds_between(start: Any, end: Any, dialect: str) -> ColumnElement[float]:
    if dialect == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _percentile(rank: Any, count: Any, duration: Any, numerator: int, denominator: int) -> ColumnElement[float]:
    """percentile_cont(numerator / denominator) of `duration` within a group ranked by `rank` (1-based)."""
    low = (numerator * (count - 1)) // denominator
    at_low = func.sum(case((rank - 1 == low, duration), else_=0.0))
    at_high = func.sum(case((rank - 1 == low + 1, duration), else_=0.0))
    fraction = cast((numerator * (func.max(count) - 1)) % denominator, Float) / denominator
    return at_low + fraction * (at_high - at_low)


def _stats(session: Session, ranked: Select[Any], groups: list[str]) -> list[DurationStats]:
    sub = ranked.subquery()
    columns = [sub.c[g] for g in groups]
    stmt = select(
        *columns,
        func.max(sub.c.n),
        _percentile(sub.c.rn, sub.c.n, sub.c.d, 1, 2),
        _percentile(sub.c.rn, sub.c.n, sub.c.d, 9, 10),
        func.avg(cast(sub.c.ok, Float)),
    ).group_by(*columns)
    return [
        DurationStats(
            key=row[0],
            element_id=row[1] if len(groups) > 1 else None,
            count=int(row[-4]),
            median_seconds=float(row[-3]),
            p90_seconds=float(row[-2]),
            on_time_ratio=float(row[-1]),
        )
        for row in session.execute(stmt)
    ]


def _unit_filter(definition_id: Any, unit: str | None) -> list[ColumnElement[bool]]:
    if unit is None:
        return []
    units = select(ProcessDefinition.id).where(ProcessDefinition.unit == unit)
    return [definition_id.in_(units)]


def step_stats(session: Session, period: Period) -> list[DurationStats]:
    """Per process and step: completed tasks, median and p90 of created → completed, share done by due time."""
    duration = seconds_between(HumanTask.created_at, HumanTask.completed_at, session.get_bind().dialect.name)
    group = (HumanTask.definition_key, HumanTask.element_id)
    conditions = [HumanTask.state == TaskState.COMPLETED, *_unit_filter(HumanTask.definition_id, period.unit)]
    if period.key:
        conditions.append(HumanTask.definition_key == period.key)
    if period.start:
        conditions.append(HumanTask.completed_at >= period.start)
    if period.end:
        conditions.append(HumanTask.completed_at < period.end)
    on_time = case((or_(HumanTask.due_at.is_(None), HumanTask.completed_at <= HumanTask.due_at), 1), else_=0)
    ranked = select(
        HumanTask.definition_key.label("k"),
        HumanTask.element_id.label("e"),
        duration.label("d"),
        on_time.label("ok"),
        func.row_number().over(partition_by=group, order_by=duration).label("rn"),
        func.count().over(partition_by=group).label("n"),
    ).where(*conditions)
    return _stats(session, ranked, ["k", "e"])


def instance_stats(session: Session, period: Period) -> list[DurationStats]:
    """Per process: completed instances, median and p90 of start → end, share with every task on time."""
    pi = ProcessInstance
    duration = seconds_between(pi.started_at, pi.ended_at, session.get_bind().dialect.name)
    conditions = [pi.state == InstanceState.COMPLETED, *_unit_filter(pi.definition_id, period.unit)]
    if period.key:
        conditions.append(pi.definition_key == period.key)
    if period.start:
        conditions.append(pi.ended_at >= period.start)
    if period.end:
        conditions.append(pi.ended_at < period.end)
    late = exists().where(
        HumanTask.instance_id == pi.id,
        HumanTask.state == TaskState.COMPLETED,
        HumanTask.due_at.is_not(None),
        HumanTask.completed_at > HumanTask.due_at,
    )
    ranked = select(
        pi.definition_key.label("k"),
        duration.label("d"),
        case((late, 0), else_=1).label("ok"),
        func.row_number().over(partition_by=pi.definition_key, order_by=duration).label("rn"),
        func.count().over(partition_by=pi.definition_key).label("n"),
    ).where(*conditions)
    return _stats(session, ranked, ["k"])


def overdue_by_unit(session: Session, now: datetime, unit: str | None = None) -> list[tuple[str, int, int]]:
    """(unit, open, overdue) open tasks per unit."""
    overdue = func.count().filter(and_(HumanTask.due_at.is_not(None), HumanTask.due_at < now))
    stmt = (
        select(func.coalesce(ProcessDefinition.unit, ""), func.count(), overdue)
        .join(ProcessDefinition, ProcessDefinition.id == HumanTask.definition_id)
        .where(HumanTask.state == TaskState.OPEN)
        .group_by(ProcessDefinition.unit)
        .order_by(ProcessDefinition.unit)
    )
    if unit is not None:
        stmt = stmt.where(ProcessDefinition.unit == unit)
    return [(u, int(n), int(late)) for u, n, late in session.execute(stmt)]


def overdue_by_role(session: Session, now: datetime, unit: str | None = None) -> list[tuple[str, int, int]]:
    """(role, open, overdue) open tasks per candidate role."""
    overdue = func.count().filter(and_(TaskCandidate.due_at.is_not(None), TaskCandidate.due_at < now))
    stmt = select(TaskCandidate.role, func.count(), overdue).group_by(TaskCandidate.role).order_by(TaskCandidate.role)
    if unit is not None:
        stmt = stmt.join(HumanTask, HumanTask.id == TaskCandidate.task_id).where(
            *_unit_filter(HumanTask.definition_id, unit)
        )
    return [(role, int(n), int(late)) for role, n, late in session.execute(stmt)]
