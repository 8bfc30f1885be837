"""Start, read, list and cancel process instances; read their audit trail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mso_flow.engine.model import ProcessDef
from mso_flow.engine.runtime import EngineError, Step
from mso_flow.services import definitions, guards, incidents
from mso_flow.services.context import Caller, Definition, Services
from mso_flow.services.errors import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.forms import require_valid_names
from mso_flow.services.progress import apply_step, candidate_roles, engine_failure
from mso_flow.store import audit as audit_store
from mso_flow.store import instances as store
from mso_flow.store import tasks as tasks_store
from mso_flow.store.audit import ChainCheck, NewEvent
from mso_flow.store.models import AuditEvent, HumanTask, ProcessInstance

START_ROLES = ("integrator", "admin")
OVERSIGHT_ROLES = ("admin", "integrator", "designer")
STATES = ("running", "completed", "cancelled", "suspended", "failed")


@dataclass
class InstanceView:
    """An instance with its open tasks."""

    instance: ProcessInstance
    active_tasks: list[HumanTask]


def process_roles(model: ProcessDef) -> set[str]:
    """Every staff role that works some task of the process."""
    roles: set[str] = set()
    for task in model.user_tasks:
        roles.update(candidate_roles(model, task, task.lane))
    return roles


def _may_view(caller: Caller, model: ProcessDef) -> bool:
    return caller.has_any(OVERSIGHT_ROLES) or bool(caller.roles & process_roles(model))


def _first_lane_roles(model: ProcessDef) -> set[str]:
    if not model.lanes:
        return set()
    lane = model.lanes[0]
    return set(model.lane_roles.get(lane) or (lane,))


@incidents.recorded
def start(
    services: Services, caller: Caller, key: str, business_key: str | None, variables: dict[str, Any]
) -> InstanceView:
    """Start the latest version of `key` and run it to its first wait state."""
    row, model = definitions.latest(services, key)
    definition = services.remember(row)
    if not (caller.has_any(START_ROLES) or caller.roles & _first_lane_roles(model)):
        raise Forbidden(
            "start_forbidden",
            "ไม่มีสิทธิ์เริ่มกระบวนการนี้ (role integrator or admin, or a role of the process's first lane, required)",
        )
    require_valid_names(variables)
    guards.require_manual_start(services.process(definition.id))  # robustness hook
    try:
        step = services.runtime.start(services.process(definition.id), variables)
    except EngineError as err:
        raise engine_failure(err, None, definition, caller.username) from None
    started = {"business_key": business_key, "definition_id": definition.id, "variables": variables}
    return persist_started(services, definition, business_key, step, caller.username, started)


def persist_started(
    services: Services,
    definition: Definition,
    business_key: str | None,
    step: Step,
    actor: str,
    started: dict[str, Any],
) -> InstanceView:
    """Store a new instance from the engine's first step; a running instance with the same business key
    makes it a 409 naming that instance (race-free: a unique index backs the check)."""
    try:
        with services.db.write() as session:
            if business_key:
                _refuse_duplicate(store.active_by_business_key(session, definition.key, business_key), business_key)
            return insert_started(services, session, definition, business_key, step, actor, started)
    except IntegrityError:
        if business_key:
            with services.db.read() as session:
                _refuse_duplicate(store.active_by_business_key(session, definition.key, business_key), business_key)
        raise Conflict(
            "concurrent_start", "มีการเริ่มกระบวนการพร้อมกันจากที่อื่น โปรดลองใหม่ (a concurrent start won; retry)"
        ) from None


def insert_started(
    services: Services,
    session: Session,
    definition: Definition,
    business_key: str | None,
    step: Step,
    actor: str,
    started: dict[str, Any],
) -> InstanceView:
    """Add a new instance, its first tasks and its audit trail in the caller's transaction."""
    now = services.clock()
    instance = ProcessInstance(
        id=str(uuid.uuid4()),
        definition_id=definition.id,
        definition_key=definition.key,
        definition_version=definition.version,
        business_key=business_key,
        state="running",
        engine_state=step.state,
        variables=step.variables,
        started_at=now,
        started_by=actor,
        audit_seq=0,
        audit_head="",
    )
    store.add(session, instance)
    event = NewEvent("instance_started", actor, data=started)
    return InstanceView(instance, apply_step(services, session, instance, definition, step, actor, now, [event]))


def _refuse_duplicate(existing: ProcessInstance | None, business_key: str) -> None:
    if existing is not None:
        raise Conflict(
            "duplicate_business_key",
            f"มีกระบวนการที่ใช้เลขอ้างอิง {business_key} กำลังดำเนินการอยู่ (an instance with this business key is running)",
            instance_id=existing.id,
        )


