"""External tasks, Camunda style: workers fetch and lock the service tasks of their topics, then complete them
or report a failure with the retries left. An expired lock frees the task for the next fetch.

A lock is its holder's: the user that locked it and the worker id it locked with (`policy.holds_external_task`);
only the holder or an admin frees it. A worker is shown the variables of an instance only when its user reads
that instance's data (`services/privacy/need_to_know.py`), personal values masked unless it reads those too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from mso_flow.domain import ExternalTaskState, ReadPurpose
from mso_flow.services import policy
from mso_flow.services.instances import incidents
from mso_flow.services.instances.queries import InstanceRecord, instance_record
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.executor import InstanceChange, execute
from mso_flow.services.platform.failures import Conflict, Forbidden, NotFound
from mso_flow.services.platform.unit_of_work import InstanceCommand, concurrent_changes_conflict
from mso_flow.services.privacy import need_to_know
from mso_flow.services.tasks.form_check import require_valid_names
from mso_flow.store import external_tasks as store
from mso_flow.store import instances as instances_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import ExternalTask, ProcessInstance

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ExternalTaskRecord:
    """An external task as the faces show it."""

    id: str
    instance_id: str
    definition_id: str
    element_id: str
    topic: str
    state: str
    worker_id: str | None
    locked_by: str | None
    lock_expires_at: datetime | None
    retries: int | None
    error_message: str | None
    error_details: str | None
    created_at: datetime
    completed_at: datetime | None


def external_task_record(row: ExternalTask) -> ExternalTaskRecord:
    return ExternalTaskRecord(
        row.id,
        row.instance_id,
        row.definition_id,
        row.element_id,
        row.topic,
        row.state,
        row.worker_id,
        row.locked_by,
        row.lock_expires_at,
        row.retries,
        row.error_message,
        row.error_details,
        row.created_at,
        row.completed_at,
    )


@dataclass(frozen=True, slots=True)
class LockedTask:
    task: ExternalTaskRecord
    instance: InstanceRecord
    variables: dict[str, Any]  # as the worker is shown them (none for an instance whose data it does not read)
    variables_visible: bool = True


def _worker_forbidden() -> Forbidden:
    return Forbidden("worker_forbidden", "เฉพาะระบบเชื่อมต่อหรือผู้ดูแลระบบ (integrator or admin)")


def _require_worker(caller: Caller) -> None:
    if not policy.may_work_external_tasks(caller):
        raise _worker_forbidden()


def fetch_and_lock(
    services: Services, caller: Caller, worker_id: str, topics: list[tuple[str, int]], max_tasks: int
) -> list[LockedTask]:
    """Lock up to `max_tasks` free tasks of `topics` (name, lock duration in ms) for `worker_id`."""
    _require_worker(caller)
    locked: list[LockedTask] = []
    with services.db.write() as session:
        now = services.clock()
        for topic, lock_ms in topics:
            if len(locked) >= max_tasks:
                break
            for task in store.lock_available(session, topic, now, max_tasks - len(locked)):
                task.worker_id, task.locked_by = worker_id, caller.username
                task.lock_expires_at = now + timedelta(milliseconds=lock_ms)
                task.version += 1
                instance = instances_store.get(session, task.instance_id)
                assert instance is not None
                locked.append(_shown(services, session, caller, task, instance))
        session.flush()
    return locked


def _shown(
    services: Services, session: Session, caller: Caller, task: ExternalTask, instance: ProcessInstance
) -> LockedTask:
    """The task with the variables its worker is shown: those of an instance whose data it reads, personal values
    masked unless it reads them too."""
    shown = need_to_know.disclose(services, session, caller, instance, purpose=ReadPurpose.WORKER)
    return LockedTask(external_task_record(task), instance_record(instance), shown.variables, shown.visible)


def _not_found(task_id: str) -> NotFound:
    return NotFound("external_task_not_found", f"ไม่พบงานภายนอก {task_id} (external task not found)")


def _not_locked() -> Conflict:
    return Conflict(
        "external_task_not_locked",
        "งานภายนอกนี้ไม่ได้ถูกล็อกโดยผู้ปฏิบัติงานนี้ของท่าน (not locked by this worker of yours, or the lock expired)",
    )


def _lock_held_by(
    caller: Caller, task_id: str, worker_id: str, now: datetime
) -> Callable[[Session], tuple[ProcessInstance, ExternalTask] | None]:
    """Lock the task's instance, then the task, if `worker_id` of the caller holds a live lock on it. A lock held
    by anyone else is never described (not even its worker id)."""

    def lock(session: Session) -> tuple[ProcessInstance, ExternalTask] | None:
        task = store.get(session, task_id)
        if task is None:
            return None
        instance = instances_store.lock(session, task.instance_id)
        task = store.lock_row(session, task_id)
        assert instance is not None and task is not None
        if task.state != ExternalTaskState.OPEN:
            raise Conflict("external_task_not_open", f"งานภายนอกนี้อยู่ในสถานะ {task.state} แล้ว (not open)")
        expired = task.lock_expires_at is None or task.lock_expires_at <= now
        if expired or not policy.holds_external_task(caller, task, worker_id):
            raise _not_locked()
        return instance, task

    return lock


def _no_longer_ready() -> Conflict:
    return Conflict("external_task_not_open", "งานภายนอกนี้ไม่พร้อมแล้ว (no longer ready)")


def complete(services: Services, caller: Caller, task_id: str, worker_id: str, variables: dict[str, Any]) -> None:
    """Complete a locked task with the worker's `variables` and run the instance to its next wait state."""

    def run(command: InstanceCommand, task: ExternalTask) -> None:
        data = {"worker_id": worker_id, "variables": variables}
        event = NewEvent("external_task_completed", caller.username, task_id, task.element_id, data)
        command.advance(
            lambda runtime, process, state: runtime.complete(process, state, task_id, variables, external=True),
            [event],
            not_ready=_no_longer_ready,
        )
        task.state, task.completed_at, task.lock_expires_at = ExternalTaskState.COMPLETED, command.now, None
        task.version += 1

    lock = _lock_held_by(caller, task_id, worker_id, services.clock())
    execute(services, _change("external_task.complete", caller, lock, task_id, variables, run))


