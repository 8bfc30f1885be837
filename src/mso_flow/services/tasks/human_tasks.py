"""Staff work on human tasks: list, read, claim, unclaim, complete.

Every transition is an instance command (`services/platform/unit_of_work.py`): it locks the task's instance row and the
task, checks it, changes it and appends to the instance's audit chain in one transaction; concurrent
transitions on one instance therefore run one after the other, and of many concurrent claims of one task
exactly one succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from mso_flow.domain import DelegationState, TaskState
from mso_flow.engine.model import FormField, ProcessDef, UserTaskDef
from mso_flow.services import policy
from mso_flow.services.accounts.known_roles import headed_roles
from mso_flow.services.documents.forms import with_file_fields
from mso_flow.services.instances import guards
from mso_flow.services.instances.lifecycle import InstanceView
from mso_flow.services.platform.context import Caller, Definition, Services
from mso_flow.services.platform.executor import InstanceChange, execute
from mso_flow.services.platform.failures import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.platform.unit_of_work import InstanceCommand, Outcome, lock_task
from mso_flow.services.privacy import need_to_know, personal_data
from mso_flow.services.privacy.personal_data import Disclosure
from mso_flow.services.tasks import staffing
from mso_flow.services.tasks.candidates import roles_of
from mso_flow.services.tasks.form_check import check_form
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import HumanTask, ProcessInstance
from mso_flow.store.tasks import TaskFilter

SORTS = ("due_at", "created_at", "name")


@dataclass
class TaskView:
    """A task with what a client needs to work it: its form and the instance's variables (those the caller
    may read: `services/privacy/need_to_know.py`)."""

    task: HumanTask
    form: tuple[FormField, ...]
    disclosure: Disclosure
    instance_state: str
    model: ProcessDef  # the process the task belongs to (its version's), looked up once with the task
    step: UserTaskDef | None  # the manual's step the task carries out (None: gone from the process)

    @property
    def variables(self) -> dict[str, Any]:
        return self.disclosure.variables

    @property
    def variables_visible(self) -> bool:
        """Whether the variables are all the instance's (false: none, or a delegate's own fields only)."""
        return self.disclosure.visible

    @property
    def masked_variables(self) -> tuple[str, ...]:
        return self.disclosure.masked


def not_found(task_id: str) -> NotFound:
    return NotFound("task_not_found", f"ไม่พบงาน {task_id} (task not found)")


def task_forbidden() -> Forbidden:
    return Forbidden("task_forbidden", "ไม่มีสิทธิ์ดูงานนี้ (no candidate role for this task)")


def listing(
    services: Services, caller: Caller, f: TaskFilter, offset: int, limit: int, assignee_me: bool = False
) -> tuple[list[HumanTask], int]:
    """Tasks matching `f`; staff see only tasks they hold or may work."""
    if f.sort not in SORTS:
        raise Invalid("invalid_sort", f"sort ต้องเป็นหนึ่งใน {', '.join(SORTS)}")
    if assignee_me:
        f.assignee = caller.username
    if not policy.oversees_tasks(caller):
        if f.candidate_role and not policy.may_filter_by_role(caller, f.candidate_role):
            raise Forbidden("role_forbidden", f"คุณไม่มีบทบาท {f.candidate_role} (you do not hold this role)")
        if f.assignee is None and f.candidate_role is None:
            f.workable_by = (caller.username, tuple(sorted(roles_of(caller))))
        elif not policy.may_list_tasks_of(caller, f.assignee) and f.candidate_role is None:
            raise Forbidden("tasks_forbidden", "ดูได้เฉพาะงานของตนเองหรือบทบาทของตน (staff see their own tasks)")
    with services.db.read() as session:
        return store.listing(session, f, offset, limit)


def counts(services: Services, caller: Caller) -> dict[str, tuple[int, int]]:
    """(open, overdue) tasks per staff role of the caller, for inbox badges."""
    with services.db.read() as session:
        return store.counts_by_role(session, policy.staff_roles(caller), services.clock())


def view_of(
    services: Services,
    session: Session,
    task: HumanTask,
    instance: ProcessInstance,
    caller: Caller,
    definition: Definition | None = None,
) -> TaskView:
    """The task as `caller` may read it; `definition`: the task's definition version when the caller has it."""
    if definition is None or definition.id != task.definition_id:
        definition = services.definitions.definition(session, task.definition_id)
    model = definition.model
    task_def = model.user_task(task.element_id)
    form = task_def.form if task_def else ()
    disclosure = need_to_know.task_disclosure(services, session, caller, task, form, instance)
    return TaskView(task, form, disclosure, instance.state, model, task_def)


