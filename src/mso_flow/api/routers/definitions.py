"""Process definitions and their versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from mso_flow.api import presenters as views
from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import MAX_VERSION, Page
from mso_flow.schemas.definitions import ChangesOut, DefinitionDetail, DefinitionSummary, VersionDiffOut
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.definitions import diagrams

router = APIRouter(prefix="/process-definitions", tags=["process definitions"])
Key = Annotated[str, Path(max_length=64, description="process key (the BPMN process id)")]


@router.get("", response_model=Page[DefinitionSummary])
def list_definitions(
    caller: CallerDep,
    services: ServicesDep,
    paging: PagingDep,
    key: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in the Thai name or the key")] = None,
    unit: Annotated[str | None, Query(max_length=200, description="unit name as in the manual")] = None,
) -> Page[DefinitionSummary]:
    """The latest version of each process."""
    items, total = definitions.listing(services, paging.offset, paging.limit, key=key, q=q, unit=unit)
    return Page(
        items=[views.definition_summary(d, m) for d, m in items],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


@router.get("/{key}", response_model=DefinitionDetail)
def get_definition(key: Key, caller: CallerDep, services: ServicesDep) -> DefinitionDetail:
    """The latest version with its user tasks, lanes, standard durations and forms."""
    definition, model = definitions.latest(services, key)
    return views.definition_detail(definition, model)


@router.get("/{key}/versions", response_model=Page[DefinitionSummary])
def list_versions(key: Key, caller: CallerDep, services: ServicesDep, paging: PagingDep) -> Page[DefinitionSummary]:
    """Every deployed version of a process, newest first."""
    items, total = definitions.versions(services, key, paging.offset, paging.limit)
    return Page(
        items=[views.definition_summary(d, d.model) for d in items],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


@router.get(
    "/{key}/xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "the BPMN file as deployed"}},
)
def get_xml(
    key: Key,
    caller: CallerDep,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> Response:
    """The BPMN XML of a version (the latest by default), byte for byte as deployed."""
    definition = definitions.version(services, key, version)
    return Response(content=bytes(definition.bpmn_xml), media_type="application/xml")


SVG = "image/svg+xml"


@router.get(
    "/{key}/diagram.svg",
    response_class=Response,
    responses={200: {"content": {SVG: {}}, "description": "the process drawn from its BPMN DI"}},
)
def get_diagram(
    key: Key,
    caller: CallerDep,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> Response:
    """The process as an SVG swimlane diagram (pool, lanes, Thai labels, gateways, flows)."""
    return Response(content=diagrams.definition_svg(services, key, version), media_type=SVG)


@router.get("/{key}/diff", response_model=VersionDiffOut)
def get_diff(
    key: Key,
    caller: CallerDep,
    services: ServicesDep,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_VERSION, description="the older version")],
    to: Annotated[int | None, Query(ge=1, le=MAX_VERSION, description="the newer version (latest by default)")] = None,
) -> VersionDiffOut:
    """What changed between two versions: tasks, lanes and flows added, removed or renamed."""
    before, after, changes = definitions.diff(services, key, from_, to)
    return VersionDiffOut(
        key=key,
        from_version=before.version,
        to_version=after.version,
        unchanged=changes.unchanged,
        tasks=ChangesOut(**vars(changes.tasks)),
        lanes=ChangesOut(**vars(changes.lanes)),
        flows=ChangesOut(**vars(changes.flows)),
    )
