"""Staff work on human tasks, the commands: claim, unclaim, complete (what the faces read: `tasks/queries.py`).

Each answers a small result (`TaskChange`, `Completed`: ids and new states), never a read view. Every transition
is an instance command (`services/platform/unit_of_work.py`): it locks the task's instance row and the
task, checks it, changes it and appends to the instance's audit chain in one transaction; concurrent
transitions on one instance therefore run one after the other, and of many concurrent claims of one task
exactly one succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mso_flow.domain import DelegationState, TaskState
from mso_flow.services import policy
from mso_flow.services.documents.forms import with_file_fields
from mso_flow.services.instances import guards
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.executor import InstanceChange, execute
from mso_flow.services.platform.failures import Conflict, Forbidden
from mso_flow.services.platform.unit_of_work import InstanceCommand, Outcome, lock_task
from mso_flow.services.privacy import need_to_know
from mso_flow.services.tasks import staffing
from mso_flow.services.tasks.form_check import check_form
from mso_flow.services.tasks.queries import not_found
from mso_flow.services.tasks.records import Completed, TaskChange
from mso_flow.store import tasks as store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import HumanTask


def transition(
    services: Services,
    caller: Caller,
    task_id: str,
    change: Callable[[InstanceCommand, HumanTask], list[NewEvent]],
    name: str,
) -> TaskChange:
    """The command `name` (through the executor): lock the task and its instance, apply `change`, record the
    events it returns, commit. It answers the task's new state and holder, and what the caller read of the
    instance *before* the change (`need_to_know.task_reading`): `queries.changed` shows the task with that, so a
    claim or an assignment discloses nothing the caller could not read already."""

    def run(command: InstanceCommand, task: HumanTask) -> TaskChange:
        reading = need_to_know.task_reading(command.session, caller, task, command.instance)
        command.record(change(command, task))
        return TaskChange(task.id, task.instance_id, task.state, task.assignee, reading)

    return execute(services, InstanceChange(name, caller, lock_task(task_id), lambda: not_found(task_id), run))


def require_open(task: HumanTask) -> None:
    if task.state != TaskState.OPEN:
        raise Conflict("task_not_open", f"งานนี้อยู่ในสถานะ {task.state} แล้ว (task is not open)")


def require_claimable(caller: Caller, task: HumanTask) -> None:
    if not policy.may_claim(caller, task):
        roles = ", ".join(task.candidate_roles)
        raise Forbidden("not_candidate", f"งานนี้สำหรับบทบาท {roles} เท่านั้น (caller holds no candidate role)")


def claim(services: Services, caller: Caller, task_id: str) -> TaskChange:
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


def unclaim(services: Services, caller: Caller, task_id: str) -> TaskChange:
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


def complete(
    services: Services, caller: Caller, task_id: str, variables: dict[str, Any], unheld_ok: bool = True
) -> Completed:
    """Complete a task with form variables and run the process to its next wait state, in one transaction;
    nothing of the instance's data is opened (no read is logged). Unless `unheld_ok`, a step it creates that no
    active user can work refuses it (409 `unheld_lane`, nothing changed)."""
    return execute(services, _completion(services, caller, task_id, variables, unheld_ok))


def _completion(
    services: Services,
    caller: Caller,
    task_id: str,
    variables: dict[str, Any],
    unheld_ok: bool = True,
) -> InstanceChange[HumanTask, Outcome, Completed]:
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

    def result(command: InstanceCommand, task: HumanTask, outcome: Outcome) -> Completed:
        opened = tuple(t.id for t in outcome.open_tasks)
        return Completed(task.id, task.state, outcome.instance.id, outcome.instance.state, opened)

    return InstanceChange("task.complete", caller, lock_task(task_id), lambda: not_found(task_id), run, result)
