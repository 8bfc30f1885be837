"""Fire due timers: each exactly once, however many service processes share the database.

Finding due instances takes no lock; firing locks the instance row first and then re-reads its due timers, so
two schedulers that find the same instance fire its timers once (the second finds none waiting), and the lock
order (instance, then timers) is the same as every task transition's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from mso_flow.domain import InstanceState, TimerState
from mso_flow.engine import schedule
from mso_flow.services.context import Services
from mso_flow.services.errors import Conflict
from mso_flow.services.unit_of_work import ProcessFailed, instance_command, start_in
from mso_flow.store import instances as instances_store
from mso_flow.store import waits as waits_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import ProcessInstance, Timer

ACTOR = "timer"
log = logging.getLogger(__name__)


def fire_due(services: Services, limit: int = 50) -> int:
    """Fire the timers due now (timers missed while the service was down are due too): start the processes
    whose timer start event is due, then advance the instances whose timers are; return how many fired."""
    fired = start_due(services, limit)
    with services.db.read() as session:
        instance_ids = waits_store.due_instances(session, services.clock(), limit)
    for instance_id in instance_ids:
        try:
            fired += _fire_instance(services, instance_id)
        except Conflict:
            log.info("timer of instance %s skipped: changed concurrently, retried next round", instance_id)
    return fired


def _lock_with_due_timers(
    instance_id: str, now: datetime
) -> Callable[[Session], tuple[ProcessInstance, list[Timer]] | None]:
    def lock(session: Session) -> tuple[ProcessInstance, list[Timer]] | None:
        instance = instances_store.lock(session, instance_id)
        return (instance, waits_store.lock_due(session, instance_id, now)) if instance is not None else None

    return lock


def _gone(instance_id: str) -> Conflict:
    return Conflict("instance_gone", f"instance {instance_id} no longer exists")


def _fire_instance(services: Services, instance_id: str) -> int:
    lock = _lock_with_due_timers(instance_id, services.clock())
    with instance_command(services, ACTOR, lock, lambda: _gone(instance_id)) as (command, timers):
        if not timers:  # another scheduler fired them
            return 0
        if command.instance.state != InstanceState.RUNNING:
            waits_store.mark(command.session, [t.id for t in timers], TimerState.CANCELLED, command.now)
            return 0
        try:
            step = command.run(lambda runtime, process, state: runtime.fire_timers(process, state))
        except ProcessFailed as failed:
            log.warning("timer of instance %s failed at %s: %s", instance_id, failed.cause.element_id, failed.cause)
            waits_store.mark(command.session, [t.id for t in timers], TimerState.FAILED, command.now)
            return 0
        still_waiting = {t.task_id for t in step.timers}
        fired = [t for t in timers if t.id not in still_waiting]
        if not fired:  # the engine's clock has not reached them yet
            return 0
        waits_store.mark(command.session, [t.id for t in fired], TimerState.FIRED, command.now)
        command.apply(
            step,
            [
                NewEvent("timer_fired", ACTOR, None, t.element_id, {"due_at": t.due_at.isoformat(), "timer_id": t.id})
                for t in fired
            ],
        )
        return len(fired)


def start_due(services: Services, limit: int = 20) -> int:
    """Start one instance per due timer start event, and schedule the next repetition of a cycle."""
    started = 0
    with services.db.write() as session:
        now = services.clock()
        for timer in waits_store.lease_due_start(session, now, limit):
            element_id = timer.element_id
            data = {"definition_id": timer.definition_id, "timer": element_id, "due_at": timer.due_at.isoformat()}
            try:
                outcome = start_in(
                    services,
                    session,
                    timer.definition_id,
                    ACTOR,
                    lambda runtime, process: runtime.start_by_timer(process, element_id),  # noqa: B023 (called here)
                    data,
                )
            except ProcessFailed as failed:
                cause = failed.cause
                log.warning("timer start of %s failed at %s: %s", timer.definition_id, cause.element_id, cause)
                waits_store.mark(session, [timer.id], TimerState.FAILED, now)
                continue
            waits_store.mark(session, [timer.id], TimerState.FIRED, now)
            started += 1
            model = outcome.definition.model
            kind, text = next((k, t) for e, k, t in model.start_timers if e == element_id)
            fired = waits_store.fired_count(session, timer.definition_id, element_id)
            following = schedule.next_due(kind, text, timer.due_at, fired)
            if following is not None:
                waits_store.add_start_timer(session, timer.definition_id, element_id, following, now)
    return started
