"""Human tasks: list, counts, read, claim (one or many), unclaim, complete, assign, delegate, resolve, comments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from mso_flow.api import presenters as views
from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import Page
from mso_flow.schemas.tasks import (
    AssignRequest,
    BulkClaimRequest,
    BulkClaimResponse,
    CommentOut,
    CommentRequest,
    CompleteRequest,
    CompleteResponse,
    DelegateRequest,
    ResolveRequest,
    RoleCount,
    TaskListItem,
    TaskOut,
)
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Invalid
from mso_flow.services.tasks import assignment, comments
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.services.tasks import queries as task_queries
from mso_flow.services.tasks.queries import TaskFilter
from mso_flow.services.tasks.records import TaskChange

router = APIRouter(prefix="/tasks", tags=["tasks"])


def _task(view: task_queries.TaskView) -> TaskOut:
    """A task with the manual's step it carries out."""
    return views.task(view, view.step)


def _changed(services: Services, caller: Caller, change: TaskChange) -> TaskOut:
    """The task a command changed, read after it with what the caller read before it (`task_queries.changed`)."""
    [view] = task_queries.changed(services, caller, [change])
    return _task(view)


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
    q: Annotated[
        str | None, Query(max_length=200, description="part of the task's name, process name or business key")
    ] = None,
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
        text=(q or "").strip() or None,
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
    )
    items, total = task_queries.listing(services, caller, f, paging.offset, paging.limit, assignee_me=assignee == "me")
    return Page(items=[views.task_item(t) for t in items], total=total, offset=paging.offset, limit=paging.limit)


@router.get("/counts", response_model=dict[str, RoleCount])
def counts(caller: CallerDep, services: ServicesDep) -> dict[str, RoleCount]:
    """Open and overdue tasks per staff role of the caller (inbox badges)."""
    return {role: RoleCount(open=n, overdue=late) for role, (n, late) in task_queries.counts(services, caller).items()}


@router.post("/claim", response_model=BulkClaimResponse)
def claim_all(body: BulkClaimRequest, caller: CallerDep, services: ServicesDep) -> BulkClaimResponse:
    """Claim every task listed, or none: 409 naming the first task that could not be claimed (`task_id`,
    `reason`)."""
    changes = assignment.claim_all(services, caller, body.task_ids)
    return BulkClaimResponse(items=[_task(v) for v in task_queries.changed(services, caller, changes)])


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: TaskId, caller: CallerDep, services: ServicesDep) -> TaskOut:
    """A task with its form and the instance's variables."""
    return _task(task_queries.get(services, caller, task_id))


@router.post("/{task_id}/claim", response_model=TaskOut)
def claim(task_id: TaskId, caller: CallerDep, services: ServicesDep) -> Response:
    """Take the task: 403 without a candidate role, 409 when someone else holds it or it is closed."""
    return views.json(_changed(services, caller, tasks.claim(services, caller, task_id)))


@router.post("/{task_id}/unclaim", response_model=TaskOut)
def unclaim(task_id: TaskId, caller: CallerDep, services: ServicesDep) -> Response:
    """Give the task back to its candidates (the assignee or an admin)."""
    return views.json(_changed(services, caller, tasks.unclaim(services, caller, task_id)))


@router.post("/{task_id}/complete", response_model=CompleteResponse)
def complete(task_id: TaskId, body: CompleteRequest, caller: CallerDep, services: ServicesDep) -> Response:
    """Complete the task with its form's variables; the process runs on to its next wait state."""
    done = tasks.complete(services, caller, task_id, body.variables)
    view, instance = task_queries.completion(services, caller, done)
    return views.json(CompleteResponse(task=_task(view), instance=views.instance(instance)))


@router.post("/{task_id}/assignee", response_model=TaskOut)
def assign(task_id: TaskId, body: AssignRequest, caller: CallerDep, services: ServicesDep) -> TaskOut:
    """Assign or reassign (admin, or a `supervisor` holding a candidate role); the target must be a candidate
    (422)."""
    return _changed(services, caller, assignment.assign(services, caller, task_id, body.username, body.reason))


@router.post("/{task_id}/delegate", response_model=TaskOut)
def delegate(task_id: TaskId, body: DelegateRequest, caller: CallerDep, services: ServicesDep) -> TaskOut:
    """The assignee delegates: they become `owner`, the delegate `assignee`, `delegation_state: pending`."""
    return _changed(services, caller, assignment.delegate(services, caller, task_id, body.username, body.reason))


@router.post("/{task_id}/resolve", response_model=TaskOut)
def resolve(task_id: TaskId, caller: CallerDep, services: ServicesDep, body: ResolveRequest | None = None) -> TaskOut:
    """The delegate gives the task back to its owner (`delegation_state: resolved`)."""
    return _changed(services, caller, assignment.resolve(services, caller, task_id, body.reason if body else None))


@router.get("/{task_id}/comments", response_model=Page[CommentOut])
def list_comments(task_id: TaskId, caller: CallerDep, services: ServicesDep, paging: PagingDep) -> Page[CommentOut]:
    """The task's comments, oldest first."""
    items, total = comments.listing(services, caller, task_id, paging.offset, paging.limit)
    return Page(items=[views.comment(c) for c in items], total=total, offset=paging.offset, limit=paging.limit)


@router.post("/{task_id}/comments", response_model=CommentOut, status_code=status.HTTP_201_CREATED)
def add_comment(task_id: TaskId, body: CommentRequest, caller: CallerDep, services: ServicesDep) -> CommentOut:
    """Comment on a task you may see; recorded in the instance's audit trail too."""
    return views.comment(comments.add(services, caller, task_id, body.text))
