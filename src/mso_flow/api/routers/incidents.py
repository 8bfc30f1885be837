"""Incidents: process errors waiting for an administrator (list, read, resolve with a reason, retry)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import Page, Request
from mso_flow.services.instances import incidents
from mso_flow.services.instances.incidents import IncidentFilter, IncidentRecord

router = APIRouter(prefix="/incidents", tags=["incidents"])
IncidentId = Annotated[str, Path(max_length=64)]


class IncidentOut(BaseModel):
    id: str
    instance_id: str | None
    definition_id: str
    definition_key: str
    unit: str | None
    element_id: str | None
    element_name: str | None
    kind: str = Field(
        description="expression, script, limit, serialization, engine, timer, external_task, or unreadable_value (a "
        "stored sealed value that does not open: services/privacy/unreadable.py)"
    )
    message_th: str
    message_en: str
    variables: list[str] = Field(description="names of the variables the failing step reads (never values)")
    state: str
    created_at: datetime
    created_by: str
    retries: int
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class ResolveRequest(Request):
    reason: str = Field(min_length=1, max_length=2000)


def _out(incident: IncidentRecord) -> IncidentOut:
    return IncidentOut.model_validate(incident, from_attributes=True)


@router.get("", response_model=Page[IncidentOut])
def list_incidents(
    caller: CallerDep,
    services: ServicesDep,
    paging: PagingDep,
    key: Annotated[str | None, Query(max_length=64, description="process key")] = None,
    unit: Annotated[str | None, Query(max_length=200, description="unit name as in the manual")] = None,
    state: Annotated[str | None, Query(pattern="^(open|resolved)$")] = None,
    instance_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[IncidentOut]:
    """Incidents, newest first (admin or designer)."""
    f = IncidentFilter(key=key, unit=unit, state=state, instance_id=instance_id)
    items, total = incidents.listing(services, caller, f, paging.offset, paging.limit)
    return Page(items=[_out(i) for i in items], total=total, offset=paging.offset, limit=paging.limit)


@router.get("/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: IncidentId, caller: CallerDep, services: ServicesDep) -> IncidentOut:
    return _out(incidents.get(services, caller, incident_id))


@router.post("/{incident_id}/resolve", response_model=IncidentOut)
def resolve(incident_id: IncidentId, body: ResolveRequest, caller: CallerDep, services: ServicesDep) -> IncidentOut:
    """Close an incident with the reason (admin)."""
    return _out(incidents.resolve(services, caller, incident_id, body.reason))


@router.post("/{incident_id}/retry", response_model=IncidentOut)
def retry(incident_id: IncidentId, caller: CallerDep, services: ServicesDep) -> IncidentOut:
    """Run the instance again where it failed, after deploying a fix and migrating the instance (admin); 409
    `retry_failed` when it fails again."""
    return _out(incidents.retry(services, caller, incident_id))
