"""The reads of the operators' Cockpit that no other store module makes: what incidents are filed under, the
running instances per process, what running instances wait for besides people, and the webhook outbox across
every subscription. Each is one or two indexed queries; none locks anything."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from mso_flow.domain import ExternalTaskState, InstanceState, TaskState, TimerState
from mso_flow.store.incidents import OPEN, Incident
from mso_flow.store.models import ExternalTask, HumanTask, MessageWait, ProcessInstance, Timer, Webhook, WebhookDelivery


@dataclass(frozen=True)
class Wait:
    """Something an instance waits for that is not a person's task: `kind` external | timer | message."""

    kind: str
    element_id: str | None
    detail: str
    since: datetime | None = None


def incident_facets(session: Session) -> tuple[list[str], list[str]]:
    """The process keys and the units incidents were filed under, sorted (the Cockpit's filter choices)."""
    keys = session.scalars(select(Incident.definition_key).distinct().order_by(Incident.definition_key))
    units = session.scalars(select(Incident.unit).where(Incident.unit.is_not(None)).distinct().order_by(Incident.unit))
    return list(keys), [u for u in units if u]


def open_incidents(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Incident).where(Incident.state == OPEN)) or 0


def running_per_process(session: Session) -> dict[str, int]:
    """How many instances of each process key are running."""
    stmt = (
        select(ProcessInstance.definition_key, func.count())
        .where(ProcessInstance.state == InstanceState.RUNNING)
        .group_by(ProcessInstance.definition_key)
    )
    return {key: int(count) for key, count in session.execute(stmt)}


def open_tasks_of(session: Session, instance_ids: list[str]) -> dict[str, list[HumanTask]]:
    """The open human tasks of each of these instances, oldest first."""
    found: dict[str, list[HumanTask]] = defaultdict(list)
    if instance_ids:
        stmt = (
            select(HumanTask)
            .where(HumanTask.instance_id.in_(instance_ids), HumanTask.state == TaskState.OPEN)
            .order_by(HumanTask.created_at, HumanTask.id)
        )
        for task in session.scalars(stmt):
            found[task.instance_id].append(task)
    return found


def waits_of(session: Session, instance_ids: list[str]) -> dict[str, list[Wait]]:
    """What each of these instances waits for besides people: open external tasks, waiting timers, messages."""
    found: dict[str, list[Wait]] = defaultdict(list)
    if not instance_ids:
        return found
    external = select(ExternalTask).where(
        ExternalTask.instance_id.in_(instance_ids), ExternalTask.state == ExternalTaskState.OPEN
    )
    for task in session.scalars(external):
        found[task.instance_id].append(Wait("external", task.element_id, task.topic, task.created_at))
    timers = select(Timer).where(Timer.instance_id.in_(instance_ids), Timer.state == TimerState.WAITING)
    for timer in session.scalars(timers):
        if timer.instance_id:
            found[timer.instance_id].append(Wait("timer", timer.element_id, "", timer.due_at))
    for wait in session.scalars(select(MessageWait).where(MessageWait.instance_id.in_(instance_ids))):
        found[wait.instance_id].append(Wait("message", wait.element_id, wait.name))
    return found


def deliveries(
    session: Session, state: str | None, offset: int, limit: int
) -> tuple[list[tuple[WebhookDelivery, Webhook]], int]:
    """Webhook deliveries of every subscription, newest first, with their webhook (`state`: one state only)."""
    stmt = select(WebhookDelivery, Webhook).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
    count = select(func.count()).select_from(WebhookDelivery)
    if state:
        stmt = stmt.where(WebhookDelivery.state == state)
        count = count.where(WebhookDelivery.state == state)
    stmt = stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
    rows = [(d, w) for d, w in session.execute(stmt.offset(offset).limit(limit))]
    return rows, session.scalar(count) or 0


def delivery_counts(session: Session) -> dict[str, int]:
    stmt = select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)
    return {state: int(count) for state, count in session.execute(stmt)}


def external_task_counts(session: Session, now: datetime) -> dict[str, int]:
    """Open external tasks: out of retries, else locked now, else free to fetch (each counted once)."""
    no_retries = ExternalTask.retries == 0
    locked = and_(ExternalTask.worker_id.is_not(None), ExternalTask.lock_expires_at > now)  # `case` tests in order
    kind = case((no_retries, "no_retries"), (locked, "locked"), else_="free")
    stmt = select(kind, func.count()).where(ExternalTask.state == ExternalTaskState.OPEN).group_by(kind)
    return {"locked": 0, "free": 0, "no_retries": 0} | {k: int(n) for k, n in session.execute(stmt)}
