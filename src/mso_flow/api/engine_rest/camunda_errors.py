"""Errors in Camunda's shape `{"type": "...Exception", "message": "..."}` for every `/engine-rest` failure.

Service failures keep MSO Flow's status codes (403 outside candidate roles, 409 on claim conflicts) where they
differ from Camunda on purpose; the `type` names the Camunda exception a client would recognise.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from mso_flow.api.problems import client_gone
from mso_flow.services.platform.failures import ServiceError

log = logging.getLogger("mso_flow.api.engine_rest")

KINDS: dict[str, tuple[int, str]] = {
    "bad_request": (400, "InvalidRequestException"),
    "invalid": (400, "InvalidRequestException"),
    "unauthenticated": (401, "AuthenticationException"),
    "forbidden": (403, "AuthorizationException"),
    "not_found": (404, "InvalidRequestException"),
    "conflict": (409, "RestException"),
    "too_large": (413, "InvalidRequestException"),
    "unsupported_type": (415, "InvalidRequestException"),
    "too_many_requests": (429, "AuthenticationException"),
    "unavailable": (503, "RestException"),
}
CODES: dict[str, tuple[int, str]] = {
    "invalid_bpmn": (400, "ParseException"),
    "privacy_marks_weakened": (400, "ParseException"),  # Modeler shows the marks per file; no approval here
    "process_error": (400, "ProcessEngineException"),
    "task_claimed": (409, "TaskAlreadyClaimedException"),
    "concurrent_change": (409, "OptimisticLockingException"),
    "no_message_receiver": (400, "MismatchingMessageCorrelationException"),
    "ambiguous_correlation": (400, "MismatchingMessageCorrelationException"),
    "ambiguous_message_start": (400, "MismatchingMessageCorrelationException"),
    "external_task_not_locked": (400, "BadUserRequestException"),
}


def camunda_error(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"type": kind, "message": message, **extra}, status_code=status, headers=headers)


def _parse_details(exc: ServiceError) -> dict[str, Any]:
    """Deployment problems per resource, as Camunda's ParseException `details` (which Modeler shows): the verdict's
    errors, and its warnings beside them."""
    resources: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for problem in exc.errors:
        entry = resources.setdefault(str(problem.get("file") or "-"), {"errors": [], "warnings": []})
        entry["warnings" if problem.get("severity") == "warning" else "errors"].append(
            {
                "message": problem.get("message"),
                "line": problem.get("line") or 0,
                "column": 0,
                "mainElementId": problem.get("element_id"),
                "elementIds": [problem["element_id"]] if problem.get("element_id") else [],
            }
        )
    return resources


def _message(exc: ServiceError) -> str:
    if not exc.errors:
        return exc.message
    details = "; ".join(
        f"{e.get('file') or e.get('field') or ''}{':' + str(e['line']) if e.get('line') else ''} "
        f"{e.get('element_id') or ''} {e.get('severity') or ''} {e.get('message', '')}".strip()
        for e in [e for e in exc.errors if e.get("severity") != "warning"][:20]
    )
    return f"{exc.message}: {details}"


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, client_gone)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        status, kind = CODES.get(exc.code) or KINDS.get(exc.kind, (400, "RestException"))
        headers = {"WWW-Authenticate": 'Basic realm="MSO Flow"'} if status == 401 else None
        if "retry_after" in exc.extra:
            headers = {**(headers or {}), "Retry-After": str(exc.extra["retry_after"])}
        extra: dict[str, Any] = {"code": exc.code}
        if kind == "ParseException":
            extra["details"] = _parse_details(exc)
        return camunda_error(status, kind, _message(exc), headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg', '')}"
            for e in exc.errors()[:20]
        )
        return camunda_error(400, "InvalidRequestException", f"คำขอไม่ถูกต้อง (invalid request): {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "NotFoundException" if exc.status_code == 404 else "RestException"
        return camunda_error(exc.status_code, kind, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return camunda_error(500, "RestException", "เกิดข้อผิดพลาดภายในระบบ โปรดแจ้งผู้ดูแลระบบ (internal error)")
