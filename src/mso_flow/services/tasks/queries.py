"""What the faces read of human tasks: frozen views built from store rows, never the rows themselves.

`TaskRecord` is a task as a face shows it (no ORM object, nothing to change); `TaskView` adds its form, the
manual's step it carries out and what of its instance's variables the caller is shown (`need_to_know`). A query
that opens personal values logs the read once (`personal_data.Reveal.log`), in its own read; a face that shows
nothing (a redirect, a 204) calls the command alone and logs nothing.

A command on a task answers ids and states (`records.TaskChange`, `records.Completed`). `changed` reads the task
of a `TaskChange` after the command with what the caller read of its instance *before* it
(`need_to_know.TaskReading`), so that a claim discloses nothing its caller could not read already (issue 24
item 3); `completion` reads a completed task and its instance for the v1 API's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mso_flow.engine.model import FormField, ProcessDef, UserTaskDef
from mso_flow.services import policy
from mso_flow.services.accounts.known_roles import headed_roles
from mso_flow.services.instances.queries import InstanceView, instance_view
from mso_flow.services.platform.context import Caller, Definition, Services
from mso_flow.services.platform.failures import Forbidden, Invalid, NotFound
from mso_flow.services.privacy import need_to_know, personal_data
from mso_flow.services.privacy.need_to_know import TaskReading
from mso_flow.services.privacy.personal_data import Disclosure
from mso_flow.services.tasks.candidates import roles_of
from mso_flow.services.tasks.records import Completed, TaskChange, TaskRecord, record, records
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as store
from mso_flow.store.models import HumanTask, ProcessInstance
from mso_flow.store.tasks import TaskFilter

SORTS = ("due_at", "created_at", "name")


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task with what a client needs to work it: its form, the manual's step it carries out and the instance's
    variables (those the caller may read: `services/privacy/need_to_know.py`)."""

    task: TaskRecord
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


def visible_task(session: Session, caller: Caller, task_id: str, headed: frozenset[str] = frozenset()) -> HumanTask:
    """The task row, if the caller may see it (404 unknown, 403 not theirs to see); `headed`: the staff roles the
    caller heads (`known_roles.headed_roles`)."""
    task = store.get(session, task_id)
    if task is None:
        raise not_found(task_id)
    if not policy.may_view_task(caller, task, headed):
        raise task_forbidden()
    return task


def view_of(
    services: Services,
    session: Session,
    task: HumanTask,
    instance: ProcessInstance,
    caller: Caller,
    definition: Definition | None = None,
    reading: TaskReading | None = None,
) -> TaskView:
    """The task as `caller` may read it; `definition`: the task's definition version when the caller has it;
    `reading`: what the caller read of the instance at an earlier moment (else: now)."""
    if definition is None or definition.id != task.definition_id:
        definition = services.definitions.definition(session, task.definition_id)
    model = definition.model
    task_def = model.user_task(task.element_id)
    form = task_def.form if task_def else ()
    disclosure = need_to_know.task_disclosure(services, session, caller, task, form, instance, reading)
    return TaskView(record(task), form, disclosure, instance.state, model, task_def)


def get(services: Services, caller: Caller, task_id: str) -> TaskView:
    """A task the caller may see, with its form and the variables they read (a read of personal values logged)."""
    with services.db.read() as session:
        task = visible_task(session, caller, task_id, headed_roles(services, caller))
        instance = instances_store.get(session, task.instance_id)
        assert instance is not None  # a task's instance is never deleted
        return view_of(services, session, task, instance, caller)


def task_record(services: Services, caller: Caller, task_id: str) -> TaskRecord:
    """A task the caller may see, without its form or anything of its instance's data (no read is logged)."""
    with services.db.read() as session:
        return record(visible_task(session, caller, task_id, headed_roles(services, caller)))


def described(services: Services, caller: Caller, task_id: str) -> tuple[TaskRecord, UserTaskDef | None]:
    """A task the caller may see and the manual's step it carries out, without its instance's data (no read is
    logged)."""
    with services.db.read() as session:
        task = visible_task(session, caller, task_id, headed_roles(services, caller))
        model = services.definitions.definition(session, task.definition_id).model
        return record(task), model.user_task(task.element_id)


def changed(services: Services, caller: Caller, changes: Sequence[TaskChange]) -> list[TaskView]:
    """The tasks of commands as they are now, each with the variables its caller read before the command (one read
    transaction, one statement a task: the task with its instance; the definition from the cache)."""
    views = []
    with services.db.read() as session:
        for change in changes:
            found = instances_store.with_tasks(session, [change.task_id])
            assert found is not None  # tasks are never deleted
            instance, tasks = found
            views.append(view_of(services, session, tasks[change.task_id], instance, caller, None, change.reading))
    return views


def completion(services: Services, caller: Caller, done: Completed) -> tuple[TaskView, InstanceView]:
    """A task just completed and its instance with the tasks the completion opened, as the caller now reads them
    (what `POST /tasks/{id}/complete` answers): one read transaction, one statement (the task rows with their
    instance), the definition from the cache, the instance's data disclosed once (its read logged once)."""
    with services.db.read() as session:
        found = instances_store.with_tasks(session, [done.task_id, *done.open_task_ids])
        assert found is not None  # tasks are never deleted
        instance, rows = found
        view = view_of(services, session, rows[done.task_id], instance, caller)
        shown = view.disclosure if view.variables_visible else personal_data.HIDDEN
        return view, instance_view(instance, [rows[i] for i in done.open_task_ids], shown)


def form_of(services: Services, caller: Caller, task_id: str) -> tuple[FormField, ...]:
    """The form of a task the caller may see, and nothing of its instance's data (no read is logged): what a face
    needs to read a submitted form before it completes the task."""
    _, step = described(services, caller, task_id)
    return step.form if step else ()


def listing(
    services: Services, caller: Caller, f: TaskFilter, offset: int, limit: int, assignee_me: bool = False
) -> tuple[list[TaskRecord], int]:
    """Tasks matching `f`; staff see only tasks they hold or may work."""
    require_sort(f)
    if assignee_me:
        f.assignee = caller.username
    if not policy.oversees_tasks(caller):
        if f.candidate_role and not policy.may_filter_by_role(caller, f.candidate_role):
            raise Forbidden("role_forbidden", f"คุณไม่มีบทบาท {f.candidate_role} (you do not hold this role)")
        if f.assignee is None and f.candidate_role is None:
            f.workable_by = (caller.username, tuple(sorted(roles_of(caller))))
        elif not policy.may_list_tasks_of(caller, f.assignee) and f.candidate_role is None:
            raise Forbidden("tasks_forbidden", "ดูได้เฉพาะงานของตนเองหรือบทบาทของตน (staff see their own tasks)")
    return page(services, f, offset, limit)


def page(services: Services, f: TaskFilter, offset: int, limit: int) -> tuple[list[TaskRecord], int]:
    """A page of the tasks matching `f` (its permissions already applied by the caller), and their total."""
    with services.db.read() as session:
        rows, total = store.listing(session, f, offset, limit)
        return records(rows), total


def require_sort(f: TaskFilter) -> None:
    if f.sort not in SORTS:
        raise Invalid("invalid_sort", f"sort ต้องเป็นหนึ่งใน {', '.join(SORTS)}")


def counts(services: Services, caller: Caller) -> dict[str, tuple[int, int]]:
    """(open, overdue) tasks per staff role of the caller, for inbox badges."""
    with services.db.read() as session:
        return store.counts_by_role(session, policy.staff_roles(caller), services.clock())
