"""Due soon and overdue: a periodic scan finds the open tasks that crossed a threshold and queues one notice per
task and kind (the outbox row's key `task_due_soon:<task>` / `task_overdue:<task>` is unique, and the scan only
looks at tasks without one), so a notice is never repeated, whatever restarts or replicas.

A task is due soon once `now` is within `MSO_FLOW_DUE_SOON` of its due date, counted on the working calendar
(`P1D`: one working day before; `PT4H`: four hours): that is, once its due date is at or before `now` plus that
duration on the calendar. It is overdue once its due date has passed. A task first seen past its due date gets
the overdue notice only; a task due soon from the moment it was made (a step of minutes, with a window of a
working day) gets no reminder, its creation's notice having given the due date; and a task overdue for longer
than `HORIZON` when first seen (after an upgrade, or a long outage) gets none: the inbox and the overdue report
already show it.

The scan runs under the lock of its schedule row (`FOR UPDATE SKIP LOCKED`), so one process at a time does it.
"""

from __future__ import annotations

from datetime import timedelta

from mso_flow.domain import NotificationKind
from mso_flow.services.notifications import outbox
from mso_flow.services.platform.context import Services
from mso_flow.store import notifications as store
from mso_flow.store.models import HumanTask

HORIZON = timedelta(days=7)
BATCH = 500


def scan(services: Services, limit: int = BATCH) -> int:
    """Queue the notices of tasks that crossed a threshold; return how many."""
    now = services.clock()
    soon = services.calendar.due_at(now, services.settings.due_soon) or now
    with services.db.write() as session:
        schedule = store.lock_schedule(session, "scan")
        if schedule is None:
            return 0
        late = store.crossing(session, NotificationKind.TASK_OVERDUE, now - HORIZON, now, limit)
        near = store.crossing(session, NotificationKind.TASK_DUE_SOON, now, soon, limit)
        rows = [outbox.notice(t, NotificationKind.TASK_OVERDUE, now) for t in late]
        for task in near:
            row = outbox.notice(task, NotificationKind.TASK_DUE_SOON, now)
            if _soon_from_the_start(services, task):
                row["fanned_out_at"] = now  # recorded, told to nobody
            rows.append(row)
        store.enqueue(session, rows)
        schedule.ran_at = now
        return len(rows)


def _soon_from_the_start(services: Services, task: HumanTask) -> bool:
    """Whether the task was due soon the moment it was made (a step of minutes, with a window of a working day):
    its creation's notice already gave the due date, so no reminder follows."""
    start = services.calendar.due_at(task.created_at, services.settings.due_soon)
    return task.due_at is not None and start is not None and start >= task.due_at