def _instance_not_found(instance_id: str) -> NotFound:
    return NotFound("instance_not_found", f"ไม่พบกระบวนการที่ดำเนินการ {instance_id} (instance not found)")


def _authorize_view(services: Services, caller: Caller, instance: ProcessInstance) -> None:
    if not _may_view(caller, services.definition(instance.definition_id).model):
        raise Forbidden("instance_forbidden", "ไม่มีสิทธิ์ดูกระบวนการนี้ (no role in this process)")


def load_instance(services: Services, caller: Caller, instance_id: str) -> ProcessInstance:
    """The instance, if the caller may see it (404 unknown, 403 no role in its process)."""
    with services.db.read() as session:
        instance = store.get(session, instance_id)
    if instance is None:
        raise _instance_not_found(instance_id)
    _authorize_view(services, caller, instance)
    return instance


def get(services: Services, caller: Caller, instance_id: str) -> InstanceView:
    with services.db.read() as session:
        instance = store.get(session, instance_id)
        if instance is None:
            raise _instance_not_found(instance_id)
        _authorize_view(services, caller, instance)
        return InstanceView(instance, tasks_store.open_for_instance(session, instance.id))


def listing(
    services: Services,
    caller: Caller,
    offset: int,
    limit: int,
    key: str | None = None,
    state: str | None = None,
    business_key: str | None = None,
) -> tuple[list[InstanceView], int]:
    if state and state not in STATES:
        raise Invalid("invalid_state", f"state ต้องเป็นหนึ่งใน {', '.join(STATES)}")
    if not caller.has_any(OVERSIGHT_ROLES):
        if key is None:
            raise Invalid("key_required", "โปรดระบุ key ของกระบวนการ (staff must filter by process key)")
        _, model = definitions.latest(services, key)
        if not _may_view(caller, model):
            raise Forbidden("instance_forbidden", "ไม่มีสิทธิ์ดูกระบวนการนี้ (no role in this process)")
    with services.db.read() as session:
        items, total = store.listing(session, offset, limit, key=key, state=state, business_key=business_key)
        return [InstanceView(i, tasks_store.open_for_instance(session, i.id)) for i in items], total


def cancel(services: Services, caller: Caller, instance_id: str, reason: str) -> InstanceView:
    """Cancel a running instance and its open tasks (admin, or the integrator that started it)."""
    instance = load_instance(services, caller, instance_id)
    if not (caller.is_admin or ("integrator" in caller.roles and instance.started_by == caller.username)):
        raise Forbidden(
            "cancel_forbidden",
            "ยกเลิกได้เฉพาะผู้ดูแลระบบหรือระบบที่เริ่มกระบวนการ (admin, or the integrator that started it)",
        )
    now = services.clock()
    with services.db.write() as session:
        instance = store.lock(session, instance_id)  # type: ignore[assignment]
        if instance.state not in ("running", "suspended"):
            raise Conflict("instance_not_running", f"กระบวนการนี้อยู่ในสถานะ {instance.state} แล้ว (not running)")
        definition = services.definition(instance.definition_id)
        step = services.runtime.cancel(services.process(definition.id), instance.engine_state)
        instance.state = "cancelled"
        instance.ended_at = now
        instance.ended_by = caller.username
        instance.end_reason = reason
        cancelled = NewEvent("instance_cancelled", caller.username, data={"reason": reason})
        apply_step(services, session, instance, definition, step, caller.username, now, [], after=[cancelled])
        return InstanceView(instance, [])


def verify_audit(services: Services, caller: Caller, instance_id: str) -> ChainCheck:
    """Re-hash the instance's audit chain: an event edited, removed or inserted in the database is named."""
    with services.db.read() as session:
        instance = store.get(session, instance_id)
        if instance is None:
            raise _instance_not_found(instance_id)
        _authorize_view(services, caller, instance)
        events = audit_store.all_events(session, instance_id)
        return audit_store.verify_chain(events, instance.audit_seq, instance.audit_head)


def all_audit_events(services: Services, caller: Caller, instance_id: str) -> list[AuditEvent]:
    """The whole audit trail of an instance, for export."""
    load_instance(services, caller, instance_id)
    with services.db.read() as session:
        return audit_store.all_events(session, instance_id)


def audit(
    services: Services, caller: Caller, instance_id: str, offset: int, limit: int
) -> tuple[list[AuditEvent], int]:
    load_instance(services, caller, instance_id)
    with services.db.read() as session:
        return audit_store.listing(session, instance_id, offset, limit)
