"""Human tasks as the faces get them: frozen records built from store rows (no ORM object leaves the services),
and what the task commands answer (`TaskChange`, `Completed`: ids and states, never a read view)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mso_flow.services.privacy.need_to_know import TaskReading
from mso_flow.store.models import HumanTask


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A human task as the faces show it."""

    id: str
    instance_id: str
    definition_id: str
    definition_key: str
    element_id: str
    name: str
    lane: str | None
    candidate_roles: tuple[str, ...]
    state: str
    assignee: str | None
    owner: str | None
    delegation_state: str | None
    created_at: datetime
    due_at: datetime | None
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    assigned_by: str | None


def record(row: HumanTask) -> TaskRecord:
    return TaskRecord(
        row.id,
        row.instance_id,
        row.definition_id,
        row.definition_key,
        row.element_id,
        row.name,
        row.lane,
        tuple(row.candidate_roles),
        row.state,
        row.assignee,
        row.owner,
        row.delegation_state,
        row.created_at,
        row.due_at,
        row.claimed_at,
        row.completed_at,
        row.completed_by,
        row.assigned_by,
    )


def records(rows: Sequence[HumanTask]) -> list[TaskRecord]:
    return [record(row) for row in rows]


@dataclass(frozen=True, slots=True)
class TaskChange:
    """What a command on a task did: the task's id, its instance, its state and holder after the command, and what
    the caller read of the instance before it (for `changed`)."""

    task_id: str
    instance_id: str
    state: str
    assignee: str | None
    reading: TaskReading


@dataclass(frozen=True, slots=True)
class Completed:
    """What completing a task did: the task's id and state, its instance's id and state after the step, and the
    instance's open tasks after it (a face that shows them reads them: `queries.completion`)."""

    task_id: str
    task_state: str
    instance_id: str
    instance_state: str
    open_task_ids: tuple[str, ...]
