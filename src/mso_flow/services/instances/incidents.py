"""Incidents: every process error becomes a record an administrator sees, retries after a fix, or resolves.

A process error during a command (complete a task, start, correlate a message, complete an external task,
migrate) rolls the command back and reaches the person as a Thai 422 `process_error` saying the process has a
defect and the administrators were told, with `incident_id`. The command executor (`services/platform/executor.py`)
runs every command: when one fails with a `ProcessDefect`, `record_defect` commits the incident in a transaction
of its own (after the command's rolled back), with an `incident_created` audit event on the instance (webhook
`incident.created`). Background work (timers, external tasks out of retries) calls `open_incident` in its own
transaction.

Staff never see variable values here: an incident stores the names of the variables the failing expression
reads, not their values. The faces get incidents as frozen `IncidentRecord`s built in the services' transactions,
never the store's rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mso_flow.domain import InstanceState
from mso_flow.engine.runtime import EngineError
from mso_flow.services import policy
from mso_flow.services.notifications import outbox as notification_outbox
from mso_flow.services.platform import events as events_service
from mso_flow.services.platform.context import Caller, Definition, Services
from mso_flow.services.platform.defects import ProcessDefect, where
from mso_flow.services.platform.failures import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.platform.unit_of_work import InstanceCommand
from mso_flow.services.privacy import personal_data
from mso_flow.store import incidents as store
from mso_flow.store import instances as instances_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.incidents import Incident, IncidentFilter
from mso_flow.store.models import ProcessInstance

if TYPE_CHECKING:
    from mso_flow.services.instances.queries import InstanceView


KIND_TH = {
    "expression": "เงื่อนไขหรือนิพจน์ประเมินค่าไม่ได้",
    "script": "สคริปต์ทำงานผิดพลาด",
    "limit": "เกินขีดจำกัดเวลาหรือหน่วยความจำที่กำหนดให้นิพจน์และสคริปต์",
    "serialization": "ผลลัพธ์ของขั้นตอนเก็บบันทึกไม่ได้",
    "engine": "เครื่องมือกระบวนการทำงานผิดพลาดกับแบบกระบวนการนี้",
    "timer": "ตัวจับเวลาทำงานไม่สำเร็จ",
    "external_task": "งานภายนอกล้มเหลวจนหมดจำนวนครั้งที่ลองใหม่",
}


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident as the faces show it (the names of the variables its step reads, never their values)."""

    id: str
    instance_id: str | None
    definition_id: str
    definition_key: str
    unit: str | None
    element_id: str | None
    element_name: str | None
    kind: str
    message_th: str
    message_en: str
    variables: tuple[str, ...]
    state: str
    created_at: datetime
    created_by: str
    retries: int
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


def incident_record(row: Incident) -> IncidentRecord:
    return IncidentRecord(
        row.id,
        row.instance_id,
        row.definition_id,
        row.definition_key,
        row.unit,
        row.element_id,
        row.element_name,
        row.kind,
        row.message_th,
        row.message_en,
        tuple(row.variables),
        row.state,
        row.created_at,
        row.created_by,
        row.retries,
        row.resolved_at,
        row.resolved_by,
        row.resolution,
    )


def record_defect(services: Services, defect: ProcessDefect) -> None:
    """Commit the incident of a process error in a transaction of its own (the command's rolled back) and add its
    id to the 422; a defect without a definition (nothing deployed ran) opens none."""
    if defect.definition is None or "incident_id" in defect.extra:
        return
    with services.db.write() as session:
        instance = instances_store.lock(session, defect.instance_id) if defect.instance_id else None
        incident = open_incident(services, session, defect.definition, defect.error, defect.actor or "-", instance)
    defect.extra["incident_id"] = incident.id


def open_incident(
    services: Services,
    session: Session,
    definition: Definition,
    err: EngineError,
    actor: str,
    instance: ProcessInstance | None = None,
    kind: str | None = None,
) -> Incident:
    """Add an incident (and, on an instance, its audit event and webhook) in the caller's transaction."""
    now = services.clock()
    kind = kind or err.kind
    incident = Incident(
        id=str(uuid.uuid4()),
        instance_id=instance.id if instance is not None else None,
        definition_id=definition.id,
        definition_key=definition.key,
        unit=(definition.model.unit or "")[:200] or None,
        element_id=err.element_id,
        element_name=(err.element_name or "")[:300] or None,
        kind=kind,
        message_th=f"ขั้นตอน {where(err)} ทำงานไม่สำเร็จ: {KIND_TH.get(kind, KIND_TH['engine'])}",
        message_en=personal_data.scrubbed(services, session, definition.model, instance, str(err), err.values),
        variables=list(err.names),
        state=store.OPEN,
        created_at=now,
        created_by=actor[:100],
        retries=0,
    )
    store.add(session, incident)
    if instance is None:
        notification_outbox.incident(session, incident, now)
    else:
        event = NewEvent(
            "incident_created",
            actor[:100],
            None,
            err.element_id,
            {"incident_id": incident.id, "kind": kind, "variables": list(err.names)},
        )
        events_service.record(services, session, instance, [event], now)
    return incident


