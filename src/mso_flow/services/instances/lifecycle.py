"""Start, cancel and set the variables of process instances; verify their audit trail (what the faces read of
instances: `instances/queries.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mso_flow.domain import ACTIVE_INSTANCE_STATES, InstanceState
from mso_flow.services import policy
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances.queries import (
    Started,
    instance_record,
    load_instance,
    not_found,
    visible_instance,
)
from mso_flow.services.platform import anchoring
from mso_flow.services.platform.context import Caller, Definition, Services
from mso_flow.services.platform.executor import InstanceChange, execute, execute_start
from mso_flow.services.platform.failures import Conflict, Forbidden
from mso_flow.services.platform.unit_of_work import (
    InstanceCommand,
    NotLatest,
    lock_instance,
    start_instance,
)
from mso_flow.services.privacy import need_to_know
from mso_flow.services.privacy.sealing import is_sealed
from mso_flow.services.tasks.form_check import require_valid_names
from mso_flow.services.tasks.records import records
from mso_flow.store import audit as audit_store
from mso_flow.store.audit import ChainCheck, NewEvent
from mso_flow.store.models import ProcessInstance


def start(services: Services, caller: Caller, key: str, business_key: str | None, variables: dict[str, Any]) -> Started:
    """Start the latest version of `key` and run it to its first wait state (through the executor's
    `execute_start`: a process error opens an incident).

    The latest version is taken from the definitions cache and confirmed inside the write transaction (one
    transaction a start); when another process deployed a newer one meanwhile, the start runs again on it.
    Answers `Started` (nothing disclosed: a face that shows the variables asks `instance_queries.started`)."""
    return execute_start(
        services, "instance.start", lambda: _start_latest(services, caller, key, business_key, variables)
    )


def _start_latest(
    services: Services, caller: Caller, key: str, business_key: str | None, variables: dict[str, Any]
) -> Started:
    require_valid_names(variables)
    for attempt in range(3):
        definition = services.definitions.latest_guess(key) if attempt == 0 else None
        if definition is None:
            row, model = definitions.latest(services, key)
            definition = Definition(row.id, row.key, row.version, model)
            services.definitions.seen_latest(key, row.id)
        if not policy.may_start(caller, definition.model):
            raise Forbidden(
                "start_forbidden",
                "ไม่มีสิทธิ์เริ่มกระบวนการนี้ (role integrator or admin, a role of the process's first lane, or a "
                "candidate starter, required)",
            )
        started = {"business_key": business_key, "definition_id": definition.id, "variables": variables}
        try:
            outcome = start_instance(
                services,
                definition.id,
                business_key,
                caller.username,
                lambda runtime, process: runtime.start(process, variables),
                started,
                manual=True,
                latest_of=key,
            )
        except NotLatest:
            services.definitions.seen_latest(key, None)
            continue
        instance = outcome.instance
        sealed = any(is_sealed(v) for v in instance.variables.values())
        return Started(
            instance_record(instance),
            tuple(records(list(outcome.open_tasks))),
            None if sealed else dict(instance.variables),
        )
    raise Conflict("concurrent_change", "มีการนำกระบวนการรุ่นใหม่เข้าระบบพร้อมกัน โปรดลองใหม่ (redeployed meanwhile; retry)")


@dataclass(frozen=True, slots=True)
class InstanceChanged:
    """What a command on an instance did: its id and its state after it (a face that shows the instance reads it:
    `instances/queries.get`)."""

    instance_id: str
    state: str


def cancel(services: Services, caller: Caller, instance_id: str, reason: str) -> InstanceChanged:
    """Cancel a running instance and its open tasks (admin, or the integrator that started it)."""
    instance = load_instance(services, caller, instance_id)
    if not policy.may_cancel(caller, instance):
        raise Forbidden(
            "cancel_forbidden",
            "ยกเลิกได้เฉพาะผู้ดูแลระบบหรือระบบที่เริ่มกระบวนการ (admin, or the integrator that started it)",
        )

    def run(command: InstanceCommand, _: None) -> InstanceChanged:
        instance = cancel_locked(command, reason)
        return InstanceChanged(instance.id, instance.state)

    return execute(services, _instance_change("instance.cancel", caller, instance_id, run))


def _instance_change(
    name: str, caller: Caller, instance_id: str, run: Callable[[InstanceCommand, None], InstanceChanged]
) -> InstanceChange[None, InstanceChanged, InstanceChanged]:
    """A command on one instance, locked by id."""
    return InstanceChange(name, caller, lock_instance(instance_id), lambda: not_found(instance_id), run)


def cancel_locked(command: InstanceCommand, reason: str) -> ProcessInstance:
    """Cancel the command's instance (running or suspended) and its open tasks, in the command's transaction."""
    cancelled = NewEvent("instance_cancelled", command.actor, data={"reason": reason})
    instance = command.advance(
        lambda runtime, process, state: runtime.cancel(process, state),
        after=[cancelled],
        allowed=ACTIVE_INSTANCE_STATES,
    ).instance
    instance.state = InstanceState.CANCELLED
    instance.ended_at = command.now
    instance.ended_by = command.actor
    instance.end_reason = reason
    return instance


def verify_audit(services: Services, caller: Caller, instance_id: str) -> ChainCheck:
    """Re-hash the instance's audit chain: an event edited, removed or inserted in the database is named; and
    check the head's signature, which nobody without the service's key can recompute."""
    with services.db.read() as session:
        instance = visible_instance(services, session, caller, instance_id)
        events = audit_store.all_events(session, instance_id)
        check = audit_store.verify_chain(events, instance.audit_seq, instance.audit_head)
        problem = anchoring.signer(services.settings).problem(
            instance.id, instance.audit_seq, instance.audit_head, instance.audit_signature
        )
        return anchoring.with_signature(check, problem)


def set_variables(services: Services, caller: Caller, instance_id: str, variables: dict[str, Any]) -> InstanceChanged:
    """Set variables of a running instance: what its next steps read. An admin or the integrator that started it
    (personal values only by whoever reads them: `need_to_know.require_writable`)."""
    load_instance(services, caller, instance_id)
    require_valid_names(variables)

    def run(command: InstanceCommand, _: None) -> InstanceChanged:
        need_to_know.require_writable(services, command.session, caller, command.instance, variables)
        event = NewEvent("variables_set", caller.username, data={"variables": variables})
        outcome = command.advance(
            lambda runtime, process, state: runtime.set_variables(process, state, variables), [event]
        )
        return InstanceChanged(outcome.instance.id, outcome.instance.state)

    return execute(services, _instance_change("instance.set_variables", caller, instance_id, run))
