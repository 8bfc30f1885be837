"""Database failures as problems: unavailable → 503 with `Retry-After`, a constraint another request won → 409,
a value the column cannot hold → 422. Backstops behind the services' own checks, never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from mso_flow.api.problems import problem

log = logging.getLogger("mso_flow.api")
RETRY_AFTER_SECONDS = 5


def unavailable() -> JSONResponse:
    return problem(
        503,
        "database_unavailable",
        "ฐานข้อมูลไม่พร้อมใช้งานชั่วคราว โปรดลองใหม่ภายหลัง (the database is unavailable; retry later)",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install(app: FastAPI) -> None:
    """Register the handlers (more specific classes first: FastAPI looks handlers up by the exception's MRO)."""

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("constraint violation on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem(409, "conflict", "ข้อมูลขัดแย้งกับรายการที่มีอยู่แล้ว โปรดลองใหม่ (conflicts with existing data)")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        return problem(422, "invalid_value", "ค่าที่ส่งมาเกินขอบเขตที่เก็บได้ (a value is out of range for storage)")

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        return problem(422, "invalid_value", "ตัวเลขใหญ่เกินไป (a number is out of range)")

    for kind in (OperationalError, InterfaceError, PoolTimeout):

        @app.exception_handler(kind)
        async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
            log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
            return unavailable()

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return unavailable()
        log.exception("database error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "เกิดข้อผิดพลาดภายในระบบ โปรดแจ้งผู้ดูแลระบบ (internal error)")
