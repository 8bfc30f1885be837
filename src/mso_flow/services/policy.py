"""Who may do what: every permission rule of MSO Flow as a named predicate.

Each predicate takes the caller and the thing asked about and answers True or False; it never reads the
database and never raises. Use cases call them and raise `Forbidden` (with their own stable problem codes)
when one says no; every face of the service (the v1 API, the web app, the Camunda façade) goes through those
use cases or asks the same predicates (for instance to hide a button), so there is one permission model.

Roles: the built-in roles of `mso_flow.domain.Role`, and staff roles, which are the names of a process's lanes
(or the roles a lane maps to) and a user task's candidate groups. An admin may do everything a rule lets some
role do, unless a rule says otherwise: an admin gives staff tasks to people (`may_assign`) but is not a candidate
of them (`may_claim`) unless he holds one of their roles. An `auditor` reads everything an admin reads and changes
nothing.

Need to know (`may_read_instance_data`): seeing an instance (its existence, state, open tasks, diagram) is wider
than reading its data (variables, audit event data, audit export). The data is read by oversight (`admin`,
`auditor`), the instance's starter (an integrator reads the instances it started), candidates of its open tasks,
whoever holds, owns or completed one of its tasks, and a `supervisor` holding a candidate role of one of them.
A delegate holding no candidate role of the delegated task reads that task's own form fields only. Staff of
another lane, designers and other integrators see the instance without its data.

Personal data (`may_read_personal_data`, `services/privacy/personal_data.py`): narrower than the instance's data — the
people of its tasks (holders, owners, completers, candidates of open ones, supervisors of their lanes) and a
`privacy_officer`; admins, auditors, starters and integrators read the other variables with these masked. Only a
privacy officer erases personal data, exports it for a data subject, and grants it to a webhook.

Writes from outside (`may_write_instance`): changing a case's variables other than through a task's form — the
Camunda variables endpoints, a message correlated to a waiting instance — is for an admin or the integrator that
started the case (while it reads its data); another integrator never writes into a case it did not start, staff
only through their tasks' forms. Personal values (every value of a classified letter) are overwritten from outside
only by whoever reads them (`may_write_personal_data`): not by an admin or a starter, who read them masked.
External tasks are locked by topic; what the lock's holder does with it (complete, fail, BPMN error, extend) is
its own (`holds_external_task`), and only the holder or an admin frees it (`may_unlock_external_task`).

Reports: `admin` and `auditor` read every unit's; a role `manager:<unit>` reads the reports of that unit.

User administration: admins create users and change their roles, never their own. The privileged roles
(`domain.PRIVILEGED_ROLES`: `privacy_officer`, `auditor`) are granted and removed only by an operator at the
service's host (`mso-flow users …`), not by an admin over the API or the web app. We chose that over a second
admin's approval: an admin can make a second admin account or take over one (a new token), so two admin approvals
can be one person, whereas the operator at the host already holds what these roles guard (the master key, the
audit signing key). For the same reason an admin does not issue a new token for a user holding a privileged role.
Every grant is an event of the signed admin audit chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from mso_flow.domain import (
    BUILT_IN_ROLES,
    DATA_OVERSIGHT_ROLES,
    DEPLOYER_ROLES,
    INSTANCE_OVERSIGHT_ROLES,
    MANAGER_PREFIX,
    PRIVILEGED_ROLES,
    SYSTEM_ROLES,
    TASK_OVERSIGHT_ROLES,
    DelegationState,
    Role,
    TaskState,
)
from mso_flow.engine.model import ProcessDef, UserTaskDef
from mso_flow.services.platform.context import Caller
from mso_flow.services.tasks import candidates
from mso_flow.store.models import ExternalTask


class TaskFacts(Protocol):
    """What the rules read of a human task: its stored row, or the frozen record a face holds
    (`services/tasks/records.py`), so that a face asks the same predicates of what it shows."""

    @property
    def candidate_roles(self) -> Sequence[str]: ...
    @property
    def state(self) -> str: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def delegation_state(self) -> str | None: ...
    @property
    def completed_by(self) -> str | None: ...
    @property
    def lane(self) -> str | None: ...


class InstanceFacts(Protocol):
    """What the rules read of a process instance (its row, or `instances/queries.InstanceRecord`)."""

    @property
    def started_by(self) -> str: ...


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
    """The caller's staff roles, sorted: what an inbox counts. Not the built-in roles, and not `manager:<unit>`,
    which reads a unit's reports and works no task."""
    return sorted(r for r in caller.roles if r not in BUILT_IN_ROLES and not r.startswith(MANAGER_PREFIX))


