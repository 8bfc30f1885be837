"""Messages from other systems: correlate to the one instance that waits for them, or start a process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mso_flow.domain import InstanceState
from mso_flow.services import policy
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.executor import InstanceChange, execute, execute_start
from mso_flow.services.platform.failures import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.platform.unit_of_work import InstanceCommand, lock_instance, start_instance
from mso_flow.services.privacy import need_to_know
from mso_flow.services.tasks.form_check import require_valid_names
from mso_flow.store import definitions as definitions_store
from mso_flow.store import waits as waits_store
from mso_flow.store.audit import NewEvent


@dataclass(frozen=True)
class Correlation:
    instance_id: str
    started: bool


def _nobody_waits(name: str) -> NotFound:
    return NotFound(
        "no_message_receiver",
        f"ไม่มีกระบวนการใดรอข้อความ {name} (no instance waits for this message and no process starts with it)",
    )


def send(
    services: Services,
    caller: Caller,
    name: str,
    business_key: str | None,
    instance_id: str | None,
    variables: dict[str, Any],
) -> Correlation:
    """Deliver message `name` to the instance waiting for it (by id or business key); with none waiting, start
    the process whose start event catches it; with no receiver at all, 404. A message to a running instance
    writes into it: only its starter or an admin sends one (403 `instance_write_forbidden`)."""
    if not policy.may_send_messages(caller):
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
            return execute_start(
                services, "message.start", lambda: _start(services, caller, name, business_key, variables)
            )
        instance_id = waiting[0]
    _deliver(services, caller, name, instance_id, variables)
    return Correlation(instance_id, started=False)


def _deliver(services: Services, caller: Caller, name: str, instance_id: str, variables: dict[str, Any]) -> None:
    """Correlate the message to the instance (the executor: a process error on the way on opens an incident)."""

    def run(command: InstanceCommand, _: None) -> None:
        need_to_know.require_writable(services, command.session, caller, command.instance)
        if command.instance.state != InstanceState.RUNNING or not waits_store.is_waiting(
            command.session, instance_id, name
        ):
            raise _nobody_waits(name)
        event = NewEvent("message_correlated", caller.username, data={"message": name, "variables": variables})
        try:
            command.advance(
                lambda runtime, process, state: runtime.send_message(process, state, name, variables), [event]
            )
        except LookupError:
            raise _nobody_waits(name) from None

    execute(
        services,
        InstanceChange("message.correlate", caller, lock_instance(instance_id), lambda: _nobody_waits(name), run),
    )


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
    definition_id = starters[0][0]
    started = {"business_key": business_key, "definition_id": definition_id, "message": name, "variables": variables}
    outcome = start_instance(
        services,
        definition_id,
        business_key,
        caller.username,
        lambda runtime, process: runtime.start_by_message(process, name, variables),
        started,
    )
    return Correlation(outcome.instance.id, started=True)
