"""Timer start events as leases: a scheduler takes due rows in one short transaction, runs the engine with no
lock held, and finishes each row only if its lease is still the one it took (`fired_at` is the lease's time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from mso_flow.store.models import Timer
from mso_flow.store.waits import START, WAITING

LEASED = "leased"


def lease_due(session: Session, now: datetime, limit: int, lease_seconds: float) -> list[Timer]:
    """Take up to `limit` due start timers (and leases abandoned for `lease_seconds`); another scheduler skips
    the rows this transaction locks and, after the commit, sees them leased."""
    abandoned = now - timedelta(seconds=lease_seconds)
    stmt = (
        select(Timer)
        .where(
            Timer.kind == START,
            Timer.due_at <= now,
            or_(Timer.state == WAITING, (Timer.state == LEASED) & (Timer.fired_at < abandoned)),
        )
        .order_by(Timer.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(stmt))
    for row in rows:
        row.state, row.fired_at = LEASED, now
    session.flush()
    return rows


def finish(session: Session, timer_id: str, leased_at: datetime, state: str, now: datetime) -> bool:
    """Close a lease as `fired` or `failed`; False when the lease is no longer ours (taken over, cancelled)."""
    result = session.execute(
        update(Timer)
        .where(Timer.id == timer_id, Timer.state == LEASED, Timer.fired_at == leased_at)
        .values(state=state, fired_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def first_due(session: Session, definition_id: str, element_id: str) -> datetime | None:
    """The first firing of a start event's schedule (repetitions of a cycle are counted from it)."""
    stmt = select(func.min(Timer.due_at)).where(
        Timer.kind == START, Timer.definition_id == definition_id, Timer.element_id == element_id
    )
    return session.scalar(stmt)
