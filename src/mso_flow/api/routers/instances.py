"""Process instances: start, read, list, cancel, audit trail (list, verify, export), diagram."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from mso_flow.api import exports
from mso_flow.api import presenters as views
from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import Page, Problem
from mso_flow.schemas.instances import (
    AuditEventOut,
    AuditVerification,
    CancelRequest,
    InstanceOut,
    MigrateRequest,
    StartRequest,
)
from mso_flow.services.definitions import diagrams
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.instances import migration
from mso_flow.services.instances import queries as instance_queries

router = APIRouter(tags=["process instances"])
InstanceId = Annotated[str, Path(max_length=64)]


@router.post(
    "/process-definitions/{key}/start",
    response_model=InstanceOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {
            "model": Problem,
            "description": "an instance with this business key is running; its id is in `instance_id`",
        }
    },
)
def start(
    key: Annotated[str, Path(max_length=64)], body: StartRequest, caller: CallerDep, services: ServicesDep
) -> Response:
    """Start the latest version of a process (integrator, admin, or a role of its first lane)."""
    started = instances.start(services, caller, key, body.business_key, body.variables)
    return views.json(views.instance(instance_queries.started(services, caller, started)), status.HTTP_201_CREATED)


@router.get("/process-instances", response_model=Page[InstanceOut])
def list_instances(
    caller: CallerDep,
    services: ServicesDep,
    paging: PagingDep,
    key: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    business_key: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[InstanceOut]:
    """Instances, newest first; staff must filter by a process they work in."""
    items, total = instance_queries.listing(
        services, caller, paging.offset, paging.limit, key=key, state=state, business_key=business_key
    )
    return Page(items=[views.instance(v) for v in items], total=total, offset=paging.offset, limit=paging.limit)


@router.get("/process-instances/{instance_id}", response_model=InstanceOut)
def get_instance(instance_id: InstanceId, caller: CallerDep, services: ServicesDep) -> InstanceOut:
    """An instance with its open tasks and its variables (`variables_visible: false` and none for callers who
    see the instance but are not among its people)."""
    return views.instance(instance_queries.get(services, caller, instance_id))


@router.post("/process-instances/{instance_id}/cancel", response_model=InstanceOut)
def cancel(instance_id: InstanceId, body: CancelRequest, caller: CallerDep, services: ServicesDep) -> InstanceOut:
    """Cancel a running instance and its open tasks (admin, or the integrator that started it)."""
    done = instances.cancel(services, caller, instance_id, body.reason)
    return views.instance(instance_queries.get(services, caller, done.instance_id))


@router.get("/process-instances/{instance_id}/audit", response_model=Page[AuditEventOut])
def audit(instance_id: InstanceId, caller: CallerDep, services: ServicesDep, paging: PagingDep) -> Page[AuditEventOut]:
    """The instance's audit trail in order: who did what, when."""
    items, total, visible = instance_queries.audit_page(services, caller, instance_id, paging.offset, paging.limit)
    return Page(
        items=[views.audit_event(e, visible) for e in items], total=total, offset=paging.offset, limit=paging.limit
    )


@router.post("/process-instances/{instance_id}/migrate", response_model=InstanceOut)
def migrate(instance_id: InstanceId, body: MigrateRequest, caller: CallerDep, services: ServicesDep) -> InstanceOut:
    """Move a running instance to another version (admin): 409 `migration_impossible` names the elements it
    ran or waits in that the target version lacks; open tasks keep their ids and assignees."""
    done = migration.migrate(services, caller, instance_id, body.version)
    return views.instance(instance_queries.get(services, caller, done.instance_id))


@router.get("/process-instances/{instance_id}/audit/verify", response_model=AuditVerification)
def verify_audit(instance_id: InstanceId, caller: CallerDep, services: ServicesDep) -> AuditVerification:
    """Re-hash the audit chain: `ok: false` names the first event edited, removed or inserted behind the API."""
    check = instances.verify_audit(services, caller, instance_id)
    return AuditVerification(ok=check.ok, events=check.events, first_bad_seq=check.first_bad_seq, reason=check.reason)


@router.get(
    "/process-instances/{instance_id}/audit/export",
    response_class=Response,
    responses={200: {"content": {exports.CSV: {}, exports.JSONL: {}}, "description": "every event, in order"}},
)
def export_audit(
    instance_id: InstanceId,
    caller: CallerDep,
    services: ServicesDep,
    format: Annotated[str, Query(pattern="^(csv|jsonl)$")] = "jsonl",
) -> Response:
    """The whole audit trail, with each event's hashes, as JSON lines or CSV (403 `instance_data_forbidden` unless
    the caller reads the instance's data)."""
    rows = [views.audit_row(e) for e in instance_queries.all_audit_events(services, caller, instance_id)]
    return exports.response(rows, format, f"audit-{instance_id}")


@router.get(
    "/process-instances/{instance_id}/diagram.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "the instance's progress on its diagram"}},
)
def get_diagram(instance_id: InstanceId, caller: CallerDep, services: ServicesDep) -> Response:
    """The instance's process with completed (green) and active (orange) tasks and how often each ran."""
    return Response(content=diagrams.instance_svg(services, caller, instance_id), media_type="image/svg+xml")
