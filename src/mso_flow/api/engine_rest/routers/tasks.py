"""The task API a Tasklist uses: queries by instance, candidate group or user, assignee and task key; form
variables; claim, unclaim, assignee, delegate, resolve, complete. Permissions are MSO Flow's (403 outside the
task's candidate roles, 409 when someone else holds it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from mso_flow.api.engine_rest import dto
from mso_flow.api.engine_rest.auth import CallerDep, ServicesDep
from mso_flow.api.engine_rest.params import PageDep
from mso_flow.api.engine_rest.schemas import CompleteRequest, ResolveRequest, UserIdRequest
from mso_flow.api.engine_rest.variables import from_typed, to_typed
from mso_flow.services.definitions.model import FormField
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import BadRequest
from mso_flow.services.tasks import assignment, queries
from mso_flow.services.tasks import candidate_queries as task_queries
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.services.tasks.queries import TaskFilter
from mso_flow.services.tasks.records import TaskRecord

router = APIRouter(tags=["task"])
SORTS = {"created": "created_at", "dueDate": "due_at", "name": "name"}
FORM_TYPES = {
    "string": "String",
    "long": "Long",
    "boolean": "Boolean",
    "date": "Date",
    "enum": "String",
    "file": "Json",
}
NO_CONTENT = 204


class TaskQuery:
    """Camunda's task query parameters."""

    def __init__(
        self,
        processInstanceId: str | None = None,
        candidateGroup: str | None = None,
        candidateUser: str | None = None,
        includeAssignedTasks: bool = False,
        assignee: str | None = None,
        unassigned: bool | None = None,
        taskDefinitionKey: str | None = None,
        processDefinitionKey: str | None = None,
        sortBy: Annotated[str, Query(pattern="^(created|dueDate|name)$")] = "created",
        sortOrder: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    ):
        self.filter = TaskFilter(
            assignee=assignee,
            candidate_role=candidateGroup,
            unassigned=unassigned,
            definition_key=processDefinitionKey,
            instance_id=processInstanceId,
            element_id=taskDefinitionKey,
            sort=SORTS[sortBy],
            descending=sortOrder == "desc",
        )
        self.candidate_user = candidateUser
        self.include_assigned = includeAssignedTasks


def _query(services: Services, caller: Caller, q: TaskQuery, offset: int, limit: int) -> tuple[list[TaskRecord], int]:
    if q.candidate_user:
        return task_queries.for_candidate_user(
            services, caller, q.candidate_user, q.filter, offset, limit, q.include_assigned
        )
    if q.filter.candidate_role and not q.include_assigned:
        q.filter.unassigned = True  # Camunda: candidate queries list claimable tasks only
    return queries.listing(services, caller, q.filter, offset, limit)


@router.get("/task")
async def listing(
    services: ServicesDep, caller: CallerDep, page: PageDep, q: Annotated[TaskQuery, Depends()]
) -> list[dict[str, Any]]:
    items, _ = await run_in_threadpool(_query, services, caller, q, page.offset, page.limit)
    return [dto.task(t) for t in items]


@router.get("/task/count")
async def count(services: ServicesDep, caller: CallerDep, q: Annotated[TaskQuery, Depends()]) -> dict[str, int]:
    _, total = await run_in_threadpool(_query, services, caller, q, 0, 0)
    return {"count": total}


def _described(services: Services, caller: Caller, task_id: str) -> dict[str, Any]:
    """The task with its BPMN documentation as Camunda's `description` (nothing of its instance's data)."""
    task, step = queries.described(services, caller, task_id)
    return dto.task(task, step.documentation if step else None)


