"""Who holds a task: assignment by a supervisor, delegation and resolution (Camunda's owner / assignee model),
and bulk claims that take all the tasks asked for or none.

Every transition runs under the row locks of `tasks.transition` and is audited with its actor and reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mso_flow.services import events as events_service
from mso_flow.services.context import Caller, Services
from mso_flow.services.errors import Conflict, Forbidden, Invalid, ServiceError
from mso_flow.services.tasks import (
    TaskView,
    concurrent_changes_conflict,
    is_candidate,
    not_found,
    require_open,
    transition,
    view_of,
)
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as tasks_store
from mso_flow.store import users as users_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import HumanTask, ProcessInstance

SUPERVISOR = "supervisor"
MAX_BULK = 100


def _target_roles(session: Session, username: str) -> frozenset[str]:
    user = users_store.by_username(session, username)
    if user is None:
        raise Invalid("unknown_user", f"ไม่พบผู้ใช้ {username} (unknown user)", username=username)
    return frozenset(user.roles)


def _require_target_candidate(session: Session, task: HumanTask, username: str) -> None:
    roles = _target_roles(session, username)
    if not roles.intersection(task.candidate_roles):
        raise Invalid(
            "assignee_not_candidate",
            f"{username} ไม่มีบทบาทที่ทำงานนี้ได้ ({', '.join(task.candidate_roles)}) "
            "(the new assignee holds no candidate role)",
            username=username,
        )


def may_supervise(caller: Caller, task: HumanTask) -> bool:
    """Admins, and supervisors who hold one of the task's candidate roles, may assign it."""
    return caller.is_admin or (SUPERVISOR in caller.roles and is_candidate(caller, task))


def assign(services: Services, caller: Caller, task_id: str, username: str | None, reason: str | None) -> TaskView:
    """Give an open task to `username` (or nobody), replacing any assignee; the target must be a candidate."""

    def change(session: Session, task: HumanTask, instance: ProcessInstance, now: datetime) -> list[NewEvent]:
        if not may_supervise(caller, task):
            raise Forbidden(
                "not_supervisor",
                "มอบหมายงานได้เฉพาะผู้ดูแลระบบหรือหัวหน้า (supervisor) ของบทบาทนี้ (admin or the lane's supervisor only)",
            )
        require_open(task)
        if username is not None:
            _require_target_candidate(session, task, username)
        previous = task.assignee
        tasks_store.set_assignee(session, task, username)
        task.claimed_at = now if username else None
        task.owner = None
        task.delegation_state = None
        data = {"assignee": username, "previous": previous, "reason": reason}
        return [NewEvent("task_assigned", caller.username, task.id, task.element_id, data)]

    return transition(services, task_id, change)[0]


def delegate(services: Services, caller: Caller, task_id: str, username: str, reason: str | None) -> TaskView:
    """The assignee hands the task to a delegate and stays its owner until the delegate resolves it."""

    def change(session: Session, task: HumanTask, instance: ProcessInstance, now: datetime) -> list[NewEvent]:
        require_open(task)
        if task.assignee != caller.username:
            raise Forbidden("not_assignee", "มอบหมายต่อได้เฉพาะผู้รับงาน (only the assignee may delegate)")
        if username == caller.username:
            raise Invalid("delegate_to_self", "มอบหมายงานให้ตนเองไม่ได้ (cannot delegate to yourself)")
        _target_roles(session, username)
        task.owner = task.owner or caller.username
        tasks_store.set_assignee(session, task, username)
        task.delegation_state = "pending"
        data = {"owner": task.owner, "delegate": username, "reason": reason}
        return [NewEvent("task_delegated", caller.username, task.id, task.element_id, data)]

    return transition(services, task_id, change)[0]


def resolve(services: Services, caller: Caller, task_id: str, reason: str | None) -> TaskView:
    """The delegate gives the task back to its owner."""

    def change(session: Session, task: HumanTask, instance: ProcessInstance, now: datetime) -> list[NewEvent]:
        require_open(task)
        if task.delegation_state != "pending":
            raise Conflict("not_delegated", "งานนี้ไม่ได้อยู่ระหว่างการมอบหมาย (task has no pending delegation)")
        if task.assignee != caller.username and not caller.is_admin:
            raise Forbidden("not_delegate", "ส่งคืนงานได้เฉพาะผู้รับมอบหมาย (only the delegate may resolve)")
        delegate_name = task.assignee
        tasks_store.set_assignee(session, task, task.owner)
        task.delegation_state = "resolved"
        data = {"owner": task.owner, "delegate": delegate_name, "reason": reason}
        return [NewEvent("task_resolved", caller.username, task.id, task.element_id, data)]

    return transition(services, task_id, change)[0]


def claim_all(services: Services, caller: Caller, task_ids: list[str]) -> list[TaskView]:
    """Claim every task, or none: 409 naming the first task that cannot be claimed and why."""
    ordered = sorted(dict.fromkeys(task_ids))
    with concurrent_changes_conflict(), services.db.write() as session:
        locked = instances_store.lock_many(session, ordered)
        now = services.clock()
        events: dict[str, tuple[ProcessInstance, list[NewEvent]]] = {}
        for task_id in task_ids:
            found = locked.get(task_id)
            try:
                if found is None:
                    raise not_found(task_id)
                instance, task = found
                event = _claim_one(session, caller, task, now)
            except ServiceError as err:
                raise Conflict(
                    "bulk_claim_failed",
                    f"รับงานทั้งหมดไม่สำเร็จ ไม่มีงานใดถูกรับ: งาน {task_id}: {err.message} (no task was claimed)",
                    task_id=task_id,
                    reason=err.code,
                ) from None
            if event is not None:
                events.setdefault(instance.id, (instance, []))[1].append(event)
        for instance, instance_events in events.values():
            events_service.record(services, session, instance, instance_events, now)
        session.flush()
        return [view_of(services, locked[task_id][1], locked[task_id][0]) for task_id in dict.fromkeys(task_ids)]


def _claim_one(session: Session, caller: Caller, task: HumanTask, now: datetime) -> NewEvent | None:
    if not (caller.is_admin or is_candidate(caller, task)):
        raise Forbidden("not_candidate", f"งานนี้สำหรับบทบาท {', '.join(task.candidate_roles)} เท่านั้น")
    require_open(task)
    if task.assignee == caller.username:
        return None
    if task.assignee is not None:
        raise Conflict("task_claimed", f"งานนี้มีผู้รับไปแล้ว ({task.assignee})")
    tasks_store.set_assignee(session, task, caller.username)
    task.claimed_at = now
    return NewEvent("task_claimed", caller.username, task.id, task.element_id, {"bulk": True})


def candidates(services: Services, caller: Caller, task_id: str) -> list[str]:
    """The usernames a supervisor may assign this task to (holders of one of its candidate roles)."""
    with services.db.read() as session:
        task = tasks_store.get(session, task_id)
        if task is None:
            raise not_found(task_id)
        if not may_supervise(caller, task):
            raise Forbidden("not_supervisor", "มอบหมายงานได้เฉพาะหัวหน้าของบทบาทนี้ (supervisor of the lane required)")
        return [u.username for u in users_store.holding_any(session, list(task.candidate_roles))]