# --- tasks -----------------------------------------------------------------------------------------------


def is_candidate(caller: Caller, task: TaskFacts) -> bool:
    """The caller holds one of the task's candidate roles."""
    return bool(candidates.roles_of(caller).intersection(task.candidate_roles))


def oversees_tasks(caller: Caller) -> bool:
    """Admins, integrators and auditors see every task (and filter task lists freely)."""
    return caller.has_any(TASK_OVERSIGHT_ROLES)


def _works_on(caller: Caller, task: TaskFacts) -> bool:
    return is_candidate(caller, task) or caller.username in (task.assignee, task.owner, task.completed_by)


def may_view_task(caller: Caller, task: TaskFacts, headed: frozenset[str] = frozenset()) -> bool:
    """See a task: oversight, a candidate role, the caller holds, owns or completed it, or a supervisor who
    oversees it (`supervises`; its variables only as `may_read_instance_data` allows)."""
    return oversees_tasks(caller) or _works_on(caller, task) or supervises(caller, task, headed)


def may_comment(caller: Caller, task: TaskFacts) -> bool:
    """Comment on a task: whoever may see it, except a read-only auditor."""
    return caller.has_any(TASK_OVERSIGHT_ROLES - {Role.AUDITOR}) or _works_on(caller, task)


def is_delegate_only(caller: Caller, task: TaskFacts) -> bool:
    """The caller holds the task only because it was delegated to them: no candidate role of it."""
    return (
        task.assignee == caller.username
        and task.delegation_state == DelegationState.PENDING
        and not is_candidate(caller, task)
    )


def has_no_candidates(task: TaskFacts) -> bool:
    """No role and no user is named for the task: nobody is its candidate, so an admin works it or gives it to
    someone."""
    return not task.candidate_roles


def may_claim(caller: Caller, task: TaskFacts) -> bool:
    """Take an unassigned task (or complete it straight away, which claims it): a holder of one of its candidate
    roles. An admin is not a candidate of staff tasks as such (he assigns them, `may_assign`); he takes only a
    task that names no candidate at all."""
    return is_candidate(caller, task) or (caller.is_admin and has_no_candidates(task))


def may_work_task(caller: Caller, task: TaskFacts) -> bool:
    """Complete a task: its assignee; an unassigned one, whoever may claim it. Nobody, an admin included,
    completes a task in its assignee's stead (an admin reassigns it)."""
    if task.assignee is None:
        return may_claim(caller, task)
    return task.assignee == caller.username


def may_unclaim(caller: Caller, task: TaskFacts) -> bool:
    """Give a task back to its candidates: its assignee or an admin."""
    return caller.is_admin or task.assignee == caller.username


def supervises(caller: Caller, task: TaskFacts, headed: frozenset[str] = frozenset()) -> bool:
    """A `supervisor` oversees the tasks of the roles he holds and of the staff roles of the sections he heads
    (`headed`: the roles file's `heads:` for his roles, `services/accounts/known_roles.py`). The head of the
    registry section (`หัวหน้าฝ่ายสารบรรณ`, `supervisor`) thus gives the registry clerks' tasks to the clerks without
    being their candidate; a supervisor of another lane of the same process does not."""
    if Role.SUPERVISOR not in caller.roles:
        return False
    return is_candidate(caller, task) or bool(headed.intersection(task.candidate_roles))


def may_assign(caller: Caller, task: TaskFacts, headed: frozenset[str] = frozenset()) -> bool:
    """Give a task to someone (a candidate of it): admins, and the supervisors who oversee it (`supervises`)."""
    return caller.is_admin or supervises(caller, task, headed)


def may_delegate(caller: Caller, task: TaskFacts) -> bool:
    """Hand a task to a delegate: only its assignee, and not a delegate (a delegated task is not delegated on)."""
    return task.assignee == caller.username and task.delegation_state != DelegationState.PENDING


def may_resolve(caller: Caller, task: TaskFacts) -> bool:
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


def reads_design_notes(caller: Caller) -> bool:
    """See the designers' notes on a diagram (the elements added by reading the manual, with their ids and
    reasons): designers and admins. Staff read the diagram with a short legend."""
    return caller.has_any(DEPLOYER_ROLES)


def may_approve_privacy_changes(caller: Caller) -> bool:
    """Deploy a version that weakens a process's privacy marks (`services/privacy/marks.py`): a privacy officer who
    may deploy (never implied by `admin`)."""
    return may_deploy(caller) and Role.PRIVACY_OFFICER in caller.roles


