"""Deployments as Camunda Modeler's Deploy button sends them: multipart with `deployment-name`,
`deploy-changed-only`, `enable-duplicate-filtering`, `deployment-source`, `tenant-id` and one part per file
(`.bpmn`, and `.dmn` decision tables). Camunda's answer has no field for warnings: the verdict's warnings are
logged by the deployment and kept with each version it creates (`GET /api/v1/process-definitions/{key}`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from mso_flow.api.engine_rest import dto
from mso_flow.api.engine_rest.auth import CallerDep, ServicesDep
from mso_flow.api.engine_rest.params import PageDep, base_url
from mso_flow.domain import DefinitionSource
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.failures import BadRequest

router = APIRouter(tags=["deployment"])
FIELDS = {
    "deployment-name",
    "deploy-changed-only",
    "enable-duplicate-filtering",
    "deployment-source",
    "tenant-id",
    "deployment-activation-time",
}
OTHER_RESOURCES = (".form", ".cmmn", ".html", ".json", ".js", ".png", ".svg")
SOURCE_LENGTH = 16


@router.post("/deployment/create")
async def create(request: Request, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest("multipart_required", "ต้องส่งแบบ multipart/form-data (multipart/form-data expected)")
    form = await request.form(max_files=definitions.MAX_FILES, max_fields=50)
    files: list[tuple[str, bytes]] = []
    fields: dict[str, str] = {}
    for field, value in form.multi_items():
        if isinstance(value, UploadFile):
            resource = value.filename or field
            if resource.lower().endswith(OTHER_RESOURCES):
                raise BadRequest(
                    "unsupported_resource",
                    f"รองรับเฉพาะไฟล์ BPMN และ DMN: {resource} (only BPMN and DMN resources can be deployed; forms "
                    "and CMMN cannot)",
                )
            files.append((resource, await value.read()))
        elif field in FIELDS:
            fields[field] = str(value)
    if fields.get("tenant-id"):
        raise BadRequest("tenants_unsupported", "ไม่รองรับ tenant (multi-tenancy is not supported)")
    name = fields.get("deployment-name") or None
    source = (fields.get("deployment-source") or "engine-rest")[:SOURCE_LENGTH]
    outcome = await run_in_threadpool(definitions.deploy_files, services, caller, files, DefinitionSource.API, name)
    created = [d.definition for d in outcome.processes if d.created]
    decisions = [d.decision for d in outcome.decisions if d.created]
    versions = [(d.definition.deployment_id, d.definition.deployed_at, d.created) for d in outcome.processes]
    versions += [(d.decision.deployment_id, d.decision.deployed_at, d.created) for d in outcome.decisions]
    # nothing changed: Camunda answers the deployment of the existing versions, without new definitions
    deployment_id, at, _ = next((v for v in versions if v[2]), versions[0])
    return dto.deployment(deployment_id, name, source, at, created, base_url(request), decisions)


@router.get("/deployment")
async def listing(
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    page: PageDep,
    name: str | None = None,
    source: str | None = None,
) -> list[dict[str, Any]]:
    items, _ = await run_in_threadpool(definitions.deployments, services, page.offset, page.limit, name, source)
    return [dto.deployment(d.id, d.name, d.source, d.deployed_at, base_url=base_url(request)) for d in items]


@router.get("/deployment/count")
async def count(
    services: ServicesDep, caller: CallerDep, name: str | None = None, source: str | None = None
) -> dict[str, int]:
    _, total = await run_in_threadpool(definitions.deployments, services, 0, 0, name, source)
    return {"count": total}


@router.get("/deployment/{deployment_id}")
async def get(request: Request, deployment_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    found, _ = await run_in_threadpool(definitions.deployment, services, deployment_id)
    return dto.deployment(found.id, found.name, found.source, found.deployed_at, base_url=base_url(request))
