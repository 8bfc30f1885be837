"""Human tasks: list, read, claim, unclaim, complete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from mso_flow.api import views
from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import Page
from mso_flow.schemas.tasks import CompleteRequest, CompleteResponse, TaskListItem, TaskOut
from mso_flow.services import tasks
from mso_flow.services.errors import Invalid
from mso_flow.store.tasks import TaskFilter

router = APIRouter(prefix="/tasks", tags=["tasks"])
TaskId = Annotated[str, Path(max_length=64)]


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise Invalid("naive_datetime", f"{name} ต้องระบุเขตเวลา เช่น 2026-12-01T00:00:00+07:00 (timezone required)")
    return value


@router.get("", response_model=Page[TaskListItem])
def list_tasks(
    caller: CallerDep,
    services: ServicesDep,
    paging: PagingDep,
    assignee: Annotated[str | None, Query(max_length=100, description="a username, or `me`")] = None,
    candidate_role: Annotated[str | None, Query(max_length=300)] = None,
    unassigned: bool | None = None,
    state: Annotated[str | None, Query(pattern="^(open|completed|cancelled|all)$")] = "open",
    definition_key: Annotated[str | None, Query(max_length=64)] = None,
    process_instance_id: Annotated[str | None, Query(max_length=64)] = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    sort: Annotated[str, Query(pattern="^-?(due_at|created_at|name)$")] = "created_at",
) -> Page[TaskListItem]:
    """Tasks; by default the open tasks the caller may work (assigned to them, or unassigned in their roles)."""
    f = TaskFilter(
        state=None if state == "all" else state,
        assignee=None if assignee == "me" else assignee,
        candidate_role=candidate_role,
        unassigned=unassigned,
        definition_key=definition_key,
        instance_id=process_instance_id,
        due_before=_aware(due_before, "due_before"),
        overdue_at=services.clock() if overdue else None,
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
    )
    items, total = tasks.listing(services, caller, f, paging.offset, paging.limit, assignee_me=assignee == "me")
    return Page(items=[views.task_item(t) for t in items], total=total, offset=paging.offset, limit=paging.limit)


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: TaskId, caller: CallerDep, services: ServicesDep) -> TaskOut:
    """A task with its form and the instance's variables."""
    return views.task(tasks.get(services, caller, task_id))


@router.post("/{task_id}/claim", response_model=TaskOut)
def claim(task_id: TaskId, caller: CallerDep, services: ServicesDep) -> TaskOut:
    """Take the task: 403 without a candidate role, 409 when someone else holds it or it is closed."""
    return views.task(tasks.claim(services, caller, task_id))


@router.post("/{task_id}/unclaim", response_model=TaskOut)
def unclaim(task_id: TaskId, caller: CallerDep, services: ServicesDep) -> TaskOut:
    """Give the task back to its candidates (the assignee or an admin)."""
    return views.task(tasks.unclaim(services, caller, task_id))


@router.post("/{task_id}/complete", response_model=CompleteResponse)
def complete(task_id: TaskId, body: CompleteRequest, caller: CallerDep, services: ServicesDep) -> CompleteResponse:
    """Complete the task with its form's variables; the process runs on to its next wait state."""
    view, instance = tasks.complete(services, caller, task_id, body.variables)
    return CompleteResponse(task=views.task(view), instance=views.instance(instance))