def may_start(caller: Caller, model: ProcessDef) -> bool:
    """Start a process: integrators and admins, and the staff of its first lane."""
    return (
        caller.has_any(SYSTEM_ROLES)
        or bool(caller.roles & first_lane_roles(model))
        or candidates.may_start(caller, model)
    )


def oversees_instances(caller: Caller) -> bool:
    """Admins, integrators, designers and auditors see every instance (not necessarily its data)."""
    return caller.has_any(INSTANCE_OVERSIGHT_ROLES)


def may_view_instance(caller: Caller, model: ProcessDef) -> bool:
    """See an instance of a process (its existence, state, open tasks, diagram, the who and when of its audit
    trail): oversight or a role in the process. Its data is `may_read_instance_data`."""
    return oversees_instances(caller) or bool(candidates.roles_of(caller) & process_roles(model))


def reads_all_instance_data(caller: Caller) -> bool:
    """Admins and auditors read the data of every instance."""
    return caller.has_any(DATA_OVERSIGHT_ROLES)


def needs_task_data(caller: Caller, task: TaskFacts) -> bool:
    """The task makes the caller one of the instance's people: a candidate of it while it is open, its holder
    (not a delegate without a candidate role), owner or completer, or a supervisor of its lane."""
    if caller.username in (task.owner, task.completed_by):
        return True
    if task.assignee == caller.username and not is_delegate_only(caller, task):
        return True
    if task.state == TaskState.OPEN and is_candidate(caller, task):
        return True
    return Role.SUPERVISOR in caller.roles and is_candidate(caller, task)


def may_read_instance_data(caller: Caller, instance: InstanceFacts, tasks: Iterable[TaskFacts]) -> bool:
    """Read an instance's variables and audit detail: oversight, its starter, or one of its people (given the
    instance's tasks; a subset may only say yes, so callers try the tasks at hand before loading them all)."""
    return (
        reads_all_instance_data(caller)
        or instance.started_by == caller.username
        or any(needs_task_data(caller, task) for task in tasks)
    )


def may_read_personal_data(caller: Caller, tasks: Iterable[TaskFacts]) -> bool:
    """Read an instance's personal values (and every value of a letter classed ลับ or above): a privacy officer, or
    one of its people given its tasks (a subset may only say yes). Admins and auditors are not, as such."""
    return Role.PRIVACY_OFFICER in caller.roles or any(needs_task_data(caller, task) for task in tasks)


def is_privacy_officer(caller: Caller) -> bool:
    """Erase personal data, export it for its subject, grant it to a webhook (never implied by `admin`)."""
    return Role.PRIVACY_OFFICER in caller.roles


def may_read_personal_data_log(caller: Caller) -> bool:
    """Read who read an instance's personal data: a privacy officer or an auditor."""
    return Role.PRIVACY_OFFICER in caller.roles or Role.AUDITOR in caller.roles


def may_cancel(caller: Caller, instance: InstanceFacts) -> bool:
    """Cancel an instance: admins, and the integrator that started it."""
    return caller.is_admin or (Role.INTEGRATOR in caller.roles and instance.started_by == caller.username)


def may_migrate(caller: Caller) -> bool:
    """Move instances to another version of their process: admins."""
    return caller.is_admin


# --- documents -------------------------------------------------------------------------------------------
# Reading a document (its metadata and contents) is reading the instance's data: `may_read_instance_data`. The
# contents of a sealed document whose instance holds personal data, or of a letter classed ลับ or above, are
# opened only for `may_read_personal_data`, like the values they go with.


def may_attach_to_task(caller: Caller, task: TaskFacts) -> bool:
    """Attach a document to a task (to one of its form fields): whoever may work it while it is open — its holder,
    or while unassigned a candidate who may claim it (or an admin)."""
    return task.state == TaskState.OPEN and may_work_task(caller, task)


def may_attach_document(caller: Caller, instance: InstanceFacts, open_tasks: Iterable[TaskFacts]) -> bool:
    """Attach a document to an instance, or add a version to one of its documents: someone who works one of its
    open tasks, or the integrator that started it."""
    if Role.INTEGRATOR in caller.roles and instance.started_by == caller.username:
        return True
    return any(may_attach_to_task(caller, task) for task in open_tasks)


