"""Fire due timers: each exactly once, however many service processes share the database.

Finding due instances takes no lock; firing locks the instance row first and then re-reads its due timers, so
two schedulers that find the same instance fire its timers once (the second finds none waiting), and the lock
order (instance, then timers) is the same as every task transition's.
"""

from __future__ import annotations

import logging

from mso_flow.engine.runtime import EngineError
from mso_flow.services import incidents, timer_starts
from mso_flow.services.context import Services
from mso_flow.services.errors import Conflict
from mso_flow.services.progress import apply_step
from mso_flow.services.tasks import concurrent_changes_conflict
from mso_flow.store import instances as instances_store
from mso_flow.store import waits as waits_store
from mso_flow.store.audit import NewEvent

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
            with concurrent_changes_conflict():
                fired += _fire_instance(services, instance_id)
        except Conflict:
            log.info("timer of instance %s skipped: changed concurrently, retried next round", instance_id)
    return fired


def _fire_instance(services: Services, instance_id: str) -> int:
    with services.db.write() as session:
        instance = instances_store.lock(session, instance_id)
        now = services.clock()
        timers = waits_store.lock_due(session, instance_id, now)
        if instance is None or not timers:
            return 0
        if instance.state != "running":
            waits_store.mark(session, [t.id for t in timers], "cancelled", now)
            return 0
        definition = services.definition(instance.definition_id)
        try:
            step = services.runtime.fire_timers(services.process(definition.id), instance.engine_state)
        except EngineError as err:
            log.warning("timer of instance %s failed at %s: %s", instance_id, err.element_id, err)
            waits_store.mark(session, [t.id for t in timers], "failed", now)
            incidents.open_incident(services, session, definition, err, ACTOR, instance)  # robustness hook
            return 0
        still_waiting = {t.task_id for t in step.timers}
        fired = [t for t in timers if t.id not in still_waiting]
        if not fired:  # the engine's clock has not reached them yet
            return 0
        waits_store.mark(session, [t.id for t in fired], "fired", now)
        events = [
            NewEvent("timer_fired", ACTOR, None, t.element_id, {"due_at": t.due_at.isoformat(), "timer_id": t.id})
            for t in fired
        ]
        apply_step(services, session, instance, definition, step, ACTOR, now, events)
        return len(fired)


start_due = timer_starts.start_due  # robustness hook: leased, run with no lock held, catch-up once
