"""Running process instances: list, read, variables (read and set), cancel. As in Camunda, the runtime API
knows running instances only; ended ones are in `/history/process-instance`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mso_flow.api.engine_rest import dto
from mso_flow.api.engine_rest.auth import CallerDep, ServicesDep
from mso_flow.api.engine_rest.params import PageDep, base_url
from mso_flow.api.engine_rest.schemas import ModifyVariables, VariableValue
from mso_flow.api.engine_rest.variables import from_typed, to_engine, to_typed
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.instances import queries as instance_queries
from mso_flow.services.instances.queries import InstanceRecord
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import BadRequest, NotFound

router = APIRouter(tags=["process-instance"])
NO_CONTENT = 204


def _running(services: Services, caller: Caller, instance_id: str) -> InstanceRecord:
    instance = instance_queries.head(services, caller, instance_id)
    if instance.state not in ("running", "suspended"):
        raise NotFound(
            "instance_not_found",
            f"กระบวนการ {instance_id} สิ้นสุดแล้ว ดูได้ที่ /history/process-instance (no running instance with this id)",
        )
    return instance


@router.get("/process-instance")
async def listing(
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    page: PageDep,
    processDefinitionKey: str | None = None,
    businessKey: str | None = None,
) -> list[dict[str, Any]]:
    views, _ = await run_in_threadpool(
        instance_queries.listing,
        services,
        caller,
        page.offset,
        page.limit,
        processDefinitionKey,
        "running",
        businessKey,
    )
    return [dto.instance(v.instance, base_url(request)) for v in views]


@router.get("/process-instance/count")
async def count(
    services: ServicesDep,
    caller: CallerDep,
    processDefinitionKey: str | None = None,
    businessKey: str | None = None,
) -> dict[str, int]:
    _, total = await run_in_threadpool(
        instance_queries.listing, services, caller, 0, 0, processDefinitionKey, "running", businessKey
    )
    return {"count": total}


@router.get("/process-instance/{instance_id}")
async def get(request: Request, instance_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    instance = await run_in_threadpool(_running, services, caller, instance_id)
    return dto.instance(instance, base_url(request))


@router.delete("/process-instance/{instance_id}", status_code=NO_CONTENT)
async def cancel(instance_id: str, services: ServicesDep, caller: CallerDep) -> Response:
    reason = f"ยกเลิกผ่าน engine-rest โดย {caller.username} (cancelled through engine-rest)"
    await run_in_threadpool(instances.cancel, services, caller, instance_id, reason)
    return Response(status_code=NO_CONTENT)


def _running_variables(services: Services, caller: Caller, instance_id: str) -> dict[str, Any]:
    _running(services, caller, instance_id)
    return instance_queries.variables(services, caller, instance_id)


@router.get("/process-instance/{instance_id}/variables")
async def variables(instance_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return to_typed(await run_in_threadpool(_running_variables, services, caller, instance_id))


@router.get("/process-instance/{instance_id}/variables/{name}")
async def variable(instance_id: str, name: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    values = await run_in_threadpool(_running_variables, services, caller, instance_id)
    if name not in values:
        raise NotFound("variable_not_found", f"ไม่พบตัวแปร {name} (process variable {name} not found)")
    return to_typed(values, [name])[name]


@router.put("/process-instance/{instance_id}/variables/{name}", status_code=NO_CONTENT)
async def put_variable(
    instance_id: str, name: str, body: VariableValue, services: ServicesDep, caller: CallerDep
) -> Response:
    value = to_engine(name, body.model_dump(by_alias=True))
    await run_in_threadpool(instances.set_variables, services, caller, instance_id, {name: value})
    return Response(status_code=NO_CONTENT)


@router.post("/process-instance/{instance_id}/variables", status_code=NO_CONTENT)
async def modify_variables(
    instance_id: str, body: ModifyVariables, services: ServicesDep, caller: CallerDep
) -> Response:
    if body.deletions:
        raise BadRequest("deletions_unsupported", "การลบตัวแปรยังไม่รองรับ (variable deletions are not supported)")
    values = from_typed(body.modifications)
    if values:
        await run_in_threadpool(instances.set_variables, services, caller, instance_id, values)
    return Response(status_code=NO_CONTENT)