def form_of(services: Services, caller: Caller, task_id: str) -> tuple[FormField, ...]:
    """The form of a task the caller may see, and nothing of its instance's data (no read is logged): what a face
    needs to read a submitted form before it completes the task."""
    with services.db.read() as session:
        task = visible_task(session, caller, task_id, headed_roles(services, caller))
        task_def = services.definitions.definition(session, task.definition_id).model.user_task(task.element_id)
        return task_def.form if task_def else ()


def visible_task(session: Session, caller: Caller, task_id: str, headed: frozenset[str] = frozenset()) -> HumanTask:
    """The task, if the caller may see it (404 unknown, 403 not theirs to see); `headed`: the staff roles the
    caller heads (`known_roles.headed_roles`)."""
    task = store.get(session, task_id)
    if task is None:
        raise not_found(task_id)
    if not policy.may_view_task(caller, task, headed):
        raise task_forbidden()
    return task


def get(services: Services, caller: Caller, task_id: str) -> TaskView:
    with services.db.read() as session:
        task = visible_task(session, caller, task_id, headed_roles(services, caller))
        instance = instances_store.get(session, task.instance_id)
        assert instance is not None
        return view_of(services, session, task, instance, caller)


def transition(
    services: Services,
    caller: Caller,
    task_id: str,
    change: Callable[[InstanceCommand, HumanTask], list[NewEvent]],
    name: str,
) -> TaskView:
    """The command `name` (through the executor): lock the task and its instance, apply `change`, record the
    events it returns, commit. The task is returned as changed, with the variables the caller read *before* the
    change (which changes no variable): a claim or an assignment discloses nothing the caller could not read
    already."""

    def run(command: InstanceCommand, task: HumanTask) -> TaskView:
        view = view_of(services, command.session, task, command.instance, caller, command.definition)
        command.record(change(command, task))
        return view

    return execute(services, InstanceChange(name, caller, lock_task(task_id), lambda: not_found(task_id), run))


def require_open(task: HumanTask) -> None:
    if task.state != TaskState.OPEN:
        raise Conflict("task_not_open", f"งานนี้อยู่ในสถานะ {task.state} แล้ว (task is not open)")


def require_claimable(caller: Caller, task: HumanTask) -> None:
    if not policy.may_claim(caller, task):
        roles = ", ".join(task.candidate_roles)
        raise Forbidden("not_candidate", f"งานนี้สำหรับบทบาท {roles} เท่านั้น (caller holds no candidate role)")


def claim(services: Services, caller: Caller, task_id: str) -> TaskView:
    """Take an open, unassigned task; exactly one of many concurrent claims wins."""

    def change(command: InstanceCommand, task: HumanTask) -> list[NewEvent]:
        require_claimable(caller, task)
        require_open(task)
        if task.assignee == caller.username:
            return []
        if task.assignee is not None:
            raise Conflict(
                "task_claimed",
                f"งานนี้มีผู้รับไปแล้ว ({task.assignee}) (task is held by someone else)",
                assignee=task.assignee,
            )
        store.set_assignee(command.session, task, caller.username)
        task.claimed_at = command.now
        return [NewEvent("task_claimed", caller.username, task.id, task.element_id)]

    return transition(services, caller, task_id, change, "task.claim")


def unclaim(services: Services, caller: Caller, task_id: str) -> TaskView:
    """Give a task back to its candidates (the assignee, or an admin)."""

    def change(command: InstanceCommand, task: HumanTask) -> list[NewEvent]:
        require_open(task)
        if task.assignee is None:
            raise Conflict("task_not_claimed", "งานนี้ยังไม่มีผู้รับ (task is not claimed)")
        if not policy.may_unclaim(caller, task):
            raise Forbidden("not_assignee", "คืนงานได้เฉพาะผู้รับงานหรือผู้ดูแลระบบ (only the assignee or an admin)")
        previous = task.assignee
        store.set_assignee(command.session, task, None)
        task.claimed_at = None
        task.assigned_by = None
        return [NewEvent("task_unclaimed", caller.username, task.id, task.element_id, {"previous": previous})]

    return transition(services, caller, task_id, change, "task.unclaim")


