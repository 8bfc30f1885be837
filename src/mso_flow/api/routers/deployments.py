"""POST /deployments: designers deploy BPMN and DMN files; GET /decision-definitions: the decisions deployed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mso_flow.api import presenters as views
from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import Page, Problem
from mso_flow.schemas.definitions import DecisionSummary, DeploymentResult
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.failures import Invalid

router = APIRouter(tags=["deployments"])
MAX_FILE_NAME = 200


@router.post(
    "/deployments",
    response_model=DeploymentResult,
    status_code=201,
    responses={
        200: {"model": DeploymentResult, "description": "nothing changed: the existing versions"},
        403: {"model": Problem, "description": "approve_privacy_changes from someone not a privacy officer"},
        422: {
            "model": Problem,
            "description": "errors of the verdict (`errors`, warnings too) or weakened privacy marks; nothing deployed",
        },
    },
)
async def deploy(
    caller: CallerDep,
    services: ServicesDep,
    files: Annotated[list[UploadFile], File(description="one or more .bpmn files, and the .dmn files they use")],
    approve_privacy_changes: Annotated[
        bool, Form(description="a privacy officer approves versions that weaken privacy marks (else 422)")
    ] = False,
) -> JSONResponse:
    """Deploy files all or nothing (role designer or admin): refused when the verdict finds an error, deployed
    with its warnings otherwise; a new version for each process and decision whose file changed. A call activity
    may call a process of another file of the deployment or one deployed before, a business rule task evaluate a
    decision of a `.dmn` file of the deployment or deployed before. A version that weakens the privacy marks of a
    deployed process (personal, sensitive, secrecy, retention) is refused (422 `privacy_marks_weakened`) unless a
    privacy officer sends `approve_privacy_changes=true`."""
    limit = services.settings.max_upload_bytes
    contents = []
    for upload in files:
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise Invalid("file_too_large", f"ไฟล์ {upload.filename} ใหญ่เกิน {limit} ไบต์ (file too large)")
        name = upload.filename or "upload.bpmn"
        if len(name) > MAX_FILE_NAME or "\x00" in name:
            raise Invalid(
                "invalid_file_name",
                f"ชื่อไฟล์ต้องยาวไม่เกิน {MAX_FILE_NAME} ตัวอักษร (file names: at most {MAX_FILE_NAME} characters)",
            )
        contents.append((name, data))
    outcome = await run_in_threadpool(
        definitions.deploy_files, services, caller, contents, approve_privacy_changes=approve_privacy_changes
    )
    result = DeploymentResult(
        definitions=[views.definition_summary(d.definition, d.definition.model) for d in outcome.processes],
        decisions=[views.decision_summary(d.decision) for d in outcome.decisions],
        created=[d.definition.id for d in outcome.processes if d.created]
        + [d.decision.id for d in outcome.decisions if d.created],
        unchanged=[d.definition.id for d in outcome.processes if not d.created]
        + [d.decision.id for d in outcome.decisions if not d.created],
        warnings=[str(p) for p in outcome.warnings],
    )
    status = 201 if result.created else 200
    return JSONResponse(result.model_dump(mode="json"), status_code=status)


@router.get("/decision-definitions", response_model=Page[DecisionSummary])
def list_decisions(caller: CallerDep, services: ServicesDep, paging: PagingDep) -> Page[DecisionSummary]:
    """The latest version of each DMN decision, by key (what `camunda:decisionRef` names)."""
    items, total = definitions.decisions(services, paging.offset, paging.limit)
    return Page(items=[views.decision_summary(d) for d in items], total=total, offset=paging.offset, limit=paging.limit)
