"""Staff work on human tasks: list, read, claim, unclaim, complete.

Every transition locks the task's instance row, re-reads the task, checks it, changes it and appends to the
instance's audit chain in one transaction; concurrent transitions on one instance therefore run one after the
other, and of many concurrent claims of one task exactly one succeeds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from mso_flow.engine.model import FormField
from mso_flow.engine.runtime import EngineError, TaskNotReady
from mso_flow.services import events as events_service
from mso_flow.services import guards, incidents
from mso_flow.services.context import Caller, Definition, Services
from mso_flow.services.errors import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.forms import check_form
from mso_flow.services.instances import InstanceView
from mso_flow.services.progress import apply_step, engine_failure
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as store
from mso_flow.store.audit import NewEvent
from mso_flow.store.db import is_lock_conflict
from mso_flow.store.models import HumanTask, ProcessInstance
from mso_flow.store.tasks import TaskFilter

OVERSIGHT_ROLES = ("admin", "integrator")
BUILT_IN_ROLES = frozenset({"admin", "designer", "integrator", "supervisor"})
SORTS = ("due_at", "created_at", "name")


@dataclass
class TaskView:
    """A task with what a client needs to work it: its form and the instance's variables."""

    task: HumanTask
    form: tuple[FormField, ...]
    variables: dict[str, Any]
    instance_state: str


def not_found(task_id: str) -> NotFound:
    return NotFound("task_not_found", f"ไม่พบงาน {task_id} (task not found)")


def is_candidate(caller: Caller, task: HumanTask) -> bool:
    return bool(caller.roles.intersection(task.candidate_roles))


def may_view(caller: Caller, task: HumanTask) -> bool:
    return (
        caller.has_any(OVERSIGHT_ROLES)
        or is_candidate(caller, task)
        or caller.username in (task.assignee, task.owner, task.completed_by)
    )


def listing(
    services: Services, caller: Caller, f: TaskFilter, offset: int, limit: int, assignee_me: bool = False
) -> tuple[list[HumanTask], int]:
    """Tasks matching `f`; staff see only tasks they hold or may work."""
    if f.sort not in SORTS:
        raise Invalid("invalid_sort", f"sort ต้องเป็นหนึ่งใน {', '.join(SORTS)}")
    if assignee_me:
        f.assignee = caller.username
    if not caller.has_any(OVERSIGHT_ROLES):
        if f.candidate_role and f.candidate_role not in caller.roles:
            raise Forbidden("role_forbidden", f"คุณไม่มีบทบาท {f.candidate_role} (you do not hold this role)")
        if f.assignee is None and f.candidate_role is None:
            f.workable_by = (caller.username, tuple(sorted(caller.roles)))
        elif f.assignee not in (None, caller.username) and f.candidate_role is None:
            raise Forbidden("tasks_forbidden", "ดูได้เฉพาะงานของตนเองหรือบทบาทของตน (staff see their own tasks)")
    with services.db.read() as session:
        return store.listing(session, f, offset, limit)


def counts(services: Services, caller: Caller) -> dict[str, tuple[int, int]]:
    """(open, overdue) tasks per staff role of the caller, for inbox badges."""
    roles = sorted(r for r in caller.roles if r not in BUILT_IN_ROLES)
    with services.db.read() as session:
        return store.counts_by_role(session, roles, services.clock())


def view_of(services: Services, task: HumanTask, instance: ProcessInstance) -> TaskView:
    task_def = services.definition(task.definition_id).model.user_task(task.element_id)
    return TaskView(task, task_def.form if task_def else (), dict(instance.variables), instance.state)


def get(services: Services, caller: Caller, task_id: str) -> TaskView:
    with services.db.read() as session:
        task = store.get(session, task_id)
        if task is None:
            raise not_found(task_id)
        if not may_view(caller, task):
            raise Forbidden("task_forbidden", "ไม่มีสิทธิ์ดูงานนี้ (no candidate role for this task)")
        instance = instances_store.get(session, task.instance_id)
        assert instance is not None
        return view_of(services, task, instance)


def transition(
    services: Services,
    task_id: str,
    change: Callable[[Session, HumanTask, ProcessInstance, datetime], list[NewEvent]],
) -> tuple[TaskView, ProcessInstance]:
    """Lock the task and its instance, apply `change`, append its events, commit."""
    with concurrent_changes_conflict():
        return locked_transition(services, task_id, change)


@contextlib.contextmanager
def concurrent_changes_conflict() -> Iterator[None]:
    """A writer outside our row locks, or a deadlock the database broke, becomes a 409 to retry."""
    try:
        yield
    except (StaleDataError, OperationalError) as err:
        if isinstance(err, OperationalError) and not is_lock_conflict(err):
            raise
        raise Conflict(
            "concurrent_change", "งานนี้ถูกเปลี่ยนพร้อมกันจากที่อื่น โปรดลองใหม่ (changed concurrently; retry)"
        ) from None


