"""Who holds which role (Camunda's users and groups): everyone may read their own roles and the members of a
role they hold (to delegate within it); admins and integrators may read any user's roles and any role's
members. Users are answered as frozen `Member` views (a name and its roles), never as rows."""

from __future__ import annotations

from dataclasses import dataclass

from mso_flow.services import policy
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden, NotFound
from mso_flow.store import users as store
from mso_flow.store.models import User


@dataclass(frozen=True)
class Member:
    """A user as the directory shows them: the name and the roles it holds."""

    username: str
    roles: tuple[str, ...]


def _member(user: User) -> Member:
    return Member(user.username, tuple(user.roles))


def _page(found: tuple[list[User], int]) -> tuple[list[Member], int]:
    rows, total = found
    return [_member(u) for u in rows], total


def _forbidden() -> Forbidden:
    return Forbidden("directory_forbidden", "ดูได้เฉพาะข้อมูลของตนเองและบทบาทของตน (own user and roles only)")


def user(services: Services, caller: Caller, username: str) -> Member:
    """A user, for themselves or the directory roles (404 unknown)."""
    if not policy.may_read_user(caller, username):
        raise _forbidden()
    with services.db.read() as session:
        found = store.by_username(session, username)
    if found is None:
        raise NotFound("user_not_found", f"ไม่พบผู้ใช้ {username} (user not found)")
    return _member(found)


def members(services: Services, caller: Caller, role: str, offset: int, limit: int) -> tuple[list[Member], int]:
    """Users holding `role`, for its members and the directory roles."""
    if not policy.may_read_role_members(caller, role):
        raise _forbidden()
    with services.db.read() as session:
        return _page(store.with_role(session, role, offset, limit))


def everyone(services: Services, caller: Caller, offset: int, limit: int) -> tuple[list[Member], int]:
    if not policy.reads_directory(caller):
        raise _forbidden()
    with services.db.read() as session:
        return _page(store.listing(session, offset, limit))