def open_external_incident(
    services: Services, session: Session, instance: ProcessInstance, element_id: str, error: str, caller: Caller
) -> Incident:
    """An external task out of retries (its worker reported the last failure)."""
    definition = services.definitions.definition(session, instance.definition_id)
    err = EngineError(f"external task failed with no retries left: {error}", element_id, None, "external_task")
    return open_incident(services, session, definition, err, caller.username, instance)


def _not_found(incident_id: str) -> NotFound:
    return NotFound("incident_not_found", f"ไม่พบเหตุขัดข้อง {incident_id} (incident not found)")


def _require(allowed: bool, roles: str) -> None:
    if not allowed:
        raise Forbidden("incidents_forbidden", f"ต้องมีบทบาท {roles} (role {roles} required)")


def listing(
    services: Services, caller: Caller, f: IncidentFilter, offset: int, limit: int
) -> tuple[list[IncidentRecord], int]:
    _require(policy.may_read_incidents(caller), "admin / designer / auditor")
    if f.state and f.state not in store.STATES:
        raise Invalid("invalid_state", f"state ต้องเป็นหนึ่งใน {', '.join(store.STATES)}")
    with services.db.read() as session:
        rows, total = store.listing(session, f, offset, limit)
        return [incident_record(row) for row in rows], total


def of_viewed_instance(services: Services, view: InstanceView) -> list[IncidentRecord]:
    """The incidents of an instance its reader was allowed to see (`instances/queries.get` returned `view`), newest
    first: element, Thai message and state, never variable values, for its page in the web app."""
    with services.db.read() as session:
        rows, _ = store.listing(session, IncidentFilter(instance_id=view.instance.id), 0, 100)
        return [incident_record(row) for row in rows]


def get(services: Services, caller: Caller, incident_id: str) -> IncidentRecord:
    _require(policy.may_read_incidents(caller), "admin / designer / auditor")
    with services.db.read() as session:
        incident = store.get(session, incident_id)
        if incident is None:
            raise _not_found(incident_id)
        return incident_record(incident)


def _close(incident: Incident, caller: Caller, now: datetime, resolution: str) -> None:
    incident.state, incident.resolved_at, incident.resolved_by = store.RESOLVED, now, caller.username
    incident.resolution = resolution


def _lock_open(session: Session, incident_id: str) -> Incident:
    incident = store.lock(session, incident_id)
    if incident is None:
        raise _not_found(incident_id)
    if incident.state != store.OPEN:
        raise Conflict("incident_not_open", "เหตุขัดข้องนี้ได้รับการแก้ไขแล้ว (incident is already resolved)")
    return incident


def resolve(services: Services, caller: Caller, incident_id: str, reason: str) -> IncidentRecord:
    """Close an incident with the reason (admin): e.g. the instance was cancelled, or staff worked around it."""
    _require(policy.may_fix_incidents(caller), "admin")
    with services.db.write() as session:
        incident = _lock_open(session, incident_id)
        now = services.clock()
        _close(incident, caller, now, reason)
        _audit(services, session, incident, caller, now, "incident_resolved", {"reason": reason})
        return incident_record(incident)


def retry(services: Services, caller: Caller, incident_id: str) -> IncidentRecord:
    """Run the instance's engine again where it failed (admin), typically after deploying a fix and migrating
    the instance to it: due timers fire, the steps after them run to the next wait state, and an external task
    out of retries gets one more attempt. Success resolves the incident; a new failure is a 409, changes nothing
    and leaves the incident open with one more retry counted. An incident of a person's command (complete,
    start, message) has nothing to re-run: retry checks the instance runs, resolves, and the person tries again.
    """
    _require(policy.may_fix_incidents(caller), "admin")
    failure: EngineError | None = None
    with services.db.write() as session:
        incident = _lock_open(session, incident_id)
        now = services.clock()
        incident.retries += 1
        instance = instances_store.lock(session, incident.instance_id) if incident.instance_id else None
        if instance is not None and instance.state == InstanceState.RUNNING:
            command = InstanceCommand(services, session, instance, caller.username, now)
            try:
                step = command.run(lambda runtime, process, state: runtime.fire_timers(process, state))
            except ProcessDefect as defect:
                failure = defect.error
            else:
                store.retried(session, instance.id, now)
                event = NewEvent("incident_retried", caller.username, None, incident.element_id, {"id": incident.id})
                command.apply(step, [event])
        if failure is None:
            _close(incident, caller, now, "retried")
        session.flush()
        retried = incident_record(incident)
    if failure is not None:
        raise Conflict(
            "retry_failed",
            f"ลองใหม่แล้วยังไม่สำเร็จที่ขั้นตอน {where(failure)}: {failure} (the retry failed again; deploy a fix "
            "and migrate the instance first)",
            incident_id=incident_id,
            element_id=failure.element_id,
        )
    return retried


def _audit(
    services: Services,
    session: Session,
    incident: Incident,
    caller: Caller,
    now: datetime,
    kind: str,
    data: dict[str, Any],
) -> None:
    if incident.instance_id is None:
        return
    instance = instances_store.lock(session, incident.instance_id)
    if instance is not None:
        event = NewEvent(kind, caller.username, None, incident.element_id, {"incident_id": incident.id, **data})
        events_service.record(services, session, instance, [event], now)
