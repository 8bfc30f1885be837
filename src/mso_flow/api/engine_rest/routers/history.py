"""History: process instances with Camunda's states, tasks, variable instances and user operations (the
instance's audit trail)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from mso_flow.api.engine_rest import dto
from mso_flow.api.engine_rest.auth import CallerDep, ServicesDep
from mso_flow.api.engine_rest.params import PageDep
from mso_flow.services.instances import queries as instances
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import BadRequest
from mso_flow.services.tasks import queries as tasks
from mso_flow.services.tasks.queries import TaskFilter

router = APIRouter(tags=["history"])
STATES = {camunda: ours for ours, camunda in dto.HISTORY_STATES.items()}


def _instances(
    services: Services,
    caller: Caller,
    offset: int,
    limit: int,
    instance_id: str | None,
    key: str | None,
    business_key: str | None,
    state: str | None,
) -> tuple[list[dict[str, Any]], int]:
    if state is not None and state not in STATES:
        raise BadRequest("invalid_state", f"state ต้องเป็นหนึ่งใน {', '.join(STATES)} (unknown state)")
    if instance_id:
        rows = [instances.head(services, caller, instance_id)]
        rows = [r for r in rows if state is None or r.state == STATES[state]]
        total = len(rows)
    else:
        views, total = instances.listing(
            services, caller, offset, limit, key, STATES[state] if state else None, business_key
        )
        rows = [v.instance for v in views]
    return [dto.historic_instance(r, services.definition(r.definition_id).model.name) for r in rows], total


@router.get("/history/process-instance")
async def process_instances(
    services: ServicesDep,
    caller: CallerDep,
    page: PageDep,
    processInstanceId: str | None = None,
    processDefinitionKey: str | None = None,
    processInstanceBusinessKey: str | None = None,
    state: str | None = None,
) -> list[dict[str, Any]]:
    items, _ = await run_in_threadpool(
        _instances,
        services,
        caller,
        page.offset,
        page.limit,
        processInstanceId,
        processDefinitionKey,
        processInstanceBusinessKey,
        state,
    )
    return items


@router.get("/history/process-instance/count")
async def process_instance_count(
    services: ServicesDep,
    caller: CallerDep,
    processDefinitionKey: str | None = None,
    state: str | None = None,
) -> dict[str, int]:
    _, total = await run_in_threadpool(_instances, services, caller, 0, 0, None, processDefinitionKey, None, state)
    return {"count": total}


@router.get("/history/process-instance/{instance_id}")
async def process_instance(instance_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    [item], _ = await run_in_threadpool(_instances, services, caller, 0, 1, instance_id, None, None, None)
    return item


@router.get("/history/task")
async def history_tasks(
    services: ServicesDep,
    caller: CallerDep,
    page: PageDep,
    processInstanceId: str | None = None,
    processDefinitionKey: str | None = None,
    taskDefinitionKey: str | None = None,
    taskAssignee: str | None = None,
    finished: bool = False,
    unfinished: bool = False,
) -> list[dict[str, Any]]:
    f = TaskFilter(
        state="completed" if finished else ("open" if unfinished else None),
        assignee=taskAssignee,
        definition_key=processDefinitionKey,
        instance_id=processInstanceId,
        element_id=taskDefinitionKey,
    )
    items, _ = await run_in_threadpool(tasks.listing, services, caller, f, page.offset, page.limit)
    return [dto.historic_task(t) for t in items]


def _require_instance(instance_id: str | None) -> str:
    if not instance_id:
        raise BadRequest("instance_required", "โปรดระบุ processInstanceId (processInstanceId is required)")
    return instance_id


@router.get("/history/variable-instance")
async def variable_instances(
    services: ServicesDep,
    caller: CallerDep,
    processInstanceId: str | None = None,
    variableName: str | None = None,
) -> list[dict[str, Any]]:
    instance_id = _require_instance(processInstanceId)
    instance = await run_in_threadpool(instances.head, services, caller, instance_id)
    values = await run_in_threadpool(instances.variables, services, caller, instance_id)
    return [
        dto.historic_variable(instance, name, value) for name, value in values.items() if variableName in (None, name)
    ]


@router.get("/history/user-operation")
async def user_operations(
    services: ServicesDep,
    caller: CallerDep,
    page: PageDep,
    processInstanceId: str | None = None,
) -> list[dict[str, Any]]:
    instance_id = _require_instance(processInstanceId)
    instance = await run_in_threadpool(instances.head, services, caller, instance_id)
    events, _ = await run_in_threadpool(instances.audit, services, caller, instance_id, page.offset, page.limit)
    return [dto.user_operation(e, instance) for e in events]