def _change(
    name: str,
    caller: Caller,
    lock: Callable[[Session], tuple[ProcessInstance, ExternalTask] | None],
    task_id: str,
    variables: dict[str, Any] | None,
    run: Callable[[InstanceCommand, ExternalTask], T],
) -> InstanceChange[ExternalTask, T, T]:
    """A worker's command on a task it holds: the worker's right first, then the variables' names (if any)."""
    return InstanceChange(
        name,
        caller,
        lock,
        lambda: _not_found(task_id),
        run,
        authorize=policy.may_work_external_tasks,
        forbidden=_worker_forbidden,
        check=None if variables is None else lambda: require_valid_names(variables),
    )


def failure(
    services: Services,
    caller: Caller,
    task_id: str,
    worker_id: str,
    error_message: str,
    retries: int,
    retry_timeout_ms: int,
    error_details: str | None = None,
) -> LockedTask:
    """Release a locked task after a failed attempt: fetchable again after `retry_timeout_ms` while `retries`
    remain; with 0 retries it becomes an incident (audited) that no worker fetches."""

    def run(command: InstanceCommand, task: ExternalTask) -> LockedTask:
        task.retries, task.error_message, task.worker_id, task.locked_by = retries, error_message, None, None
        task.error_details = error_details
        task.lock_expires_at = command.now + timedelta(milliseconds=retry_timeout_ms)
        task.version += 1
        data = {"worker_id": worker_id, "error_message": error_message, "retries": retries, "incident": retries == 0}
        command.record([NewEvent("external_task_failed", caller.username, task_id, task.element_id, data)])
        if retries == 0:  # out of retries: an incident an administrator sees
            incidents.open_external_incident(
                services, command.session, command.instance, task.element_id, error_message, caller
            )
        command.session.flush()
        return _shown(services, command.session, caller, task, command.instance)

    lock = _lock_held_by(caller, task_id, worker_id, services.clock())
    return execute(services, _change("external_task.failure", caller, lock, task_id, None, run))


