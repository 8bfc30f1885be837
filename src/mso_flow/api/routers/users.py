"""The caller, user administration (roles, activation, tokens), the known roles and the admin audit chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from mso_flow.api import presenters as views
from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import Page
from mso_flow.schemas.instances import AuditEventOut, AuditVerification
from mso_flow.schemas.users import (
    Me,
    PasswordChange,
    PasswordSet,
    PasswordSetOut,
    RoleOut,
    TokenOut,
    UserCreate,
    UserCreated,
    UserOut,
    UserPut,
    UserUpdate,
)
from mso_flow.services.accounts import logins as accounts
from mso_flow.services.accounts import users

router = APIRouter(tags=["users"])
Username = Annotated[str, Path(max_length=100)]


def _user(user: users.Account) -> UserOut:
    return UserOut.model_validate(user)


def _email(body: UserUpdate) -> users.EmailChange | None:
    """The address change a body asks for: none unless `email` is in it (null removes the address)."""
    return users.EmailChange(body.email) if "email" in body.model_fields_set else None


@router.get("/me", response_model=Me)
def me(caller: CallerDep) -> Me:
    """Who the bearer token belongs to."""
    return Me(username=caller.username, roles=sorted(caller.roles))


@router.get("/roles", response_model=list[RoleOut])
def roles(caller: CallerDep, services: ServicesDep) -> list[RoleOut]:
    """Every known role: the built-in ones and the lane roles of the latest deployed processes, with where each
    comes from."""
    return [RoleOut.model_validate(role) for role in users.known_roles(services, caller)]


@router.post("/users", response_model=UserCreated, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, caller: CallerDep, services: ServicesDep) -> UserCreated:
    """Create a user (admin). The token is returned once; only its hash is stored. A role that is not known is
    refused (422 naming the closest known roles) unless `force` is true. An optional `password` (at least 10
    characters, stored as an argon2 hash) lets the person log in to the web app at `/app`."""
    user, token = accounts.create_user(
        services, caller, body.username, body.roles, body.password, body.force, body.email
    )
    return UserCreated(**_user(user).model_dump(), token=token)


@router.get("/users", response_model=Page[UserOut])
def list_users(caller: CallerDep, services: ServicesDep, paging: PagingDep) -> Page[UserOut]:
    """Every user with their roles (admin)."""
    items, total = users.list_users(services, caller, paging.offset, paging.limit)
    return Page(items=[_user(u) for u in items], total=total, offset=paging.offset, limit=paging.limit)


@router.get("/users/{username}", response_model=UserOut)
def get_user(username: Username, caller: CallerDep, services: ServicesDep) -> UserOut:
    """A user (admin, or the user themself)."""
    return _user(users.get_user(services, caller, username))


@router.patch("/users/{username}", response_model=UserOut)
def update_user(username: Username, body: UserUpdate, caller: CallerDep, services: ServicesDep) -> UserOut:
    """Change a user's roles, deactivate or reactivate them, and/or set or remove (`null`) their e-mail address
    (admin); audited."""
    return _user(users.update_user(services, caller, username, body.roles, body.active, body.force, _email(body)))


@router.put("/users/{username}", response_model=UserOut)
def replace_user(username: Username, body: UserPut, caller: CallerDep, services: ServicesDep) -> UserOut:
    """Set a user's roles and activity, and their e-mail address when given (admin); audited."""
    return _user(users.update_user(services, caller, username, body.roles, body.active, body.force, _email(body)))


@router.post("/users/{username}/token", response_model=TokenOut)
def rotate_token(username: Username, caller: CallerDep, services: ServicesDep) -> TokenOut:
    """Issue a new token (admin, or the user themself); the old token stops working at once. Shown this once."""
    return TokenOut(username=username, token=users.rotate_token(services, caller, username))


@router.delete("/users/{username}/token", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(username: Username, caller: CallerDep, services: ServicesDep) -> Response:
    """Revoke the user's token (admin, or the user themself); it stops working at once."""
    users.revoke_token(services, caller, username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit/admin", response_model=Page[AuditEventOut])
def admin_audit(caller: CallerDep, services: ServicesDep, paging: PagingDep) -> Page[AuditEventOut]:
    """The admin audit chain (user administration), oldest first (admin)."""
    items, total = users.admin_audit(services, caller, paging.offset, paging.limit)
    return Page(items=[views.audit_event(e) for e in items], total=total, offset=paging.offset, limit=paging.limit)


@router.get("/audit/admin/verify", response_model=AuditVerification)
def verify_admin_audit(caller: CallerDep, services: ServicesDep) -> AuditVerification:
    """Re-hash the admin audit chain: `ok: false` names the first event changed behind the API (admin)."""
    check = users.verify_admin_audit(services, caller)
    return AuditVerification(ok=check.ok, events=check.events, first_bad_seq=check.first_bad_seq, reason=check.reason)


@router.put("/users/{username}/password", response_model=PasswordSetOut)
def set_password(username: Username, body: PasswordSet, caller: CallerDep, services: ServicesDep) -> PasswordSetOut:
    """Set or reset another person's web-app password (admin; not their own, nor a privacy officer's or auditor's):
    the given one, or a one-time password returned once. They must choose their own at their next login; their
    browser sessions end."""
    one_time = accounts.reset_password(services, caller, username, body.password)
    return PasswordSetOut(username=username, one_time_password=one_time, must_change=True)


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChange, caller: CallerDep, services: ServicesDep) -> Response:
    """Change the caller's web-app password (the current one must be given; 403 if wrong)."""
    accounts.change_password(services, caller, body.current, body.new)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
