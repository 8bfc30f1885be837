"""The FastAPI application: routers, error handlers, limits, and the services it runs with."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from mso_flow import __version__
from mso_flow.api import database_errors, engine_rest, explorer, web
from mso_flow.api import problems as errors
from mso_flow.api.body_limits import BodyLimit
from mso_flow.api.input_guard import InputGuard
from mso_flow.api.observe import Observe
from mso_flow.api.routers import (
    definitions,
    deployments,
    documents,
    external_tasks,
    health,
    incidents,
    instances,
    messages,
    metrics,
    notifications,
    privacy,
    reports,
    tasks,
    users,
    webhooks,
)
from mso_flow.services.integrations import wakeups
from mso_flow.services.platform import key_locations
from mso_flow.services.platform.context import Services
from mso_flow.services.platform.loops import BackgroundLoops
from mso_flow.services.platform.statements import sql_stats_enabled
from mso_flow.settings import Settings, get_settings
from mso_flow.telemetry import logs

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
# The /api/v1 routers in the order requests are matched: FastAPI tries the routes one by one (a router it skips
# still costs a few µs a route), so the routers of the busiest calls come first: tasks (claim, complete) and
# instances (start). No route of one router matches a path of another (tests/api/test_routing.py), so the order
# changes no answer; the API explorer keeps the reading order through `OPENAPI_TAGS`.
API_ROUTERS = (
    tasks,
    instances,
    documents,
    users,
    notifications,
    definitions,
    deployments,
    privacy,
    messages,
    webhooks,
    external_tasks,
    reports,
    incidents,
)
OPENAPI_TAGS = [
    {"name": name}
    for name in (
        "health",
        "users",
        "process definitions",
        "deployments",
        "process instances",
        "personal data",
        "tasks",
        "documents",
        "notifications",
        "messages",
        "webhooks",
        "external tasks",
        "reports",
        "incidents",
    )
]
DESCRIPTION = """
MSO Flow runs the processes of the Work Manual FY2567 of สป.พม. as BPMN with SpiffWorkflow.

Every `/api/v1` call needs `Authorization: Bearer <token>`. Lists take `?offset=&limit=` (limit ≤ 500) and
answer `{"items", "total", "offset", "limit"}`. Errors are `application/problem+json` (RFC 9457) with a stable
`type` URN, a Thai `title` and `detail`, and `errors` for validation.
"""


def build_services(settings: Settings) -> Services:
    return Services.from_settings(settings)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The ASGI app; `services` may be given (tests), else it is built from `settings` at start-up."""
    settings = settings or (services.settings if services else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        app.state.services = services or build_services(settings)
        # Requests run their blocking use cases in a thread pool; a few threads per process keep the GIL from
        # thrashing between dozens of runnable threads (scale with processes, not threads).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        loops = BackgroundLoops(app.state.services) if own and settings.background else None
        if loops:
            loops.start()
        listener = wakeups.listen(settings.database_url) if own else None
        try:
            yield
        finally:
            if listener:
                listener.stop()
            if loops:
                loops.stop()
            if own:
                app.state.services.db.dispose()

    app = FastAPI(
        title="MSO Flow",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_tags=OPENAPI_TAGS,
    )
    if services is not None:
        app.state.services = services
    errors.install(app)
    database_errors.install(app)
    app.include_router(health.router)  # one route each, before the API: probes and scrapes need not pass it
    app.include_router(metrics.router)
    for module in API_ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
    app.mount(engine_rest.PREFIX, engine_rest.create(app))
    web.install(app)
    explorer.install(app)
    app.add_middleware(InputGuard, max_variables_bytes=settings.max_variables_bytes)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        max_document_bytes=settings.document_max_bytes,
    )
    if sql_stats_enabled():  # benchmarks only: X-SQL-Statements / X-SQL-Commits on every response
        from mso_flow.api.sql_stats import SqlStatsHeaders

        app.add_middleware(SqlStatsHeaders)
    app.add_middleware(Observe)  # sees every request, including refused bodies
    if settings.trusted_proxies:  # outermost: the client address (login limits, logs) and scheme a proxy forwarded
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app


def create_default_app() -> FastAPI:
    """Factory for `uvicorn --factory mso_flow.api.app:create_default_app` (each worker builds its own)."""
    settings = get_settings()
    logs.configure(settings.log_format, os.environ.get(logs.LEVEL_ENV, "INFO"))
    quiet_engine_logs()
    try:
        key_locations.check(settings)
    except key_locations.KeyLocationUnusable as err:
        log.error("%s", err)
        raise SystemExit(2) from None
    return create_app(settings)


def quiet_engine_logs() -> None:
    """SpiffWorkflow logs every task state change at INFO; the audit trail already records what matters, and
    formatting those lines costs a service process a good part of its CPU."""
    logging.getLogger("spiff").setLevel(logging.WARNING)