@router.get("/task/{task_id}")
async def get(task_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return await run_in_threadpool(_described, services, caller, task_id)


def _default(field: FormField) -> Any:
    """A form field's `defaultValue` (text in the BPMN) as a value of the field's type."""
    if field.default is None:
        return None
    if field.type == "long":
        try:
            return int(field.default)
        except ValueError:
            return field.default
    if field.type == "boolean":
        return field.default.strip().lower() == "true"
    return field.default


@router.get("/task/{task_id}/form-variables")
async def form_variables(
    task_id: str,
    services: ServicesDep,
    caller: CallerDep,
    variableNames: str | None = None,
) -> dict[str, Any]:
    view = await run_in_threadpool(queries.get, services, caller, task_id)
    names = variableNames.split(",") if variableNames else None
    if not view.form:
        return to_typed(view.variables, names)
    result = {}
    for field in view.form:
        if names is not None and field.id not in names:
            continue
        value = view.variables.get(field.id, _default(field))
        typed = to_typed({field.id: value})[field.id]
        if value is None or (field.type == "long" and typed["type"] == "Integer"):
            typed["type"] = FORM_TYPES.get(field.type, "String")  # the form's type names the empty or small value
        result[field.id] = typed
    return result


@router.get("/task/{task_id}/variables")
async def variables(task_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    view = await run_in_threadpool(queries.get, services, caller, task_id)
    return to_typed(view.variables)


@router.post("/task/{task_id}/claim", status_code=NO_CONTENT)
async def claim(task_id: str, body: UserIdRequest, services: ServicesDep, caller: CallerDep) -> Response:
    if body.user_id in (None, caller.username):
        await run_in_threadpool(tasks.claim, services, caller, task_id)
    else:  # claiming for someone else is assigning: a supervisor's or admin's decision
        await run_in_threadpool(assignment.assign, services, caller, task_id, body.user_id, "engine-rest claim")
    return Response(status_code=NO_CONTENT)


@router.post("/task/{task_id}/unclaim", status_code=NO_CONTENT)
async def unclaim(task_id: str, services: ServicesDep, caller: CallerDep) -> Response:
    await run_in_threadpool(tasks.unclaim, services, caller, task_id)
    return Response(status_code=NO_CONTENT)


def _set_assignee(services: Services, caller: Caller, task_id: str, user_id: str | None) -> None:
    if user_id == caller.username:
        tasks.claim(services, caller, task_id)
        return
    if user_id is None and queries.task_record(services, caller, task_id).assignee == caller.username:
        tasks.unclaim(services, caller, task_id)
        return
    assignment.assign(services, caller, task_id, user_id, "engine-rest assignee")


@router.post("/task/{task_id}/assignee", status_code=NO_CONTENT)
async def set_assignee(task_id: str, body: UserIdRequest, services: ServicesDep, caller: CallerDep) -> Response:
    await run_in_threadpool(_set_assignee, services, caller, task_id, body.user_id)
    return Response(status_code=NO_CONTENT)


@router.post("/task/{task_id}/delegate", status_code=NO_CONTENT)
async def delegate(task_id: str, body: UserIdRequest, services: ServicesDep, caller: CallerDep) -> Response:
    if not body.user_id:
        raise BadRequest("user_required", "โปรดระบุ userId (userId is required)")
    await run_in_threadpool(assignment.delegate, services, caller, task_id, body.user_id, None)
    return Response(status_code=NO_CONTENT)


@router.post("/task/{task_id}/resolve", status_code=NO_CONTENT)
async def resolve(task_id: str, body: ResolveRequest, services: ServicesDep, caller: CallerDep) -> Response:
    if body.variables:
        raise BadRequest(
            "resolve_variables_unsupported",
            "การส่งคืนงานพร้อมตัวแปรยังไม่รองรับ (resolve with variables is not supported; complete carries them)",
        )
    await run_in_threadpool(assignment.resolve, services, caller, task_id, None)
    return Response(status_code=NO_CONTENT)


def _complete_with_variables(
    services: Services, caller: Caller, task_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Complete, then read the instance's variables as the caller now reads them (`withVariablesInReturn`)."""
    done = tasks.complete(services, caller, task_id, values)
    _, instance = queries.completion(services, caller, done)
    return instance.variables


async def _complete(task_id: str, body: CompleteRequest, services: Services, caller: Caller) -> Any:
    values = from_typed(body.variables)
    if body.with_variables_in_return:
        return to_typed(await run_in_threadpool(_complete_with_variables, services, caller, task_id, values))
    await run_in_threadpool(tasks.complete, services, caller, task_id, values)
    return Response(status_code=NO_CONTENT)


@router.post("/task/{task_id}/complete", response_model=None)
async def complete(task_id: str, body: CompleteRequest, services: ServicesDep, caller: CallerDep) -> Any:
    return await _complete(task_id, body, services, caller)


@router.post("/task/{task_id}/submit-form", response_model=None)
async def submit_form(task_id: str, body: CompleteRequest, services: ServicesDep, caller: CallerDep) -> Any:
    return await _complete(task_id, body, services, caller)
