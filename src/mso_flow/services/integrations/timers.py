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
from mso_flow.services.instances import incidents
from mso_flow.services.integrations import timer_starts
from mso_flow.services.platform.context import Services
from mso_flow.services.platform.defects import ProcessDefect
from mso_flow.services.platform.failures import Conflict
from mso_flow.services.platform.unit_of_work import instance_command
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
        except ProcessDefect as defect:
            err = defect.error
            log.warning("timer of instance %s failed at %s: %s", instance_id, err.element_id, err)
            waits_store.mark(command.session, [t.id for t in timers], TimerState.FAILED, command.now)
            incidents.open_incident(services, command.session, command.definition, err, ACTOR, command.instance)
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


start_due = timer_starts.start_due  # leased, run with no lock held, catch-up fires once