def may_withdraw_document(caller: Caller, attached_by: str) -> bool:
    """Withdraw a document (it stays, marked withdrawn): the person who attached it, or an admin. Not whoever added
    a later version: the one who put the record in answers for it."""
    return caller.is_admin or caller.username == attached_by


def may_open_sealed_document(caller: Caller, tasks: Iterable[TaskFacts], personal: bool) -> bool:
    """Open a sealed document's contents and names, given that the caller reads the instance's data: anyone who
    does when the document is of a letter not classed (`personal` false), else `may_read_personal_data`."""
    return not personal or may_read_personal_data(caller, tasks)


# --- integration -----------------------------------------------------------------------------------------


def may_write_instance(caller: Caller, instance: InstanceFacts, tasks: Iterable[TaskFacts]) -> bool:
    """Change an instance's variables from outside (the Camunda variables endpoints, a message correlated to it):
    an admin, or the integrator that started it, while it reads its data (given the instance's tasks, as
    `may_read_instance_data`). Staff change variables only through their tasks' forms."""
    if caller.is_admin:
        return True
    return (
        Role.INTEGRATOR in caller.roles
        and instance.started_by == caller.username
        and may_read_instance_data(caller, instance, tasks)
    )


def may_write_personal_data(caller: Caller, tasks: Iterable[TaskFacts]) -> bool:
    """Overwrite an instance's personal values (every value of a classified letter) from outside, given that
    `may_write_instance` allows the write: only whoever reads them (`may_read_personal_data`). Nobody overwrites
    what he may not read — not an admin, not the starter, who both read these values masked: a blind write could
    replace a reporter's details or a letter's class unseen; the case's people correct them through their forms,
    and a privacy officer erases."""
    return may_read_personal_data(caller, tasks)


def may_send_messages(caller: Caller) -> bool:
    """Send messages to processes: integrators and admins."""
    return caller.has_any(SYSTEM_ROLES)


def may_work_external_tasks(caller: Caller) -> bool:
    """Fetch, lock, complete and fail external tasks: integrators and admins (the variables a worker is shown are
    those of instances it reads the data of: `may_read_instance_data`)."""
    return caller.has_any(SYSTEM_ROLES)


def holds_external_task(caller: Caller, task: ExternalTask, worker_id: str) -> bool:
    """The caller's worker holds the task's lock: the user that locked it, which is authoritative (a worker id is
    whatever a client sends), and the worker id it locked with, as in Camunda. Completing, failing, a BPMN error
    and extending the lock carry that worker's own outcome: nobody else sends them, an admin included (an admin
    unlocks the task instead, `may_unlock_external_task`)."""
    return task.locked_by == caller.username and task.worker_id == worker_id


def may_unlock_external_task(caller: Caller, task: ExternalTask) -> bool:
    """Free an external task's lock so that any worker may fetch it: the user that locked it, or an admin (an
    operator's decision). Another integrator never frees a lock it does not hold."""
    return caller.is_admin or task.locked_by in (None, caller.username)


def may_manage_webhooks(caller: Caller) -> bool:
    """Subscribe, unsubscribe and read deliveries of webhooks: integrators and admins."""
    return caller.has_any(SYSTEM_ROLES)


# --- notifications ---------------------------------------------------------------------------------------
# Who is told of what (services/notifications/rules.py asks these, for each active person, when it fans out an
# event; the task is read then, so a task taken or closed meanwhile is judged as it is).


def _holder_or_candidate(person: Caller, task: TaskFacts) -> bool:
    return task.assignee == person.username if task.assignee else is_candidate(person, task)


def is_told_of_new_task(person: Caller, task: TaskFacts) -> bool:
    """A new task: its assignee if it has one, else every holder of one of its candidate roles."""
    return task.state == TaskState.OPEN and _holder_or_candidate(person, task)


def is_told_of_assignment(person: Caller, task: TaskFacts, new_holder: str | None) -> bool:
    """An assignment, delegation or resolution: the task's new holder, while it still holds the open task."""
    return task.state == TaskState.OPEN and person.username == new_holder == task.assignee


def is_told_due_soon(person: Caller, task: TaskFacts) -> bool:
    """A task soon due: its holder, or its candidates while nobody holds it."""
    return task.state == TaskState.OPEN and _holder_or_candidate(person, task)


def is_told_overdue(person: Caller, task: TaskFacts) -> bool:
    """A task past its due date: its holder (its candidates while nobody holds it) and the supervisors of its
    lane (holding `supervisor` and one of its candidate roles)."""
    if task.state != TaskState.OPEN:
        return False
    return _holder_or_candidate(person, task) or (Role.SUPERVISOR in person.roles and is_candidate(person, task))


