"""Process definitions: list, by key or id, their BPMN XML, and starting an instance with typed variables."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mso_flow.api.engine_rest import dto
from mso_flow.api.engine_rest.auth import CallerDep, ServicesDep
from mso_flow.api.engine_rest.params import PageDep, base_url
from mso_flow.api.engine_rest.schemas import StartRequest
from mso_flow.api.engine_rest.variables import from_typed, to_typed
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.instances import queries as instance_queries
from mso_flow.services.platform.failures import BadRequest

router = APIRouter(tags=["process-definition"])


@router.get("/process-definition")
async def listing(
    services: ServicesDep,
    caller: CallerDep,
    page: PageDep,
    key: str | None = None,
    latestVersion: bool = False,
    deploymentId: str | None = None,
    processDefinitionId: str | None = None,
) -> list[dict[str, Any]]:
    items, _ = await run_in_threadpool(
        definitions.query, services, page.offset, page.limit, key, latestVersion, deploymentId, processDefinitionId
    )
    return [dto.definition(d) for d in items]


@router.get("/process-definition/count")
async def count(
    services: ServicesDep,
    caller: CallerDep,
    key: str | None = None,
    latestVersion: bool = False,
) -> dict[str, int]:
    _, total = await run_in_threadpool(definitions.query, services, 0, 0, key, latestVersion)
    return {"count": total}


@router.get("/process-definition/key/{key}")
async def by_key(key: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    row, _ = await run_in_threadpool(definitions.latest, services, key)
    return dto.definition(row)


@router.get("/process-definition/key/{key}/xml")
async def xml_by_key(key: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    row, _ = await run_in_threadpool(definitions.latest, services, key)
    return {"id": row.id, "bpmn20Xml": bytes(row.bpmn_xml).decode("utf-8")}


@router.get("/process-definition/{definition_id}")
async def by_id(definition_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return dto.definition(await run_in_threadpool(definitions.by_id, services, definition_id))


@router.get("/process-definition/{definition_id}/xml")
async def xml_by_id(definition_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    row = await run_in_threadpool(definitions.by_id, services, definition_id)
    return {"id": row.id, "bpmn20Xml": bytes(row.bpmn_xml).decode("utf-8")}


async def _start(request: Request, services: Any, caller: Any, key: str, body: StartRequest) -> dict[str, Any]:
    variables = from_typed(body.variables)
    started = await run_in_threadpool(instances.start, services, caller, key, body.business_key, variables)
    result = dto.instance(started.instance, base_url(request))
    if body.with_variables_in_return:  # only then are the values disclosed (and a read of sealed ones logged)
        view = await run_in_threadpool(instance_queries.started, services, caller, started)
        result["variables"] = to_typed(view.variables)
    return result


@router.post("/process-definition/key/{key}/start")
async def start_by_key(
    request: Request, key: str, body: StartRequest, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    return await _start(request, services, caller, key, body)


@router.post("/process-definition/{definition_id}/start")
async def start_by_id(
    request: Request, definition_id: str, body: StartRequest, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    row = await run_in_threadpool(definitions.by_id, services, definition_id)
    latest, _ = await run_in_threadpool(definitions.latest, services, row.key)
    if latest.id != row.id:
        raise BadRequest(
            "not_latest_version",
            f"เริ่มได้เฉพาะรุ่นล่าสุด {latest.id} (only the latest version of a process can be started)",
        )
    return await _start(request, services, caller, row.key, body)
