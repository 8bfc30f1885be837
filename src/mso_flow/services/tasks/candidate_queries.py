"""Task queries by candidate user (Camunda's `candidateUser`): the open, unassigned tasks a named user could
claim through their roles or as a named candidate user."""

from __future__ import annotations

from mso_flow.services import policy
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden, Invalid
from mso_flow.services.tasks.candidates import personal_role, roles_of
from mso_flow.services.tasks.queries import page, require_sort
from mso_flow.services.tasks.records import TaskRecord
from mso_flow.store import users as users_store
from mso_flow.store.tasks import TaskFilter


def user_roles(services: Services, caller: Caller, username: str) -> frozenset[str]:
    """Everything that makes `username` a candidate: their roles and personal role (self, admin, integrator)."""
    if username == caller.username:
        return roles_of(caller)
    if not policy.oversees_tasks(caller):
        raise Forbidden("tasks_forbidden", "ดูได้เฉพาะงานของตนเองหรือบทบาทของตน (staff see their own tasks)")
    with services.db.read() as session:
        user = users_store.by_username(session, username)
    if user is None:
        raise Invalid("unknown_user", f"ไม่พบผู้ใช้ {username} (unknown user)", username=username)
    return frozenset(user.roles) | {personal_role(username)}


def for_candidate_user(
    services: Services, caller: Caller, username: str, f: TaskFilter, offset: int, limit: int, include_assigned: bool
) -> tuple[list[TaskRecord], int]:
    """Open tasks `username` may work, unassigned ones only unless `include_assigned`; `f` narrows further."""
    require_sort(f)
    f.workable_by = (username, tuple(sorted(user_roles(services, caller, username))))
    f.unassigned = None if include_assigned else True
    return page(services, f, offset, limit)
