"""POST /deployments: designers deploy BPMN files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mso_flow.api import views
from mso_flow.api.deps import CallerDep, ServicesDep
from mso_flow.schemas.common import Problem
from mso_flow.schemas.definitions import DeploymentResult
from mso_flow.services import definitions
from mso_flow.services.errors import Invalid

router = APIRouter(tags=["deployments"])
MAX_FILE_NAME = 200


@router.post(
    "/deployments",
    response_model=DeploymentResult,
    status_code=201,
    responses={
        200: {"model": DeploymentResult, "description": "nothing changed: the existing versions"},
        403: {"model": Problem, "description": "approve_privacy_changes from someone not a privacy officer"},
        422: {"model": Problem, "description": "invalid BPMN, or privacy marks weakened; nothing deployed"},
    },
)
async def deploy(
    caller: CallerDep,
    services: ServicesDep,
    files: Annotated[list[UploadFile], File(description="one or more .bpmn files")],
    approve_privacy_changes: Annotated[
        bool, Form(description="a privacy officer approves versions that weaken privacy marks (else 422)")
    ] = False,
) -> JSONResponse:
    """Deploy files all or nothing; a new version for each process whose XML changed (role designer or admin). A
    version that weakens the privacy marks of a deployed process (personal, sensitive, secrecy, retention) is
    refused (422 `privacy_marks_weakened`) unless a privacy officer sends `approve_privacy_changes=true`."""
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
    deployed = await run_in_threadpool(
        definitions.deploy, services, caller, contents, approve_privacy_changes=approve_privacy_changes
    )
    result = DeploymentResult(
        definitions=[views.definition_summary(d.definition, services.model(d.definition)) for d in deployed],
        created=[d.definition.id for d in deployed if d.created],
        unchanged=[d.definition.id for d in deployed if not d.created],
        warnings=[
            f"{d.definition.id}: ช่อง (lane) {lane!r} ไม่มีในไฟล์บทบาท จึงมอบให้แต่ละส่วน: {', '.join(model.lane_roles[lane])} "
            f"(lane not in the roles file; offered to each part)"
            for d in deployed
            if d.created
            for model in [services.model(d.definition)]
            for lane in model.split_lanes
        ],
    )
    status = 201 if result.created else 200
    return JSONResponse(result.model_dump(mode="json"), status_code=status)
