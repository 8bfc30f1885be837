"""Start processes at their timer start events: one instance per firing, no engine code under a row lock.

1. Lease (one short transaction): due start-timer rows become `leased` (the lease time in `fired_at`).
2. Run the engine for each lease with no transaction open.
3. Write (one transaction per lease): close the lease only if it is still ours (a version check on the lease
   time), store the instance, and schedule the next firing — the first one *after now* (missed repetitions are
   skipped: catch-up fires once), and only while the definition is still the latest version of its process
   (a new version's deployment replaces the schedule). A failing start closes the lease as `failed` with an
   incident and ends that schedule (a fixed version schedules anew).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from mso_flow.domain import TimerState
from mso_flow.engine import schedule
from mso_flow.engine.runtime import EngineError, Step
from mso_flow.services.instances import incidents
from mso_flow.services.platform.context import Definition, Services
from mso_flow.services.platform.unit_of_work import insert_started
from mso_flow.store import definitions as definitions_store
from mso_flow.store import start_timers as store
from mso_flow.store import waits as waits_store

ACTOR = "timer"
LEASE_SECONDS = 300.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Lease:
    timer_id: str
    definition_id: str
    element_id: str
    due_at: datetime
    leased_at: datetime


def start_due(services: Services, limit: int = 20) -> int:
    """Start one instance per due timer start event; return how many started."""
    with services.db.write() as session:
        now = services.clock()
        leases = [
            _Lease(t.id, t.definition_id, t.element_id, t.due_at, now)
            for t in store.lease_due(session, now, limit, LEASE_SECONDS)
        ]
    started = 0
    for lease in leases:
        with services.db.read() as session:
            definition = services.definitions.definition(session, lease.definition_id)
            process = services.definitions.process(session, lease.definition_id)
        try:
            step: Step | EngineError = services.runtime.start_by_timer(process, lease.element_id)
        except EngineError as err:
            log.warning("timer start of %s failed at %s: %s", definition.id, err.element_id, err)
            step = err
        started += _write(services, lease, definition, step)
    return started


def _write(services: Services, lease: _Lease, definition: Definition, step: Step | EngineError) -> int:
    with services.db.write() as session:
        now = services.clock()
        state = TimerState.FAILED if isinstance(step, EngineError) else TimerState.FIRED
        if not store.finish(session, lease.timer_id, lease.leased_at, state, now):
            return 0  # the lease expired and another scheduler took it, or a new version cancelled it
        if isinstance(step, EngineError):
            incidents.open_incident(services, session, definition, step, ACTOR, None, kind="timer")
            return 0
        data = {"definition_id": definition.id, "timer": lease.element_id, "due_at": lease.due_at.isoformat()}
        insert_started(services, session, definition, None, step, ACTOR, data)
        latest = definitions_store.latest(session, definition.key)
        if latest is None or latest.id != definition.id:
            return 1
        kind, text = next((k, t) for e, k, t in definition.model.start_timers if e == lease.element_id)
        first = store.first_due(session, definition.id, lease.element_id) or lease.due_at
        following = schedule.following(kind, text, first, lease.due_at, now)
        if following is not None:
            waits_store.add_start_timer(session, definition.id, lease.element_id, following, now)
        return 1
