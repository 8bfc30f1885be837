"""The caller and user administration."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import Page
from mso_flow.schemas.users import Me, PasswordChange, UserCreate, UserCreated, UserOut
from mso_flow.services import accounts, users

router = APIRouter(tags=["users"])


@router.get("/me", response_model=Me)
def me(caller: CallerDep) -> Me:
    """Who the bearer token belongs to."""
    return Me(username=caller.username, roles=sorted(caller.roles))


@router.post("/users", response_model=UserCreated, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, caller: CallerDep, services: ServicesDep) -> UserCreated:
    """Create a user (admin). The token is returned once; only its hash is stored. An optional `password`
    (at least 10 characters, stored as an argon2 hash) lets the person log in to the web app at `/app`."""
    user, token = accounts.create_user(services, caller, body.username, body.roles, body.password)
    return UserCreated(username=user.username, roles=user.roles, token=token)


@router.get("/users", response_model=Page[UserOut])
def list_users(caller: CallerDep, services: ServicesDep, paging: PagingDep) -> Page[UserOut]:
    """Every user with their roles (admin)."""
    items, total = users.list_users(services, caller, paging.offset, paging.limit)
    return Page(
        items=[UserOut(username=u.username, roles=u.roles) for u in items],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChange, caller: CallerDep, services: ServicesDep) -> Response:
    """Change the caller's web-app password (the current one must be given; 403 if wrong)."""
    accounts.change_password(services, caller, body.current, body.new)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
