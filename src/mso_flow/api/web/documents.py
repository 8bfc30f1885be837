"""The web app's documents: attach a file on a task page (a plain multipart form, which the app's own script turns
into a drop zone too), add a version or withdraw one on the case page, download, show a PDF or an image inline
(framed by the case page only), and a PDF's first page rendered by the service. Same services and rules as the
API; a form's CSRF token is checked before anything it sent is kept."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from mso_flow.api import downloads
from mso_flow.api.deps import ServicesDep
from mso_flow.api.uploads import received
from mso_flow.api.web.render import WebRoute
from mso_flow.api.web.render import page as page_response
from mso_flow.api.web.security import CSRF_FIELD, CsrfRefused, FormDep, PersonDep
from mso_flow.api.web.views import task_again
from mso_flow.schemas.common import MAX_VERSION
from mso_flow.services.accounts.logins import WebCaller
from mso_flow.services.documents import commands, queries
from mso_flow.services.documents.staging import Target
from mso_flow.services.platform.failures import ServiceError

router = APIRouter(prefix="/app", route_class=WebRoute, include_in_schema=False)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _csrf(person: WebCaller, fields: dict[str, str]) -> None:
    if not secrets.compare_digest(fields.get(CSRF_FIELD, ""), person.csrf_token):
        raise CsrfRefused


async def _upload(request: Request, person: WebCaller, target: Target, attach: Any) -> None:
    """Read the form's file into the staging, check its CSRF token, then run `attach(upload)`."""
    async with received(request, "file", target) as upload:
        _csrf(person, upload.fields)
        await run_in_threadpool(attach, upload)


@router.post("/tasks/{task_id}/documents")
async def attach_to_task(request: Request, services: ServicesDep, person: PersonDep, task_id: str) -> Response:
    """แนบไฟล์ on a task page: to one of its file fields (`field`), or to the task; a refusal shows the task page
    again with the reason beside the field."""
    caller = person.caller
    field = request.query_params.get("field") or None
    try:
        target, task = await run_in_threadpool(commands.prepare_task_attach, services, caller, task_id)
        await _upload(
            request,
            person,
            target,
            lambda upload: commands.attach(
                services,
                caller,
                target,
                upload.file,
                task.id,
                upload.fields.get("field") or field,
                upload.fields.get("title"),
            ),
        )
    except CsrfRefused:
        raise
    except ServiceError as err:
        where = field or "documents"
        return task_again(request, services, person, task_id, {}, {where: err.message}, err.message, err)
    return _redirect(f"/app/tasks/{task_id}#documents")


@router.post("/documents/{document_id}/versions")
async def add_version(request: Request, services: ServicesDep, person: PersonDep, document_id: str) -> Response:
    """เพิ่มฉบับใหม่ on the case page."""
    caller = person.caller
    target = await run_in_threadpool(commands.prepare_version, services, caller, document_id)
    await _upload(request, person, target, lambda upload: commands.add_version(services, caller, target, upload.file))
    return _redirect(f"/app/instances/{target.instance_id}#documents")


@router.post("/documents/{document_id}/withdraw")
def withdraw(services: ServicesDep, person: PersonDep, form: FormDep, document_id: str) -> Response:
    """ถอนเอกสาร with its reason, on the case page."""
    reason = form.get("reason")
    view = commands.withdraw(services, person.caller, document_id, reason if isinstance(reason, str) else "")
    return _redirect(f"/app/instances/{view.instance_id}#documents")


@router.get("/documents/{document_id}/content")
def content(
    services: ServicesDep,
    person: PersonDep,
    document_id: str,
    version: int | None = Query(default=None, ge=1, le=MAX_VERSION),
    inline: bool = False,
) -> Response:
    return downloads.stream(queries.content(services, person.caller, document_id, version), inline)


MAX_PAGES = 30  # pages of a PDF shown in its preview frame (the rest: open the file)
# sandboxed with its own origin kept, so its images carry the session (SameSite) cookie; no script runs in it
PAGES_CSP = "default-src 'none'; img-src 'self'; style-src 'self'; frame-ancestors 'self'; sandbox allow-same-origin"


@router.get("/documents/{document_id}/preview.png")
def preview(
    services: ServicesDep, person: PersonDep, document_id: str, page: int = Query(default=1, ge=1, le=MAX_PAGES)
) -> Response:
    png = queries.preview_png(services, person.caller, document_id, page)
    return Response(png, media_type="image/png", headers=downloads.file_headers("preview.png", "image/png", True))


@router.get("/documents/{document_id}/pages")
def pages(request: Request, services: ServicesDep, person: PersonDep, document_id: str) -> Response:
    """A PDF's pages as images rendered by the service: what the case page's sandboxed frame shows (a browser's
    own PDF viewer does not run in a sandboxed frame)."""
    view, count = queries.pdf_pages(services, person.caller, document_id)
    response = page_response(
        request, "document_pages.html", person, document=view, count=min(count, MAX_PAGES), total=count
    )
    response.headers["content-security-policy"] = PAGES_CSP
    response.headers["x-frame-options"] = "SAMEORIGIN"
    return response
