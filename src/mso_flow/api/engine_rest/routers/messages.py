"""`POST /message`: correlate a message to the instance waiting for it, or start the process it starts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mso_flow.api.engine_rest import dto
from mso_flow.api.engine_rest.auth import CallerDep, ServicesDep
from mso_flow.api.engine_rest.params import base_url
from mso_flow.api.engine_rest.schemas import MessageRequest
from mso_flow.api.engine_rest.variables import from_typed, to_typed
from mso_flow.services.instances import queries as instances
from mso_flow.services.integrations import messages

router = APIRouter(tags=["message"])


@router.post("/message", response_model=None)
async def correlate(request: Request, body: MessageRequest, services: ServicesDep, caller: CallerDep) -> Any:
    variables = from_typed(body.process_variables)
    correlation = await run_in_threadpool(
        messages.send, services, caller, body.message_name, body.business_key, body.process_instance_id, variables
    )
    if not body.result_enabled:
        return Response(status_code=204)
    view = await run_in_threadpool(instances.get, services, caller, correlation.instance_id)
    instance = dto.instance(view.instance, base_url(request))
    result: dict[str, Any] = {
        "resultType": "ProcessDefinition" if correlation.started else "Execution",
        "execution": None
        if correlation.started
        else {"id": instance["id"], "processInstanceId": instance["id"], "ended": instance["ended"], "tenantId": None},
        "processInstance": instance if correlation.started else None,
    }
    if body.variables_in_result_enabled:
        result["variables"] = to_typed(view.variables)
    return [result]
