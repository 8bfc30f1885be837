"""Documents of process instances (`../shared/design/documents.md`): attach (multipart, read from the stream), list,
read, download a version, preview a PDF's first page, add a version, withdraw."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from mso_flow.api import downloads
from mso_flow.api import presenters as views
from mso_flow.api.deps import CallerDep, ServicesDep
from mso_flow.api.uploads import multipart_body, received
from mso_flow.schemas.common import MAX_VERSION, Problem
from mso_flow.schemas.documents import DocumentList, DocumentOut, WithdrawRequest
from mso_flow.services.documents import commands, queries

router = APIRouter(tags=["documents"])
InstanceId = Annotated[str, Path(max_length=64)]
DocumentId = Annotated[str, Path(max_length=64)]
REFUSALS: dict[int | str, dict[str, Any]] = {
    413: {"model": Problem, "description": "the file is over `MSO_FLOW_DOCUMENT_MAX_BYTES`"},
    415: {"model": Problem, "description": "a type not allowed, or not what the bytes are (name, declared type)"},
    422: {"model": Problem, "description": "no file, an empty file, an unknown task or field"},
}
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "the bytes"}
}


@router.post(
    "/process-instances/{instance_id}/documents",
    response_model=DocumentOut,
    status_code=status.HTTP_201_CREATED,
    responses=REFUSALS,
    openapi_extra=multipart_body(
        "file",
        task_id="one of the instance's open tasks the document belongs to",
        field="a `file` field of that task's form",
        title="a title (Thai)",
        description="a description",
    ),
)
async def attach(instance_id: InstanceId, request: Request, caller: CallerDep, services: ServicesDep) -> Response:
    """Attach a file to the instance: someone working one of its open tasks (for a task: its holder, or a candidate
    while unassigned), or the integrator that started it. The type is sniffed from the bytes."""
    target = await run_in_threadpool(commands.prepare_attach, services, caller, instance_id)
    async with received(request, "file", target) as upload:
        f = upload.fields
        view = await run_in_threadpool(
            commands.attach,
            services,
            caller,
            target,
            upload.file,
            f.get("task_id") or None,
            f.get("field") or None,
            f.get("title"),
            f.get("description"),
        )
    return views.json(views.document(view), status.HTTP_201_CREATED)


@router.get("/process-instances/{instance_id}/documents", response_model=DocumentList)
def listing(instance_id: InstanceId, caller: CallerDep, services: ServicesDep) -> Response:
    """The instance's documents, oldest first; withdrawn ones included with `withdrawn: true`."""
    items = [views.document(v) for v in queries.listing(services, caller, instance_id)]
    return views.json(DocumentList(items=items, total=len(items)))


@router.get("/documents/{document_id}", response_model=DocumentOut)
def get(document_id: DocumentId, caller: CallerDep, services: ServicesDep) -> Response:
    return views.json(views.document(queries.get(services, caller, document_id)))


@router.get("/documents/{document_id}/content", response_class=Response, responses=FILE_RESPONSE)
def content(
    document_id: DocumentId,
    caller: CallerDep,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
    inline: bool = False,
) -> Response:
    """The bytes of the latest (or N-th) version, as an attachment (`inline=true`: PDF and PNG/JPEG shown in a
    frame of the same origin)."""
    return downloads.stream(queries.content(services, caller, document_id, version), inline)


@router.get(
    "/documents/{document_id}/preview.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "a page of the latest version"}},
)
def preview(
    document_id: DocumentId,
    caller: CallerDep,
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """A page of a PDF (the first by default), rendered by the service (422 `not_a_pdf` for other types)."""
    png = queries.preview_png(services, caller, document_id, page)
    return Response(png, media_type="image/png", headers=downloads.file_headers("preview.png", "image/png", True))


@router.post(
    "/documents/{document_id}/versions",
    response_model=DocumentOut,
    status_code=status.HTTP_201_CREATED,
    responses=REFUSALS,
    openapi_extra=multipart_body("file"),
)
async def add_version(document_id: DocumentId, request: Request, caller: CallerDep, services: ServicesDep) -> Response:
    """A new version of the document (`version` + 1); earlier versions stay readable (`content?version=N`)."""
    target = await run_in_threadpool(commands.prepare_version, services, caller, document_id)
    async with received(request, "file", target) as upload:
        view = await run_in_threadpool(commands.add_version, services, caller, target, upload.file)
    return views.json(views.document(view), status.HTTP_201_CREATED)


@router.post("/documents/{document_id}/withdraw", response_model=DocumentOut)
def withdraw(document_id: DocumentId, body: WithdrawRequest, caller: CallerDep, services: ServicesDep) -> Response:
    """Withdraw the document with a reason (whoever attached it, or an admin); it stays, marked withdrawn."""
    return views.json(views.document(commands.withdraw(services, caller, document_id, body.reason)))
