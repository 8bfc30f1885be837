"""GET /health: liveness and readiness without authentication."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from mso_flow.api.deps import ServicesDep
from mso_flow.services.definitions import deployment as definitions

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str
    definitions: int


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(services: ServicesDep) -> Health | JSONResponse:
    """Whether the service and its database answer, and how many processes are deployed."""
    try:
        count = definitions.count(services)
    except SQLAlchemyError:
        body = Health(status="degraded", database="unavailable", definitions=0)
        return JSONResponse(body.model_dump(), status_code=503)
    return Health(status="ok", database="ok", definitions=count)
