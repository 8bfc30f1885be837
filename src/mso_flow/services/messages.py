"""Messages from other systems: correlate to the one instance that waits for them, or start a process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mso_flow.engine.runtime import EngineError
from mso_flow.services import incidents
from mso_flow.services.context import Caller, Services
from mso_flow.services.errors import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.forms import require_valid_names
from mso_flow.services.instances import persist_started
from mso_flow.services.progress import apply_step, engine_failure
from mso_flow.services.tasks import concurrent_changes_conflict
from mso_flow.store import definitions as definitions_store
from mso_flow.store import instances as instances_store
from mso_flow.store import waits as waits_store
from mso_flow.store.audit import NewEvent

SENDER_ROLES = ("integrator", "admin")


@dataclass(frozen=True)
class Correlation:
    instance_id: str
    started: bool


def _nobody_waits(name: str) -> NotFound:
    return NotFound(
        "no_message_receiver",
        f"ไม่มีกระบวนการใดรอข้อความ {name} (no instance waits for this message and no process starts with it)",
    )


@incidents.recorded
def send(
    services: Services,
    caller: Caller,
    name: str,
    business_key: str | None,
    instance_id: str | None,
    variables: dict[str, Any],
) -> Correlation:
    """Deliver message `name` to the instance waiting for it (by id or business key); with none waiting, start
    the process whose start event catches it; with no receiver at all, 404."""
    if not caller.has_any(SENDER_ROLES):
        raise Forbidden("send_forbidden", "ส่งข้อความได้เฉพาะระบบเชื่อมต่อหรือผู้ดูแลระบบ (integrator or admin)")
    require_valid_names(variables)
    if instance_id is None:
        if business_key is None:
            raise Invalid("correlation_required", "โปรดระบุ business_key หรือ process_instance_id (one is required)")
        with services.db.read() as session:
            waiting = waits_store.waiting_instances(session, name, business_key)
        if len(waiting) > 1:
            raise Conflict(
                "ambiguous_correlation",
                f"มีหลายกระบวนการรอข้อความ {name} ด้วยเลขอ้างอิงนี้ (several instances wait; send process_instance_id)",
                instance_ids=waiting,
            )
        if not waiting:
            return _start(services, caller, name, business_key, variables)
        instance_id = waiting[0]
    with concurrent_changes_conflict():
        _deliver(services, caller, name, instance_id, variables)
    return Correlation(instance_id, started=False)


def _deliver(services: Services, caller: Caller, name: str, instance_id: str, variables: dict[str, Any]) -> None:
    with services.db.write() as session:
        instance = instances_store.lock(session, instance_id)
        if instance is None or instance.state != "running" or not waits_store.is_waiting(session, instance_id, name):
            raise _nobody_waits(name)
        definition = services.definition(instance.definition_id)
        try:
            step = services.runtime.send_message(
                services.process(definition.id), instance.engine_state, name, variables
            )
        except EngineError as err:
            raise engine_failure(err, instance, definition, caller.username) from None
        except LookupError:
            raise _nobody_waits(name) from None
        now = services.clock()
        event = NewEvent("message_correlated", caller.username, data={"message": name, "variables": variables})
        apply_step(services, session, instance, definition, step, caller.username, now, [event])


def _start(
    services: Services, caller: Caller, name: str, business_key: str | None, variables: dict[str, Any]
) -> Correlation:
    with services.db.read() as session:
        starters = [(d, k) for d, k, names in definitions_store.latest_start_messages(session) if name in names]
    if not starters:
        raise _nobody_waits(name)
    if len(starters) > 1:
        raise Conflict(
            "ambiguous_message_start",
            f"ข้อความ {name} เริ่มได้หลายกระบวนการ (several processes start with this message)",
            keys=sorted(k for _, k in starters),
        )
    definition = services.definition(starters[0][0])
    try:
        step = services.runtime.start_by_message(services.process(definition.id), name, variables)
    except EngineError as err:
        raise engine_failure(err, None, definition, caller.username) from None
    started = {"business_key": business_key, "definition_id": definition.id, "message": name, "variables": variables}
    view = persist_started(services, definition, business_key, step, caller.username, started)
    return Correlation(view.instance.id, started=True)
