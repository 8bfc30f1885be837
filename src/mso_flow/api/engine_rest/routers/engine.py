"""`GET /version` and `GET /engine`: what Camunda Modeler and clients call to check the connection."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mso_flow.api.engine_rest.auth import CallerDep

router = APIRouter(tags=["engine"])
CAMUNDA_VERSION = "7.22.0"  # the Camunda 7 REST API level this façade follows


@router.get("/version")
async def version(caller: CallerDep) -> dict[str, Any]:
    return {"version": CAMUNDA_VERSION}


@router.get("/engine")
async def engines(caller: CallerDep) -> list[dict[str, Any]]:
    return [{"name": "default"}]
