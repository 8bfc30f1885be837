"""Camunda 7's task attachments (`/task/{id}/attachment…`, as 7.22 answers them): create from a multipart body
(`attachment-name`, `attachment-description`, `attachment-type`, `content`), list, read, and the bytes. An
attachment is the same document the v1 API lists (attached to the task, sealed and read under the same rules).
Remote `url` attachments are not stored (400: the `content` part is required); documents are records, so there
is no DELETE (405)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mso_flow.api import downloads
from mso_flow.api.engine_rest import dto
from mso_flow.api.engine_rest.auth import CallerDep, ServicesDep
from mso_flow.api.engine_rest.params import base_url
from mso_flow.api.uploads import received
from mso_flow.services.documents import commands, queries
from mso_flow.services.documents.queries import DocumentView
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import BadRequest, NotFound
from mso_flow.services.tasks import queries as tasks

router = APIRouter(tags=["task attachment"])
OCTET_STREAM = "application/octet-stream"


def _of_task(services: Services, caller: Caller, task_id: str) -> list[DocumentView]:
    return queries.of_task(services, caller, tasks.task_record(services, caller, task_id))


def _attachment(services: Services, caller: Caller, task_id: str, attachment_id: str) -> DocumentView:
    found = next((d for d in _of_task(services, caller, task_id) if d.id == attachment_id), None)
    if found is None:
        raise NotFound(
            "attachment_not_found",
            f"Task attachment with id {attachment_id} does not exist for task id '{task_id}'. (ไม่พบเอกสารแนบของงานนี้)",
        )
    return found


@router.post("/task/{task_id}/attachment/create")
async def create(task_id: str, request: Request, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    try:
        target, task = await run_in_threadpool(commands.prepare_task_attach, services, caller, task_id)
    except NotFound:  # Camunda: 400 for a task that does not exist
        raise BadRequest("task_not_found", f"No task found for task id {task_id} (ไม่พบงาน)") from None
    async with received(request, "content", target) as upload:
        fields = upload.fields
        name = fields.get("attachment-name") or None
        declared = fields.get("attachment-type") or ""
        if "/" in declared:  # a media type: it must agree with the bytes, like the part's own type
            upload.file.content_type = declared
        if name and upload.file.filename == "เอกสาร":
            upload.file.filename = name
        view = await run_in_threadpool(
            commands.attach,
            services,
            caller,
            target,
            upload.file,
            task.id,
            None,
            name,
            fields.get("attachment-description"),
        )
    return dto.attachment(view, base_url(request))


@router.get("/task/{task_id}/attachment")
async def listing(task_id: str, request: Request, services: ServicesDep, caller: CallerDep) -> list[dict[str, Any]]:
    found = await run_in_threadpool(_of_task, services, caller, task_id)
    return [dto.attachment(d, base_url(request)) for d in found if not d.withdrawn]


@router.get("/task/{task_id}/attachment/{attachment_id}")
async def get(
    task_id: str, attachment_id: str, request: Request, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    return dto.attachment(
        await run_in_threadpool(_attachment, services, caller, task_id, attachment_id), base_url(request)
    )


def _data(services: Services, caller: Caller, task_id: str, attachment_id: str) -> Response:
    _attachment(services, caller, task_id, attachment_id)
    return downloads.stream(queries.content(services, caller, attachment_id), media_type=OCTET_STREAM)


@router.get("/task/{task_id}/attachment/{attachment_id}/data")
async def data(task_id: str, attachment_id: str, services: ServicesDep, caller: CallerDep) -> Response:
    return await run_in_threadpool(_data, services, caller, task_id, attachment_id)
