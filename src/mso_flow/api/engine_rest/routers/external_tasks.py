"""External tasks as Camunda's workers use them: fetch-and-lock with long polling, complete, failure with
retries, BPMN error, extend lock, unlock, and queries.

A long poll holds neither a thread nor a database connection while it waits: each attempt to lock runs in the
thread pool and returns; in between the request awaits an `asyncio.Event` that this service process sets when
it commits an external task of a wanted topic, or a short poll interval for tasks created elsewhere (another
service process or replica, an expired lock, a retry timeout)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from mso_flow.api.engine_rest import dto
from mso_flow.api.engine_rest.auth import CallerDep, ServicesDep
from mso_flow.api.engine_rest.params import PageDep
from mso_flow.api.engine_rest.schemas import (
    BpmnErrorRequest,
    ExtendLockRequest,
    ExternalCompleteRequest,
    FailureRequest,
    FetchAndLockRequest,
)
from mso_flow.api.engine_rest.variables import from_typed
from mso_flow.services.integrations import external_tasks
from mso_flow.services.integrations.wakeups import SIGNAL
from mso_flow.services.platform.context import Caller, Services

router = APIRouter(tags=["external-task"])
POLL_SECONDS = 1.0
NO_CONTENT = 204


def _fetch(services: Services, caller: Caller, body: FetchAndLockRequest) -> list[dict[str, Any]]:
    topics = [(t.topic_name, t.lock_duration) for t in body.topics]
    wanted = {t.topic_name: t.variables for t in body.topics}
    locked = external_tasks.fetch_and_lock(services, caller, body.worker_id, topics, body.max_tasks)
    return [
        dto.locked_task(item, wanted.get(item.task.topic), services.definition(item.task.definition_id).key)
        for item in locked
    ]


@router.post("/external-task/fetchAndLock")
async def fetch_and_lock(
    request: Request, body: FetchAndLockRequest, services: ServicesDep, caller: CallerDep
) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (body.async_response_timeout or 0) / 1000
    topics = [t.topic_name for t in body.topics]
    with SIGNAL.waiting(topics) as created:
        looked = False
        while True:
            created.clear()  # before looking, so a task committed meanwhile wakes the next wait
            free = not looked or await run_in_threadpool(external_tasks.any_available, services, caller, topics)
            found = await run_in_threadpool(_fetch, services, caller, body) if free else []
            looked = True
            remaining = deadline - loop.time()
            if found or remaining <= 0 or await request.is_disconnected():
                return found
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(created.wait(), timeout=min(POLL_SECONDS, remaining))


@router.post("/external-task/{task_id}/complete", status_code=NO_CONTENT)
async def complete(task_id: str, body: ExternalCompleteRequest, services: ServicesDep, caller: CallerDep) -> Response:
    variables = from_typed(body.variables) | from_typed(body.local_variables)
    await run_in_threadpool(external_tasks.complete, services, caller, task_id, body.worker_id, variables)
    return Response(status_code=NO_CONTENT)


@router.post("/external-task/{task_id}/failure", status_code=NO_CONTENT)
async def failure(task_id: str, body: FailureRequest, services: ServicesDep, caller: CallerDep) -> Response:
    message = body.error_message or "(no error message)"
    await run_in_threadpool(
        external_tasks.failure,
        services,
        caller,
        task_id,
        body.worker_id,
        message,
        body.retries,
        body.retry_timeout,
        body.error_details,
    )
    return Response(status_code=NO_CONTENT)


@router.post("/external-task/{task_id}/bpmnError", status_code=NO_CONTENT)
async def bpmn_error(task_id: str, body: BpmnErrorRequest, services: ServicesDep, caller: CallerDep) -> Response:
    variables = from_typed(body.variables)
    await run_in_threadpool(
        external_tasks.bpmn_error,
        services,
        caller,
        task_id,
        body.worker_id,
        body.error_code,
        body.error_message,
        variables,
    )
    return Response(status_code=NO_CONTENT)


@router.post("/external-task/{task_id}/extendLock", status_code=NO_CONTENT)
async def extend_lock(task_id: str, body: ExtendLockRequest, services: ServicesDep, caller: CallerDep) -> Response:
    await run_in_threadpool(external_tasks.extend_lock, services, caller, task_id, body.worker_id, body.new_duration)
    return Response(status_code=NO_CONTENT)


@router.post("/external-task/{task_id}/unlock", status_code=NO_CONTENT)
async def unlock(task_id: str, services: ServicesDep, caller: CallerDep) -> Response:
    await run_in_threadpool(external_tasks.unlock, services, caller, task_id)
    return Response(status_code=NO_CONTENT)


def _filters(
    topicName: str | None = None,
    workerId: str | None = None,
    processInstanceId: str | None = None,
    locked: bool = False,
    notLocked: bool = False,
    withRetriesLeft: bool = False,
    noRetriesLeft: bool = False,
) -> dict[str, Any]:
    return {
        "topic": topicName,
        "worker_id": workerId,
        "instance_id": processInstanceId,
        "locked": True if locked else (False if notLocked else None),
        "with_retries_left": True if withRetriesLeft else (False if noRetriesLeft else None),
    }


def _listing(services: Services, caller: Caller, offset: int, limit: int, filters: dict[str, Any]) -> Any:
    items, total = external_tasks.listing(services, caller, offset, limit, **filters)
    return [dto.external_task(t, services.definition(t.definition_id).key) for t in items], total


@router.get("/external-task")
async def listing(
    services: ServicesDep, caller: CallerDep, page: PageDep, filters: Annotated[dict[str, Any], Depends(_filters)]
) -> list[dict[str, Any]]:
    items, _ = await run_in_threadpool(_listing, services, caller, page.offset, page.limit, filters)
    return items  # type: ignore[no-any-return]


@router.get("/external-task/count")
async def count(
    services: ServicesDep, caller: CallerDep, filters: Annotated[dict[str, Any], Depends(_filters)]
) -> dict[str, int]:
    _, total = await run_in_threadpool(_listing, services, caller, 0, 0, filters)
    return {"count": total}


@router.get("/external-task/{task_id}")
async def get(task_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:

    def read() -> dict[str, Any]:
        found = external_tasks.get(services, caller, task_id)
        key = services.definition(found.task.definition_id).key
        return dto.external_task(found.task, key, found.instance.business_key)

    return await run_in_threadpool(read)


@router.get("/external-task/{task_id}/errorDetails", response_class=PlainTextResponse)
async def error_details(task_id: str, services: ServicesDep, caller: CallerDep) -> str:
    found = await run_in_threadpool(external_tasks.get, services, caller, task_id)
    return found.task.error_details or ""
