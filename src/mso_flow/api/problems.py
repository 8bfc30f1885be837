"""Every error as `application/problem+json` (RFC 9457); no input yields a 500."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from mso_flow.services.platform.failures import ServiceError

log = logging.getLogger("mso_flow.api")
PROBLEM = "application/problem+json"
STATUS = {
    "bad_request": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
    "too_large": 413,
    "unsupported_type": 415,
    "too_many_requests": 429,
    "unavailable": 503,
}
TITLES = {
    400: "คำขอไม่ถูกต้อง (bad request)",
    401: "ต้องยืนยันตัวตน (authentication required)",
    403: "ไม่มีสิทธิ์ (forbidden)",
    404: "ไม่พบข้อมูล (not found)",
    405: "ไม่รองรับวิธีเรียกนี้ (method not allowed)",
    409: "สถานะขัดแย้ง (conflict)",
    413: "ข้อมูลใหญ่เกินไป (payload too large)",
    415: "ชนิดข้อมูลไม่รองรับ (unsupported media type)",
    422: "ข้อมูลไม่ผ่านการตรวจสอบ (unprocessable content)",
    429: "เรียกบ่อยเกินไป (too many requests)",
    500: "ระบบขัดข้อง (internal error)",
    503: "ระบบยังให้บริการไม่ได้ (service unavailable)",
}


def problem(
    status: int,
    code: str,
    detail: str,
    errors: list[Any] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:mso-flow:problem:{code}",
        "title": TITLES.get(status, "error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _validation_errors(exc: RequestValidationError) -> tuple[int, list[dict[str, Any]]]:
    errors = []
    malformed = False
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        if error.get("type") == "json_invalid":
            malformed = True
        errors.append(
            {
                "field": ".".join(location) or "body",
                "message": error.get("msg", ""),
                "type": error.get("type"),
            }
        )
    return (400 if malformed else 422), errors


CLIENT_CLOSED = 499  # nginx's "client closed request": logged, never received by anyone


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client went away in the middle of its request (an upload cut short): nothing to answer, nothing kept."""
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=CLIENT_CLOSED)


def install(app: FastAPI) -> None:
    """Register the problem+json handlers."""
    app.add_exception_handler(ClientDisconnect, client_gone)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        status = STATUS.get(exc.kind, 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 429 and "retry_after" in exc.extra:
            headers = {"Retry-After": str(exc.extra["retry_after"])}
        return problem(status, exc.code, exc.message, exc.errors, headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, errors = _validation_errors(exc)
        detail = (
            "เนื้อหาคำขอไม่ใช่ JSON ที่ถูกต้อง (malformed JSON)"
            if status == 400
            else "ข้อมูลในคำขอไม่ถูกต้อง (request does not match the schema)"
        )
        return problem(status, "malformed_json" if status == 400 else "invalid_request", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, f"http_{exc.status_code}", str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "เกิดข้อผิดพลาดภายในระบบ โปรดแจ้งผู้ดูแลระบบ (internal error)")
