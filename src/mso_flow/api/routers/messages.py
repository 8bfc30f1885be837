"""Messages from other systems."""

from __future__ import annotations

from fastapi import APIRouter

from mso_flow.api.deps import CallerDep, ServicesDep
from mso_flow.schemas.common import Problem
from mso_flow.schemas.integration import MessageRequest, MessageResult
from mso_flow.services.integrations import messages

router = APIRouter(tags=["messages"])


@router.post(
    "/messages",
    response_model=MessageResult,
    responses={
        404: {"model": Problem, "description": "no instance waits for the message and no process starts with it"},
        409: {"model": Problem, "description": "several instances or processes could receive it"},
    },
)
def send_message(body: MessageRequest, caller: CallerDep, services: ServicesDep) -> MessageResult:
    """Correlate a message (integrator or admin) to the instance waiting for it by business key or instance id:
    a catch event, receive task or boundary event; or start the process whose start event catches it."""
    result = messages.send(services, caller, body.name, body.business_key, body.process_instance_id, body.variables)
    return MessageResult(instance_id=result.instance_id, started=result.started)
