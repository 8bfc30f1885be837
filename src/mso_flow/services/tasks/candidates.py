"""Who may work a task besides its lane's roles: Camunda's `candidateUsers` and `assignee`.

A named user is a candidate through a personal role `user:<username>` stored with the task's candidate roles
(so inbox, claim and permission checks need no second mechanism); every caller implicitly holds their own
personal role, and no real role may start with `user:`. Process starters (`candidateStarterGroups`,
`candidateStarterUsers`) are matched the same way. An `assignee` (a user name, or `${variable}` naming a
process variable that holds one) becomes the task's assignee when the task is created.
"""

from __future__ import annotations

import re
from typing import Any

from mso_flow.engine.model import ProcessDef, UserTaskDef
from mso_flow.services.platform.context import Caller

PERSONAL_PREFIX = "user:"
_VARIABLE = re.compile(r"^\$\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}$")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


def personal_role(username: str) -> str:
    return f"{PERSONAL_PREFIX}{username}"


def roles_of(caller: Caller) -> frozenset[str]:
    """The caller's roles plus their personal role: what a task's candidate roles are matched against."""
    return caller.roles | {personal_role(caller.username)}


def is_personal(role: str) -> bool:
    return role.startswith(PERSONAL_PREFIX)


def user_roles(task: UserTaskDef | None) -> list[str]:
    """Personal roles of the task's literal candidate users (expressions are not resolved)."""
    if task is None:
        return []
    return [personal_role(u) for u in task.candidate_users if _USERNAME.match(u)]


def initial_assignee(task: UserTaskDef | None, variables: dict[str, Any]) -> str | None:
    """The user a new task starts assigned to: a literal `camunda:assignee`, or the user name held by the
    variable a `${name}` expression names; None when there is none or it is not a user name."""
    if task is None or not task.assignee:
        return None
    match = _VARIABLE.match(task.assignee.strip())
    value = variables.get(match.group(1)) if match else task.assignee.strip()
    return value if isinstance(value, str) and _USERNAME.match(value) else None


def may_start(caller: Caller, model: ProcessDef) -> bool:
    """Camunda's `candidateStarterGroups` / `candidateStarterUsers` of the process name the caller."""
    starters = set(model.starter_groups) | {personal_role(u) for u in model.starter_users}
    return bool(roles_of(caller) & starters)