def bpmn_error(
    services: Services,
    caller: Caller,
    task_id: str,
    worker_id: str,
    code: str,
    message: str | None,
    variables: dict[str, Any],
) -> bool:
    """The worker reports a business error `code`: an error boundary event on the task that catches it takes
    the process on (True); with none, the task becomes an incident (retries 0, audited) for staff (False). A
    process error on the way on (a failing script after the boundary event) is an incident too (the executor)."""

    def run(command: InstanceCommand, task: ExternalTask) -> bool:
        data = {"worker_id": worker_id, "error_code": code, "error_message": message, "variables": variables}
        task.error_message = f"BPMN error {code}: {message or ''}".strip()
        task.version += 1
        try:
            step = command.run(
                lambda runtime, process, state: runtime.throw_error(process, state, task_id, code, variables),
                not_ready=_no_longer_ready,
            )
        except LookupError:  # no boundary event catches the code
            task.retries, task.worker_id, task.locked_by, task.lock_expires_at = 0, None, None, None
            uncaught = data | {"incident": True, "retries": 0, "uncaught_error": True}
            command.record([NewEvent("external_task_failed", caller.username, task_id, task.element_id, uncaught)])
            incidents.open_external_incident(
                services, command.session, command.instance, task.element_id, task.error_message, caller
            )
            return False
        task.state, task.completed_at, task.lock_expires_at = ExternalTaskState.COMPLETED, command.now, None
        command.apply(step, [NewEvent("external_task_bpmn_error", caller.username, task_id, task.element_id, data)])
        return True

    lock = _lock_held_by(caller, task_id, worker_id, services.clock())
    return execute(services, _change("external_task.bpmn_error", caller, lock, task_id, variables, run))


def extend_lock(services: Services, caller: Caller, task_id: str, worker_id: str, duration_ms: int) -> None:
    """Push a held lock `duration_ms` past now (the worker needs longer)."""

    def run(command: InstanceCommand, task: ExternalTask) -> None:
        task.lock_expires_at = command.now + timedelta(milliseconds=duration_ms)
        task.version += 1

    lock = _lock_held_by(caller, task_id, worker_id, services.clock())
    execute(services, _change("external_task.extend_lock", caller, lock, task_id, None, run))


def unlock(services: Services, caller: Caller, task_id: str) -> None:
    """Release a task's lock, so any worker may fetch it: the user that locked it, or an admin (an operator's
    decision); anyone else's lock is 409 `external_task_not_locked`, not described. Not an instance change (the
    instance is neither locked nor changed, nothing is audited): it stays outside the executor."""
    _require_worker(caller)
    with concurrent_changes_conflict(), services.db.write() as session:
        task = store.lock_row(session, task_id)
        if task is None:
            raise _not_found(task_id)
        if task.state != ExternalTaskState.OPEN:
            raise Conflict("external_task_not_open", f"งานภายนอกนี้อยู่ในสถานะ {task.state} แล้ว (not open)")
        if not policy.may_unlock_external_task(caller, task):
            raise _not_locked()
        task.worker_id, task.locked_by, task.lock_expires_at = None, None, None
        task.version += 1


def get(services: Services, caller: Caller, task_id: str) -> LockedTask:
    _require_worker(caller)
    with services.db.read() as session:
        task = store.get(session, task_id)
        if task is None:
            raise _not_found(task_id)
        instance = instances_store.get(session, task.instance_id)
        assert instance is not None
        return _shown(services, session, caller, task, instance)


def listing(
    services: Services, caller: Caller, offset: int, limit: int, **filters: Any
) -> tuple[list[ExternalTaskRecord], int]:
    """External tasks by `store.listing` filters (topic, worker_id, instance_id, locked, with_retries_left)."""
    _require_worker(caller)
    with services.db.read() as session:
        rows, total = store.listing(session, services.clock(), offset, limit, **filters)
        return [external_task_record(t) for t in rows], total


def any_available(services: Services, caller: Caller, topics: list[str]) -> bool:
    """Whether a fetch of `topics` would lock something now: a read-only look for waiting fetches, so that
    waiting costs no write transaction."""
    _require_worker(caller)
    with services.db.read() as session:
        return store.any_available(session, topics, services.clock())
