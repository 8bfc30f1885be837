"""Write what the engine did: new and vanished user tasks, the instance's state, and the audit events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mso_flow.engine.model import ProcessDef, UserTaskDef
from mso_flow.engine.runtime import Step
from mso_flow.services import events as events_service
from mso_flow.services.context import Definition, Services
from mso_flow.services.defects import engine_failure
from mso_flow.store import external_tasks as external_store
from mso_flow.store import tasks as tasks_store
from mso_flow.store import waits as waits_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import HumanTask, ProcessInstance

__all__ = ["apply_step", "candidate_roles", "engine_failure"]  # engine_failure: the commands' process error


def candidate_roles(model: ProcessDef, task: UserTaskDef | None, lane: str | None) -> list[str]:
    """The roles that may work a task: its lane's roles (the lane name unless mapped) and candidate groups."""
    roles: list[str] = []
    if lane:
        roles += list(model.lane_roles.get(lane) or (lane,))
    if task is not None:
        roles += list(task.candidate_groups)
    return list(dict.fromkeys(roles))


def apply_step(
    services: Services,
    session: Session,
    instance: ProcessInstance,
    definition: Definition,
    step: Step,
    actor: str,
    now: datetime,
    events: list[NewEvent],
    after: list[NewEvent] | None = None,
    closed_task: str | None = None,
) -> list[HumanTask]:
    """Persist an engine step on a locked instance; return its open tasks afterwards.

    Task rows follow the engine: user tasks that were ready before the step and are no longer (other than
    `closed_task`, which the caller closed) are cancelled, newly ready ones are created. `events` come before
    the tasks' events in the audit trail, `after` (e.g. the cancellation) after them.
    """
    model = definition.model
    ready = {r.id for r in step.ready_tasks}
    before = {r.id for r in step.was_ready}
    vanished = [r for r in step.was_ready if r.id not in ready and r.id != closed_task]
    tasks_store.cancel(session, [r.id for r in vanished], now, actor)
    events += [NewEvent("task_cancelled", actor, r.id, r.element_id) for r in vanished]
    still_open = tasks_store.by_ids(session, [r.id for r in step.ready_tasks if r.id in before])
    created: list[HumanTask] = []
    for item in step.ready_tasks:
        if item.id in before:
            continue
        task_def = model.user_task(item.element_id)
        due_at = services.calendar.due_at(now, task_def.standard_duration if task_def else None)
        task = HumanTask(
            id=item.id,
            instance_id=instance.id,
            definition_id=definition.id,
            definition_key=definition.key,
            element_id=item.element_id,
            name=item.name,
            lane=item.lane,
            candidate_roles=candidate_roles(model, task_def, item.lane),
            state="open",
            version=1,
            created_at=now,
            due_at=due_at,
        )
        created.append(task)
        events.append(
            NewEvent(
                "task_created",
                actor,
                item.id,
                item.element_id,
                {"name": item.name, "lane": item.lane, "due_at": due_at.isoformat() if due_at else None},
            )
        )
    tasks_store.add_many(session, created)
    _sync_waits(services, session, instance, step, now, events)
    instance.engine_state = step.state
    instance.variables = step.variables
    if step.completed and instance.state == "running":
        instance.state = "completed"
        instance.ended_at = now
        instance.ended_by = actor
        events.append(NewEvent("instance_completed", actor))
    events_service.record(services, session, instance, events + (after or []), now)
    return still_open + created


def _sync_waits(
    services: Services, session: Session, instance: ProcessInstance, step: Step, now: datetime, events: list[NewEvent]
) -> None:
    """Store what the instance now waits for: timers for the scheduler, messages, external tasks for workers
    (only the kinds its process has, so a process of user tasks alone costs no query here)."""
    kinds = services.process(instance.definition_id).waits_for
    if "timer" in kinds:
        timers = [(t.task_id, t.element_id, t.due_at) for t in step.timers if t.due_at]
        waits_store.sync_timers(session, instance, timers, now)
    if "message" in kinds:
        waits_store.sync_messages(session, instance, step.waiting_messages)
    if "external" in kinds:
        ready = {t.task_id: t for t in step.external_tasks}
        rows = [(t.task_id, t.element_id, t.topic) for t in step.external_tasks]
        for task_id in external_store.sync(session, instance, rows, now):
            new = ready[task_id]
            events.append(NewEvent("external_task_created", "engine", task_id, new.element_id, {"topic": new.topic}))