@dataclass(frozen=True)
class Completed:
    """What completing a task did: its id, its instance's id and the instance's state after the step."""

    task_id: str
    instance_id: str
    instance_state: str


def complete_task(
    services: Services, caller: Caller, task_id: str, variables: dict[str, Any], unheld_ok: bool = True
) -> Completed:
    """`complete`, answering only what it did: nothing of the instance's data is opened (no read is logged)."""

    def result(command: InstanceCommand, task: HumanTask, outcome: Outcome) -> Completed:
        return Completed(task.id, outcome.instance.id, outcome.instance.state)

    return execute(services, _completion(services, caller, task_id, variables, result, unheld_ok))


def complete(
    services: Services, caller: Caller, task_id: str, variables: dict[str, Any], unheld_ok: bool = True
) -> tuple[TaskView, InstanceView]:
    """Complete a task with form variables and run the process to its next wait state, in one transaction; the
    task and its instance as the caller may now read them (a face that shows them). Unless `unheld_ok`, a step it
    creates that no active user can work refuses it (409 `unheld_lane`, nothing changed)."""

    def result(command: InstanceCommand, task: HumanTask, outcome: Outcome) -> tuple[TaskView, InstanceView]:
        view = view_of(services, command.session, task, outcome.instance, caller, command.definition)
        shown = view.disclosure if view.variables_visible else personal_data.HIDDEN
        return view, InstanceView(outcome.instance, outcome.open_tasks, shown)

    return execute(services, _completion(services, caller, task_id, variables, result, unheld_ok))


R = TypeVar("R")


def _completion(
    services: Services,
    caller: Caller,
    task_id: str,
    variables: dict[str, Any],
    result: Callable[[InstanceCommand, HumanTask, Outcome], R],
    unheld_ok: bool = True,
) -> InstanceChange[HumanTask, Outcome, R]:
    """The command that completes a task: its checks, the engine step, the task closed."""

    def run(command: InstanceCommand, task: HumanTask) -> Outcome:
        require_open(task)
        if task.delegation_state == DelegationState.PENDING:
            raise Conflict(
                "delegation_pending",
                f"งานนี้มอบหมายให้ {task.assignee} อยู่ ต้องส่งคืน (resolve) ให้ {task.owner} ก่อน (delegation pending)",
            )
        if task.assignee is None:
            require_claimable(caller, task)
        elif not policy.may_work_task(caller, task):
            raise Conflict(
                "task_claimed",
                f"งานนี้อยู่กับ {task.assignee} (task is held by someone else)",
                assignee=task.assignee,
            )
        command.require_state()
        task_def = command.definition.model.user_task(task.element_id)
        form = task_def.form if task_def else ()
        submitted = with_file_fields(command.session, task, form, variables)
        check_form(form, submitted)
        guards.require_owned_fields(command.definition.model, task.element_id, submitted)
        events = []
        if task.assignee is None:
            store.set_assignee(command.session, task, caller.username)
            task.claimed_at = command.now
            events.append(NewEvent("task_claimed", caller.username, task.id, task.element_id))
        before = command.variables()
        step = command.run(lambda runtime, process, state: runtime.complete(process, state, task.id, submitted))
        completed = {"variables": submitted, "changed": guards.changed_names(before, step.variables)}
        events.append(NewEvent("task_completed", caller.username, task.id, task.element_id, completed))
        outcome = command.apply(step, events, closed_task=task.id)
        if not unheld_ok:
            created = [t for t in outcome.open_tasks if t.created_at == command.now and t.id != task.id]
            nobody = staffing.unheld(command.session, created)
            if nobody:
                staffing.refuse_unheld(nobody)
        store.finish(command.session, task, TaskState.COMPLETED, command.now, caller.username)
        return outcome

    return InstanceChange("task.complete", caller, lock_task(task_id), lambda: not_found(task_id), run, result)