def locked_transition(
    services: Services,
    task_id: str,
    change: Callable[[Session, HumanTask, ProcessInstance, datetime], list[NewEvent]],
) -> tuple[TaskView, ProcessInstance]:
    with services.db.write() as session:
        found = instances_store.lock_with_task(session, task_id)
        if found is None:
            raise not_found(task_id)
        instance, task = found
        now = services.clock()
        events = change(session, task, instance, now)
        if events:
            events_service.record(services, session, instance, events, now)
        session.flush()
        return view_of(services, task, instance), instance


def require_open(task: HumanTask) -> None:
    if task.state != "open":
        raise Conflict("task_not_open", f"งานนี้อยู่ในสถานะ {task.state} แล้ว (task is not open)")


def require_candidate(caller: Caller, task: HumanTask) -> None:
    if not (caller.is_admin or is_candidate(caller, task)):
        roles = ", ".join(task.candidate_roles)
        raise Forbidden("not_candidate", f"งานนี้สำหรับบทบาท {roles} เท่านั้น (caller holds no candidate role)")


def claim(services: Services, caller: Caller, task_id: str) -> TaskView:
    """Take an open, unassigned task; exactly one of many concurrent claims wins."""

    def change(session: Session, task: HumanTask, instance: ProcessInstance, now: datetime) -> list[NewEvent]:
        require_candidate(caller, task)
        require_open(task)
        if task.assignee == caller.username:
            return []
        if task.assignee is not None:
            raise Conflict(
                "task_claimed",
                f"งานนี้มีผู้รับไปแล้ว ({task.assignee}) (task is held by someone else)",
                assignee=task.assignee,
            )
        store.set_assignee(session, task, caller.username)
        task.claimed_at = now
        return [NewEvent("task_claimed", caller.username, task.id, task.element_id)]

    return transition(services, task_id, change)[0]


def unclaim(services: Services, caller: Caller, task_id: str) -> TaskView:
    """Give a task back to its candidates (the assignee, or an admin)."""

    def change(session: Session, task: HumanTask, instance: ProcessInstance, now: datetime) -> list[NewEvent]:
        require_open(task)
        if task.assignee is None:
            raise Conflict("task_not_claimed", "งานนี้ยังไม่มีผู้รับ (task is not claimed)")
        if not (caller.is_admin or task.assignee == caller.username):
            raise Forbidden("not_assignee", "คืนงานได้เฉพาะผู้รับงานหรือผู้ดูแลระบบ (only the assignee or an admin)")
        previous = task.assignee
        store.set_assignee(session, task, None)
        task.claimed_at = None
        return [NewEvent("task_unclaimed", caller.username, task.id, task.element_id, {"previous": previous})]

    return transition(services, task_id, change)[0]


@incidents.recorded
def complete(
    services: Services, caller: Caller, task_id: str, variables: dict[str, Any]
) -> tuple[TaskView, InstanceView]:
    """Complete a task with form variables and run the process to its next wait state, in one transaction."""
    next_tasks: list[HumanTask] = []

    def change(session: Session, task: HumanTask, instance: ProcessInstance, now: datetime) -> list[NewEvent]:
        require_open(task)
        if task.delegation_state == "pending":
            raise Conflict(
                "delegation_pending",
                f"งานนี้มอบหมายให้ {task.assignee} อยู่ ต้องส่งคืน (resolve) ให้ {task.owner} ก่อน (delegation pending)",
            )
        if task.assignee is None:
            require_candidate(caller, task)
        elif task.assignee != caller.username and not caller.is_admin:
            raise Conflict(
                "task_claimed",
                f"งานนี้อยู่กับ {task.assignee} (task is held by someone else)",
                assignee=task.assignee,
            )
        if instance.state != "running":
            raise Conflict("instance_not_running", f"กระบวนการอยู่ในสถานะ {instance.state} (instance not running)")
        definition = services.definition(task.definition_id)
        task_def = definition.model.user_task(task.element_id)
        check_form(task_def.form if task_def else (), variables)
        guards.require_owned_fields(definition.model, task.element_id, variables)  # robustness hook
        events = []
        if task.assignee is None:
            store.set_assignee(session, task, caller.username)
            task.claimed_at = now
            events.append(NewEvent("task_claimed", caller.username, task.id, task.element_id))
        step = _run(services, definition, instance, task, variables, caller.username)
        store.finish(session, task, "completed", now, caller.username)
        changed = guards.changed_names(instance.variables, step.variables)  # robustness hook
        completed = {"variables": variables, "changed": changed}
        events.append(NewEvent("task_completed", caller.username, task.id, task.element_id, completed))
        next_tasks.extend(
            apply_step(services, session, instance, definition, step, caller.username, now, events, closed_task=task.id)
        )
        return []  # apply_step appended this transition's events with the engine's

    view, instance = transition(services, task_id, change)
    return view, InstanceView(instance, next_tasks)


def _run(
    services: Services,
    definition: Definition,
    instance: ProcessInstance,
    task: HumanTask,
    variables: dict[str, Any],
    actor: str,
) -> Any:
    try:
        return services.runtime.complete(services.process(definition.id), instance.engine_state, task.id, variables)
    except EngineError as err:
        raise engine_failure(err, instance, definition, actor) from None
    except TaskNotReady:
        raise Conflict("task_not_ready", "งานนี้ไม่อยู่ในสถานะพร้อมทำในกระบวนการ (task is not ready in the engine)") from None
