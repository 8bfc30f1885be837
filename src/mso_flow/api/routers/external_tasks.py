"""External tasks, Camunda style: fetch and lock by topic, complete, report failure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from mso_flow.api.deps import CallerDep, ServicesDep
from mso_flow.schemas.integration import (
    ExternalBpmnErrorRequest,
    ExternalBpmnErrorResult,
    ExternalCompleteRequest,
    ExternalExtendLockRequest,
    ExternalFailureRequest,
    ExternalTaskOut,
    FetchAndLockRequest,
)
from mso_flow.services.integrations import external_tasks
from mso_flow.services.integrations.external_tasks import LockedTask

router = APIRouter(prefix="/external-tasks", tags=["external tasks"])
TaskId = Annotated[str, Path(max_length=64)]


def _out(locked: LockedTask) -> ExternalTaskOut:
    task, instance = locked.task, locked.instance
    return ExternalTaskOut(
        id=task.id,
        topic=task.topic,
        worker_id=task.worker_id,
        lock_expires_at=task.lock_expires_at,
        retries=task.retries,
        error_message=task.error_message,
        element_id=task.element_id,
        process_instance_id=instance.id,
        definition_key=instance.definition_key,
        business_key=instance.business_key,
        variables=locked.variables,
        variables_visible=locked.variables_visible,
    )


@router.post("/fetch-and-lock", response_model=list[ExternalTaskOut])
def fetch_and_lock(body: FetchAndLockRequest, caller: CallerDep, services: ServicesDep) -> list[ExternalTaskOut]:
    """Lock free tasks of the topics for the worker (integrator or admin); an empty list when there are none."""
    topics = [(t.name, t.lock_duration_ms) for t in body.topics]
    locked = external_tasks.fetch_and_lock(services, caller, body.worker_id, topics, body.max_tasks)
    return [_out(item) for item in locked]


@router.post("/{task_id}/complete", status_code=status.HTTP_204_NO_CONTENT)
def complete(task_id: TaskId, body: ExternalCompleteRequest, caller: CallerDep, services: ServicesDep) -> Response:
    """Complete a task the worker holds; its variables join the instance. 409 when the lock is not the worker's."""
    external_tasks.complete(services, caller, task_id, body.worker_id, body.variables)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{task_id}/failure", response_model=ExternalTaskOut)
def failure(task_id: TaskId, body: ExternalFailureRequest, caller: CallerDep, services: ServicesDep) -> ExternalTaskOut:
    """Report a failed attempt: the task is fetchable again after `retry_timeout_ms`; retries 0 is an incident."""
    released = external_tasks.failure(
        services, caller, task_id, body.worker_id, body.error_message, body.retries, body.retry_timeout_ms
    )
    return _out(released)


@router.post("/{task_id}/bpmn-error", response_model=ExternalBpmnErrorResult)
def bpmn_error(
    task_id: TaskId, body: ExternalBpmnErrorRequest, caller: CallerDep, services: ServicesDep
) -> ExternalBpmnErrorResult:
    """Report a business error: the task's error boundary event for `error_code` takes over, else an incident."""
    caught = external_tasks.bpmn_error(
        services, caller, task_id, body.worker_id, body.error_code, body.error_message, body.variables
    )
    return ExternalBpmnErrorResult(caught=caught)


@router.post("/{task_id}/extend-lock", status_code=status.HTTP_204_NO_CONTENT)
def extend_lock(task_id: TaskId, body: ExternalExtendLockRequest, caller: CallerDep, services: ServicesDep) -> Response:
    """Keep a held lock `lock_duration_ms` longer from now."""
    external_tasks.extend_lock(services, caller, task_id, body.worker_id, body.lock_duration_ms)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{task_id}/unlock", status_code=status.HTTP_204_NO_CONTENT)
def unlock(task_id: TaskId, caller: CallerDep, services: ServicesDep) -> Response:
    """Release the task's lock so any worker may fetch it: the user that locked it, or an admin (409
    `external_task_not_locked` for anyone else)."""
    external_tasks.unlock(services, caller, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
