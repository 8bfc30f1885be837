"""Who holds a task: assignment by a supervisor, delegation and resolution (Camunda's owner / assignee model),
and bulk claims that take all the tasks asked for or none.

Every transition is an instance command (`services/platform/unit_of_work.py`): it runs under the row locks of its
task and instance and is audited with its actor and reason.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from mso_flow.domain import DelegationState
from mso_flow.services import policy
from mso_flow.services.accounts.known_roles import headed_roles
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Conflict, Forbidden, Invalid, ServiceError
from mso_flow.services.platform.unit_of_work import InstanceCommand, task_commands
from mso_flow.services.privacy import need_to_know
from mso_flow.services.tasks.candidates import personal_role
from mso_flow.services.tasks.human_tasks import require_claimable, require_open, transition
from mso_flow.services.tasks.queries import not_found
from mso_flow.services.tasks.records import TaskChange
from mso_flow.store import tasks as tasks_store
from mso_flow.store import users as users_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import HumanTask

MAX_BULK = 100
MAX_PEOPLE = 500  # offered to assign a task without candidates to


def _target_roles(session: Session, username: str) -> frozenset[str]:
    user = users_store.by_username(session, username)
    if user is None:
        raise Invalid("unknown_user", f"ไม่พบผู้ใช้ {username} (unknown user)", username=username)
    return frozenset(user.roles)


def _require_target_candidate(session: Session, task: HumanTask, username: str) -> None:
    roles = _target_roles(session, username) | {personal_role(username)}
    if not roles.intersection(task.candidate_roles):
        raise Invalid(
            "assignee_not_candidate",
            f"{username} ไม่มีบทบาทที่ทำงานนี้ได้ ({', '.join(task.candidate_roles)}) "
            "(the new assignee holds no candidate role)",
            username=username,
        )


def assign(services: Services, caller: Caller, task_id: str, username: str | None, reason: str | None) -> TaskChange:
    """Give an open task to `username` (or nobody), replacing any assignee; the target must be a candidate, unless
    the task has no candidates (`policy.has_no_candidates`): then an admin gives it to anyone."""

    def change(command: InstanceCommand, task: HumanTask) -> list[NewEvent]:
        if not policy.may_assign(caller, task, headed_roles(services, caller)):
            raise Forbidden(
                "not_supervisor",
                "มอบหมายงานได้เฉพาะผู้ดูแลระบบหรือหัวหน้า (supervisor) ของบทบาทนี้ (admin or the lane's supervisor only)",
            )
        require_open(task)
        if username is not None and policy.has_no_candidates(task):
            _target_roles(command.session, username)  # the user exists
        elif username is not None:
            _require_target_candidate(command.session, task, username)
        previous = task.assignee
        tasks_store.set_assignee(command.session, task, username)
        task.claimed_at = command.now if username else None
        task.assigned_by = caller.username if username else None
        task.owner = None
        task.delegation_state = None
        data = {"assignee": username, "previous": previous, "reason": reason}
        return [NewEvent("task_assigned", caller.username, task.id, task.element_id, data)]

    return transition(services, caller, task_id, change, "task.assign")


def delegate(services: Services, caller: Caller, task_id: str, username: str, reason: str | None) -> TaskChange:
    """The assignee hands the task to a delegate, who must hold one of its candidate roles, and stays its owner
    until the delegate resolves it."""

    def change(command: InstanceCommand, task: HumanTask) -> list[NewEvent]:
        require_open(task)
        if not policy.may_delegate(caller, task):
            raise Forbidden("not_assignee", "มอบหมายต่อได้เฉพาะผู้รับงาน (only the assignee may delegate)")
        if username == caller.username:
            raise Invalid("delegate_to_self", "มอบหมายงานให้ตนเองไม่ได้ (cannot delegate to yourself)")
        _require_target_candidate(command.session, task, username)
        task.owner = task.owner or caller.username
        tasks_store.set_assignee(command.session, task, username)
        task.delegation_state = DelegationState.PENDING
        data = {"owner": task.owner, "delegate": username, "reason": reason}
        return [NewEvent("task_delegated", caller.username, task.id, task.element_id, data)]

    return transition(services, caller, task_id, change, "task.delegate")


def resolve(services: Services, caller: Caller, task_id: str, reason: str | None) -> TaskChange:
    """The delegate gives the task back to its owner."""

    def change(command: InstanceCommand, task: HumanTask) -> list[NewEvent]:
        require_open(task)
        if task.delegation_state != DelegationState.PENDING:
            raise Conflict("not_delegated", "งานนี้ไม่ได้อยู่ระหว่างการมอบหมาย (task has no pending delegation)")
        if not policy.may_resolve(caller, task):
            raise Forbidden("not_delegate", "ส่งคืนงานได้เฉพาะผู้รับมอบหมาย (only the delegate may resolve)")
        delegate_name = task.assignee
        tasks_store.set_assignee(command.session, task, task.owner)
        task.delegation_state = DelegationState.RESOLVED
        data = {"owner": task.owner, "delegate": delegate_name, "reason": reason}
        return [NewEvent("task_resolved", caller.username, task.id, task.element_id, data)]

    return transition(services, caller, task_id, change, "task.resolve")


def claim_all(services: Services, caller: Caller, task_ids: list[str]) -> list[TaskChange]:
    """Claim every task, or none: 409 naming the first task that cannot be claimed and why. Each task is answered
    with what the caller read of its instance before claiming it (as `human_tasks.transition`)."""
    with task_commands(services, caller.username, task_ids) as locked:
        readings = {
            tid: need_to_know.task_reading(c.session, caller, task, c.instance) for tid, (c, task) in locked.items()
        }
        events: dict[str, tuple[InstanceCommand, list[NewEvent]]] = {}
        for task_id in task_ids:
            found = locked.get(task_id)
            try:
                if found is None:
                    raise not_found(task_id)
                command, task = found
                event = _claim_one(command, caller, task)
            except ServiceError as err:
                raise Conflict(
                    "bulk_claim_failed",
                    f"รับงานทั้งหมดไม่สำเร็จ ไม่มีงานใดถูกรับ: งาน {task_id}: {err.message} (no task was claimed)",
                    task_id=task_id,
                    reason=err.code,
                ) from None
            if event is not None:
                events.setdefault(command.instance.id, (command, []))[1].append(event)
        for command, instance_events in events.values():
            command.record(instance_events)
        changed = (locked[task_id] for task_id in dict.fromkeys(task_ids))
        return [TaskChange(t.id, t.instance_id, t.state, t.assignee, readings[t.id]) for _, t in changed]


def _claim_one(command: InstanceCommand, caller: Caller, task: HumanTask) -> NewEvent | None:
    require_claimable(caller, task)
    require_open(task)
    if task.assignee == caller.username:
        return None
    if task.assignee is not None:
        raise Conflict("task_claimed", f"งานนี้มีผู้รับไปแล้ว ({task.assignee})")
    tasks_store.set_assignee(command.session, task, caller.username)
    task.claimed_at = command.now
    return NewEvent("task_claimed", caller.username, task.id, task.element_id, {"bulk": True})


def candidates(services: Services, caller: Caller, task_id: str) -> list[str]:
    """The usernames a supervisor may assign this task to (holders of one of its candidate roles; anyone, for a task
    without candidates)."""
    with services.db.read() as session:
        task = tasks_store.get(session, task_id)
        if task is None:
            raise not_found(task_id)
        if not policy.may_assign(caller, task, headed_roles(services, caller)):
            raise Forbidden("not_supervisor", "มอบหมายงานได้เฉพาะหัวหน้าของบทบาทนี้ (supervisor of the lane required)")
        if policy.has_no_candidates(task):
            return [u.username for u in users_store.listing(session, 0, MAX_PEOPLE)[0]]
        return [u.username for u in users_store.holding_any(session, list(task.candidate_roles))]


def delegates(services: Services, caller: Caller, task_id: str) -> list[str]:
    """The usernames the task's holder may delegate it to: the other active holders of one of its candidate roles
    (`delegate` refuses anyone else)."""
    with services.db.read() as session:
        task = tasks_store.get(session, task_id)
        if task is None:
            raise not_found(task_id)
        if not policy.may_delegate(caller, task):
            raise Forbidden("not_assignee", "มอบหมายต่อได้เฉพาะผู้รับงาน (only the assignee may delegate)")
        people = users_store.holding_any(session, list(task.candidate_roles))
        return [u.username for u in people if u.username != caller.username and u.active]


def without_password(services: Services, names: list[str]) -> set[str]:
    """Of these people (a task's `candidates`), those who cannot log in to the web app (no password yet)."""
    with services.db.read() as session:
        return {u.username for u in users_store.by_usernames(session, names) if u.password_hash is None}
