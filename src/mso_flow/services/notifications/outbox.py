"""The request path's part of notifications: an outbox row per event that may concern someone, in the
transaction of the event.

`services/platform/events.py` `record` (the one place where an instance's events are recorded, with the audit chain and
the webhook outbox) calls `write`; an incident with no instance (a start that failed) calls `incident`. A
command pays one Core INSERT for all its rows, and nothing when none of its events concerns anyone: an event of
another kind, an unassignment, or a new task whose roles no active user holds (`audience`). Who exactly is told,
and what, is decided later by the background fan-out (`fanout`, `rules`), off the request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mso_flow.domain import NotificationKind
from mso_flow.services.platform.context import Services
from mso_flow.store import notifications as store
from mso_flow.store.audit import NewEvent
from mso_flow.store.incidents import Incident
from mso_flow.store.models import HumanTask, ProcessInstance

# audit event type -> (notification kind, the key of its data naming the new holder)
NOTIFYING: dict[str, tuple[NotificationKind, str | None]] = {
    "task_created": (NotificationKind.TASK_CREATED, None),
    "task_assigned": (NotificationKind.TASK_ASSIGNED, "assignee"),
    "task_delegated": (NotificationKind.TASK_ASSIGNED, "delegate"),
    "task_resolved": (NotificationKind.TASK_ASSIGNED, "owner"),  # back with its owner
    "incident_created": (NotificationKind.INCIDENT_OPENED, None),
}


def write(
    services: Services,
    session: Session,
    instance: ProcessInstance,
    events: Sequence[tuple[NewEvent, int]],
    at: datetime,
    tasks: Sequence[HumanTask] = (),
) -> None:
    """Queue the events (with their audit seq) that may concern someone; `tasks` are the tasks the command
    created, whose roles the gate checks (a new task not among them is queued unchecked)."""
    created = {task.id: task for task in tasks}
    rows: list[dict[str, Any]] = []
    for event, seq in events:
        found = NOTIFYING.get(event.type)
        if found is None:
            continue
        kind, holder_key = found
        data = event.data or {}
        target = data.get(holder_key) if holder_key else None
        if holder_key and not target:
            continue  # unassigned: nobody new holds it
        task = created.get(event.task_id or "")
        if (
            task is not None
            and task.assignee is None
            and not services.audience.holds_any(session, task.candidate_roles, at)
        ):
            continue
        rows.append(
            _row(f"audit:{instance.id}:{seq}", kind, instance.id, event.task_id, data.get("incident_id"), at)
            | {"actor": event.actor[:100], "target": target}
        )
    store.enqueue(session, rows)


def incident(session: Session, incident: Incident, at: datetime) -> None:
    """Queue an incident that has no instance (a start that failed); one on an instance comes through `write`."""
    row = _row(f"incident:{incident.id}", NotificationKind.INCIDENT_OPENED, None, None, incident.id, at)
    store.enqueue(session, [row | {"actor": incident.created_by, "target": None}])


def notice(task: HumanTask, kind: NotificationKind, at: datetime) -> dict[str, Any]:
    """The scanner's row for a task crossing a threshold (its key makes it once per task and kind)."""
    return _row(f"{kind}:{task.id}", kind, task.instance_id, task.id, None, at) | {"actor": None, "target": None}


def _row(
    key: str, kind: str, instance_id: str | None, task_id: str | None, incident_id: str | None, at: datetime
) -> dict[str, Any]:
    return {
        "key": key,
        "kind": kind,
        "instance_id": instance_id,
        "task_id": task_id,
        "incident_id": incident_id,
        "created_at": at,
        "fanned_out_at": None,
    }
