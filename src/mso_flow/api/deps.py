"""Request dependencies: the services container, the authenticated caller, pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from mso_flow.services.accounts import users
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/users or MSO_FLOW_ADMIN_TOKEN")


async def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def get_caller(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of the bearer token, looked up on every request (a revoked token fails at once)."""
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("no_token", "ต้องส่ง Authorization: Bearer <token> (missing bearer token)")
    if services.reads_inline:  # `Services.reads_inline`: a local file read beats a thread hand-off
        caller = users.authenticate(services, credentials.credentials)
    else:
        caller = await run_in_threadpool(users.authenticate, services, credentials.credentials)
    if caller is None:
        raise Unauthenticated("unknown_token", "โทเค็นไม่ถูกต้อง (unknown token)")
    request.state.user = caller.username  # for the request log
    return caller


@dataclass(frozen=True)
class Paging:
    """`?offset=&limit=` of every list (limit at most 500)."""

    offset: int
    limit: int


async def paging(
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Paging:
    return Paging(offset, limit)


ServicesDep = Annotated[Services, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(get_caller)]
PagingDep = Annotated[Paging, Depends(paging)]
