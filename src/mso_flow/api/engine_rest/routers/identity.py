"""Users and groups as Camunda shows them: a group is an MSO Flow role; users carry no names or e-mails here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from mso_flow.api.engine_rest.auth import CallerDep, ServicesDep
from mso_flow.api.engine_rest.params import PageDep
from mso_flow.domain import BUILT_IN_ROLES
from mso_flow.services.accounts import directory
from mso_flow.services.platform.context import Caller, Services

router = APIRouter(tags=["identity"])


def _profile(user: directory.Member) -> dict[str, Any]:
    return {"id": user.username, "firstName": None, "lastName": None, "email": None}


def _users(
    services: Services, caller: Caller, offset: int, limit: int, username: str | None, group: str | None
) -> tuple[list[dict[str, Any]], int]:
    if username:
        found = directory.user(services, caller, username)
        rows = [found] if group is None or group in found.roles else []
        return [_profile(u) for u in rows][offset : offset + limit], len(rows)
    if group:
        rows, total = directory.members(services, caller, group, offset, limit)
    else:
        rows, total = directory.everyone(services, caller, offset, limit)
    return [_profile(u) for u in rows], total


@router.get("/user")
async def users(
    services: ServicesDep,
    caller: CallerDep,
    page: PageDep,
    id: str | None = None,
    memberOfGroup: str | None = None,
) -> list[dict[str, Any]]:
    items, _ = await run_in_threadpool(_users, services, caller, page.offset, page.limit, id, memberOfGroup)
    return items


@router.get("/user/count")
async def user_count(
    services: ServicesDep,
    caller: CallerDep,
    id: str | None = None,
    memberOfGroup: str | None = None,
) -> dict[str, int]:
    _, total = await run_in_threadpool(_users, services, caller, 0, 0, id, memberOfGroup)
    return {"count": total}


@router.get("/user/{user_id}/profile")
async def profile(user_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return _profile(await run_in_threadpool(directory.user, services, caller, user_id))


@router.get("/group")
async def groups(
    services: ServicesDep, caller: CallerDep, page: PageDep, member: str | None = None
) -> list[dict[str, Any]]:
    found = await run_in_threadpool(directory.user, services, caller, member or caller.username)
    roles = sorted(found.roles)[page.offset : page.offset + page.limit]
    return [{"id": r, "name": r, "type": "SYSTEM" if r in BUILT_IN_ROLES else "WORKFLOW"} for r in roles]
