"""External tasks, Camunda style: workers fetch and lock the service tasks of their topics, then complete them
or report a failure with the retries left. An expired lock frees the task for the next fetch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from mso_flow.engine.runtime import EngineError, TaskNotReady
from mso_flow.services import incidents
from mso_flow.services.context import Caller, Services
from mso_flow.services.errors import Conflict, Forbidden, NotFound
from mso_flow.services.events import record
from mso_flow.services.forms import require_valid_names
from mso_flow.services.progress import apply_step, engine_failure
from mso_flow.services.tasks import concurrent_changes_conflict
from mso_flow.store import external_tasks as store
from mso_flow.store import instances as instances_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import ExternalTask, ProcessInstance

WORKER_ROLES = ("integrator", "admin")


@dataclass
class LockedTask:
    task: ExternalTask
    instance: ProcessInstance


def _require_worker(caller: Caller) -> None:
    if not caller.has_any(WORKER_ROLES):
        raise Forbidden("worker_forbidden", "เฉพาะระบบเชื่อมต่อหรือผู้ดูแลระบบ (integrator or admin)")


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
                task.worker_id = worker_id
                task.lock_expires_at = now + timedelta(milliseconds=lock_ms)
                task.version += 1
                instance = instances_store.get(session, task.instance_id)
                assert instance is not None
                locked.append(LockedTask(task, instance))
        session.flush()
    return locked


def _locked_by(session: Session, task_id: str, worker_id: str, now: datetime) -> tuple[ProcessInstance, ExternalTask]:
    """The task and its instance, locked (instance first), if `worker_id` holds a live lock on it."""
    task = store.get(session, task_id)
    if task is None:
        raise NotFound("external_task_not_found", f"ไม่พบงานภายนอก {task_id} (external task not found)")
    instance = instances_store.lock(session, task.instance_id)
    task = store.lock_row(session, task_id)
    assert instance is not None and task is not None
    if task.state != store.OPEN:
        raise Conflict("external_task_not_open", f"งานภายนอกนี้อยู่ในสถานะ {task.state} แล้ว (not open)")
    expired = task.lock_expires_at is None or task.lock_expires_at <= now
    if task.worker_id != worker_id or expired:
        raise Conflict(
            "external_task_not_locked",
            f"งานภายนอกนี้ไม่ได้ถูกล็อกโดย {worker_id} (not locked by this worker, or the lock expired)",
            worker_id=None if expired else task.worker_id,
        )
    return instance, task


@incidents.recorded
def complete(services: Services, caller: Caller, task_id: str, worker_id: str, variables: dict[str, Any]) -> None:
    """Complete a locked task with the worker's `variables` and run the instance to its next wait state."""
    _require_worker(caller)
    require_valid_names(variables)
    with concurrent_changes_conflict(), services.db.write() as session:
        now = services.clock()
        instance, task = _locked_by(session, task_id, worker_id, now)
        definition = services.definition(instance.definition_id)
        try:
            step = services.runtime.complete(
                services.process(definition.id), instance.engine_state, task_id, variables, external=True
            )
        except EngineError as err:
            raise engine_failure(err, instance, definition, caller.username) from None
        except TaskNotReady:
            raise Conflict("external_task_not_open", "งานภายนอกนี้ไม่พร้อมแล้ว (no longer ready)") from None
        task.state, task.completed_at, task.lock_expires_at = "completed", now, None
        task.version += 1
        event = NewEvent(
            "external_task_completed",
            caller.username,
            task_id,
            task.element_id,
            {"worker_id": worker_id, "variables": variables},
        )
        apply_step(services, session, instance, definition, step, caller.username, now, [event])


def failure(
    services: Services,
    caller: Caller,
    task_id: str,
    worker_id: str,
    error_message: str,
    retries: int,
    retry_timeout_ms: int,
) -> LockedTask:
    """Release a locked task after a failed attempt: fetchable again after `retry_timeout_ms` while `retries`
    remain; with 0 retries it becomes an incident (audited) that no worker fetches."""
    _require_worker(caller)
    with concurrent_changes_conflict(), services.db.write() as session:
        now = services.clock()
        instance, task = _locked_by(session, task_id, worker_id, now)
        task.retries, task.error_message, task.worker_id = retries, error_message, None
        task.lock_expires_at = now + timedelta(milliseconds=retry_timeout_ms)
        task.version += 1
        data = {"worker_id": worker_id, "error_message": error_message, "retries": retries, "incident": retries == 0}
        failed = NewEvent("external_task_failed", caller.username, task_id, task.element_id, data)
        record(services, session, instance, [failed], now)
        if retries == 0:  # robustness hook: out of retries is an incident
            incidents.open_external_incident(services, session, instance, task.element_id, error_message, caller)
        session.flush()
        return LockedTask(task, instance)
