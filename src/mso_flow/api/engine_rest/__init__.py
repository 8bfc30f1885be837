"""Camunda 7's REST API at `/engine-rest`, for Camunda Modeler's Deploy button, the official external-task
clients and Tasklist-style scripts. It only translates: every call goes to the same services as `/api/v1`
(one engine path, one permission model), with Camunda's shapes, typed variables and error bodies."""

from __future__ import annotations

from fastapi import FastAPI

from mso_flow.api.engine_rest import camunda_errors as errors
from mso_flow.api.engine_rest.params import PREFIX
from mso_flow.api.engine_rest.routers import (
    attachments,
    definitions,
    deployments,
    engine,
    external_tasks,
    history,
    identity,
    instances,
    messages,
    tasks,
)

__all__ = ["PREFIX", "create"]


def create(parent: FastAPI) -> FastAPI:
    """The `/engine-rest` application; it serves with the services of `parent` (set at its start-up)."""
    app = FastAPI(
        title="MSO Flow — Camunda 7 REST API",
        description="The subset of Camunda 7's engine-rest that Camunda Modeler and the official clients use.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.parent = parent
    errors.install(app)
    for module in (
        engine,
        deployments,
        definitions,
        instances,
        tasks,
        attachments,
        messages,
        external_tasks,
        history,
        identity,
    ):
        app.include_router(module.router)
    return app
