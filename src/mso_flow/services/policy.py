"""Who may do what: every permission rule of MSO Flow as a named predicate.

Each predicate takes the caller and the thing asked about and answers True or False; it never reads the
database and never raises. Use cases call them and raise `Forbidden` (with their own stable problem codes)
when one says no; every face of the service (the v1 API, the web app, the Camunda façade) goes through those
use cases or asks the same predicates (for instance to hide a button), so there is one permission model.

Roles: the built-in roles of `mso_flow.domain.Role`, and staff roles, which are the names of a process's lanes
(or the roles a lane maps to) and a user task's candidate groups. An admin may do everything a rule lets some
role do, unless a rule says otherwise.
"""

from __future__ import annotations

from mso_flow.domain import (
    BUILT_IN_ROLES,
    DEPLOYER_ROLES,
    INSTANCE_OVERSIGHT_ROLES,
    SYSTEM_ROLES,
    TASK_OVERSIGHT_ROLES,
    Role,
)
from mso_flow.engine.model import ProcessDef, UserTaskDef
from mso_flow.services import candidates
from mso_flow.services.context import Caller
from mso_flow.store.models import HumanTask, ProcessInstance


def candidate_roles(model: ProcessDef, task: UserTaskDef | None, lane: str | None) -> list[str]:
    """The roles that may work a task: its lane's roles (the lane name unless mapped), candidate groups, and
    the personal roles of its candidate users."""
    roles: list[str] = []
    if lane:
        roles += list(model.lane_roles.get(lane) or (lane,))
    if task is not None:
        roles += list(task.candidate_groups)
    roles += candidates.user_roles(task)
    return list(dict.fromkeys(roles))


def process_roles(model: ProcessDef) -> set[str]:
    """Every staff role that works some task of the process."""
    roles: set[str] = set()
    for task in model.user_tasks:
        roles.update(candidate_roles(model, task, task.lane))
    return roles


def first_lane_roles(model: ProcessDef) -> set[str]:
    """The roles of the process's first lane: the staff who open a case of it."""
    if not model.lanes:
        return set()
    lane = model.lanes[0]
    return set(model.lane_roles.get(lane) or (lane,))


def staff_roles(caller: Caller) -> list[str]:
    """The caller's staff roles (not built-in ones), sorted: what an inbox counts."""
    return sorted(r for r in caller.roles if r not in BUILT_IN_ROLES)


# --- tasks -----------------------------------------------------------------------------------------------


def is_candidate(caller: Caller, task: HumanTask) -> bool:
    """The caller holds one of the task's candidate roles."""
    return bool(candidates.roles_of(caller).intersection(task.candidate_roles))


def oversees_tasks(caller: Caller) -> bool:
    """Admins and integrators see every task (and filter task lists freely)."""
    return caller.has_any(TASK_OVERSIGHT_ROLES)


def may_view_task(caller: Caller, task: HumanTask) -> bool:
    """See a task (and comment on it): oversight, a candidate role, or the caller holds, owns or completed it."""
    return (
        oversees_tasks(caller)
        or is_candidate(caller, task)
        or caller.username in (task.assignee, task.owner, task.completed_by)
    )


def may_claim(caller: Caller, task: HumanTask) -> bool:
    """Take an unassigned task (or complete it straight away, which claims it)."""
    return caller.is_admin or is_candidate(caller, task)


def may_work_task(caller: Caller, task: HumanTask) -> bool:
    """Complete a task: its assignee or an admin; an unassigned one, whoever may claim it."""
    if task.assignee is None:
        return may_claim(caller, task)
    return task.assignee == caller.username or caller.is_admin


def may_unclaim(caller: Caller, task: HumanTask) -> bool:
    """Give a task back to its candidates: its assignee or an admin."""
    return caller.is_admin or task.assignee == caller.username


def may_assign(caller: Caller, task: HumanTask) -> bool:
    """Give a task to someone: admins, and supervisors who hold one of the task's candidate roles."""
    return caller.is_admin or (Role.SUPERVISOR in caller.roles and is_candidate(caller, task))


def may_delegate(caller: Caller, task: HumanTask) -> bool:
    """Hand a task to a delegate: only its assignee."""
    return task.assignee == caller.username


def may_resolve(caller: Caller, task: HumanTask) -> bool:
    """Give a delegated task back to its owner: the delegate (its assignee) or an admin."""
    return task.assignee == caller.username or caller.is_admin


def may_filter_by_role(caller: Caller, role: str) -> bool:
    """List the tasks of a candidate role: oversight, or the caller holds the role."""
    return oversees_tasks(caller) or role in candidates.roles_of(caller)


def may_list_tasks_of(caller: Caller, assignee: str | None) -> bool:
    """List the tasks held by `assignee`: oversight, or the caller's own."""
    return oversees_tasks(caller) or assignee in (None, caller.username)


# --- processes and instances -----------------------------------------------------------------------------


def may_deploy(caller: Caller) -> bool:
    """Deploy BPMN files: designers and admins."""
    return caller.has_any(DEPLOYER_ROLES)


def may_start(caller: Caller, model: ProcessDef) -> bool:
    """Start a process: integrators and admins, and the staff of its first lane."""
    return (
        caller.has_any(SYSTEM_ROLES)
        or bool(caller.roles & first_lane_roles(model))
        or candidates.may_start(caller, model)
    )


def oversees_instances(caller: Caller) -> bool:
    """Admins, integrators and designers see every instance."""
    return caller.has_any(INSTANCE_OVERSIGHT_ROLES)


def may_view_instance(caller: Caller, model: ProcessDef) -> bool:
    """See an instance of a process (its variables, audit trail, diagram): oversight or a role in the process."""
    return oversees_instances(caller) or bool(candidates.roles_of(caller) & process_roles(model))


def may_cancel(caller: Caller, instance: ProcessInstance) -> bool:
    """Cancel an instance: admins, and the integrator that started it."""
    return caller.is_admin or (Role.INTEGRATOR in caller.roles and instance.started_by == caller.username)


def may_migrate(caller: Caller) -> bool:
    """Move instances to another version of their process: admins."""
    return caller.is_admin


# --- integration -----------------------------------------------------------------------------------------


def may_set_variables(caller: Caller) -> bool:
    """Change a running instance's variables from outside: admins and integrators."""
    return caller.has_any(SYSTEM_ROLES)


def may_send_messages(caller: Caller) -> bool:
    """Send messages to processes: integrators and admins."""
    return caller.has_any(SYSTEM_ROLES)


def may_work_external_tasks(caller: Caller) -> bool:
    """Fetch, lock, complete and fail external tasks: integrators and admins."""
    return caller.has_any(SYSTEM_ROLES)


def may_manage_webhooks(caller: Caller) -> bool:
    """Subscribe, unsubscribe and read deliveries of webhooks: integrators and admins."""
    return caller.has_any(SYSTEM_ROLES)


# --- administration --------------------------------------------------------------------------------------


def may_read_reports(caller: Caller) -> bool:
    """Read the KPI and overdue reports: every authenticated caller."""
    return True


def may_read_incidents(caller: Caller) -> bool:
    """List and read incidents (process errors): admins and designers, who fix processes."""
    return caller.has_any(DEPLOYER_ROLES)


def may_fix_incidents(caller: Caller) -> bool:
    """Retry or resolve an incident: admins."""
    return caller.is_admin


def may_manage_users(caller: Caller) -> bool:
    """Create and list users: admins."""
    return caller.is_admin