def is_told_of_incident(person: Caller, deployed_by: str | None) -> bool:
    """A process error: the admins, and the designer who deployed the version (if they may still read it)."""
    return person.is_admin or (person.username == deployed_by and may_read_incidents(person))


def may_read_user(caller: Caller, username: str) -> bool:
    """Read a user's entry (Camunda's users): oneself, or the directory (admins and integrators)."""
    return username == caller.username or reads_directory(caller)


def may_read_role_members(caller: Caller, role: str) -> bool:
    """List the members of a role (Camunda's groups): its own members (to delegate within it), or the directory."""
    return role in caller.roles or reads_directory(caller)


def reads_directory(caller: Caller) -> bool:
    """Read every user's entry and every role's members: admins and integrators (the systems that map people)."""
    return caller.has_any(SYSTEM_ROLES)


def sees_every_webhook(caller: Caller) -> bool:
    """See and change every integrator's webhooks, not only one's own: admins."""
    return caller.is_admin


def may_read_mail_deliveries(caller: Caller) -> bool:
    """See the state of every notification mail (who, what kind, sent or failed): admins."""
    return caller.is_admin


# --- administration --------------------------------------------------------------------------------------


def managed_units(caller: Caller) -> frozenset[str]:
    """The units whose reports the caller reads through a role `manager:<unit>`."""
    return frozenset(r.removeprefix(MANAGER_PREFIX) for r in caller.roles if r.startswith(MANAGER_PREFIX))


def reads_all_reports(caller: Caller) -> bool:
    """Admins and auditors read every unit's reports."""
    return caller.has_any(DATA_OVERSIGHT_ROLES)


def may_read_reports(caller: Caller) -> bool:
    """Read the KPI and overdue reports at all: oversight, or the manager of some unit."""
    return reads_all_reports(caller) or bool(managed_units(caller))


def may_read_unit_reports(caller: Caller, unit: str | None) -> bool:
    """Read the reports of `unit` (None: of every unit)."""
    return reads_all_reports(caller) or (unit is not None and unit in managed_units(caller))


def may_read_admin_audit(caller: Caller) -> bool:
    """Read and verify the admin audit chain (user administration): admins and auditors."""
    return caller.has_any(DATA_OVERSIGHT_ROLES)


def may_read_incidents(caller: Caller) -> bool:
    """List and read incidents (process errors): admins and designers, who fix processes, and auditors, who read
    what admins read."""
    return caller.has_any(DEPLOYER_ROLES | {Role.AUDITOR})


def may_read_operations(caller: Caller) -> bool:
    """Read the operators' Cockpit (incidents, running instances with their steps, external-task locks, webhook
    deliveries, audit verification): admins, and auditors read-only. What an operator does there (resolve, retry,
    cancel, migrate) is `may_fix_incidents`, `may_cancel` and `may_migrate`."""
    return caller.has_any({Role.ADMIN, Role.AUDITOR})


def may_fix_incidents(caller: Caller) -> bool:
    """Retry or resolve an incident: admins."""
    return caller.is_admin


def may_manage_users(caller: Caller) -> bool:
    """Create and list users: admins."""
    return caller.is_admin


def may_change_roles_of(caller: Caller, username: str) -> bool:
    """Change a user's roles: admins, never their own (another admin or an operator does that)."""
    return caller.is_admin and caller.username != username


def may_change_privileged_roles(caller: Caller) -> bool:
    """Grant or remove `privacy_officer` or `auditor` (at creation too): an operator at the service's host only."""
    return caller.operator


def may_set_password_of(caller: Caller, username: str, roles: Iterable[str]) -> bool:
    """Set or reset another person's web-app password (they choose their own at the next login): an operator, or
    an admin for someone else without a privileged role (as `may_issue_token_for`: the admin would know a password
    that logs in as them). One's own password is changed with the current one (`accounts.change_password`)."""
    if caller.operator:
        return True
    return caller.is_admin and caller.username != username and not PRIVILEGED_ROLES.intersection(roles)


def may_issue_token_for(caller: Caller, username: str, roles: Iterable[str]) -> bool:
    """Issue a new token for a user: the user themself, an operator, or an admin unless the user holds a privileged
    role (the admin would receive a token that acts as them)."""
    return (
        caller.username == username or caller.operator or (caller.is_admin and not PRIVILEGED_ROLES.intersection(roles))
    )
