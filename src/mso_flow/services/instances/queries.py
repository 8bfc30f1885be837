"""What the faces read of process instances: frozen views built from store rows, never the rows themselves.

`InstanceRecord` is an instance as a face shows it (its state, who started and ended it: no engine state, no
stored variables); `InstanceView` adds its open tasks and what of its variables the caller is shown
(`need_to_know`, a read of personal values logged once, by the query that shows them). Audit trails are
`AuditRecord`s, their data as the caller may read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mso_flow.domain import InstanceState, ReadPurpose, TaskState
from mso_flow.services import policy
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.audit_records import AuditRecord, audit_record
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden, Invalid, NotFound
from mso_flow.services.privacy import need_to_know, personal_data
from mso_flow.services.privacy.personal_data import HIDDEN, Disclosure
from mso_flow.services.tasks.records import TaskRecord, records
from mso_flow.store import audit as audit_store
from mso_flow.store import instances as store
from mso_flow.store import tasks as tasks_store
from mso_flow.store.models import HumanTask, ProcessInstance

STATES = tuple(InstanceState)


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """A process instance as the faces show it."""

    id: str
    definition_id: str
    definition_key: str
    definition_version: int
    business_key: str | None
    state: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None


def instance_record(row: ProcessInstance) -> InstanceRecord:
    return InstanceRecord(
        row.id,
        row.definition_id,
        row.definition_key,
        row.definition_version,
        row.business_key,
        row.state,
        row.started_at,
        row.started_by,
        row.ended_at,
        row.ended_by,
        row.end_reason,
    )


@dataclass(frozen=True, slots=True)
class InstanceView:
    """An instance with its open tasks, and what of its data the caller is shown
    (`services/privacy/need_to_know.py`); `erasable`: it holds sealed values not yet erased."""

    instance: InstanceRecord
    active_tasks: tuple[TaskRecord, ...]
    disclosure: Disclosure = HIDDEN
    erasable: bool = False

    @property
    def variables_visible(self) -> bool:
        return self.disclosure.visible

    @property
    def variables(self) -> dict[str, Any]:
        """The instance's variables as the caller is shown them (none when they may not read them)."""
        return self.disclosure.variables

    @property
    def masked_variables(self) -> tuple[str, ...]:
        return self.disclosure.masked


@dataclass(frozen=True, slots=True)
class Started:
    """What a start did: the new instance, its first open tasks and, when it holds no sealed value, its variables
    (plain values: nothing personal to disclose). A face that shows the variables asks `started` for them, so that
    sealed values are opened, and their read logged, only when someone is shown them."""

    instance: InstanceRecord
    active_tasks: tuple[TaskRecord, ...]
    plain_variables: dict[str, Any] | None  # None: it holds sealed values, disclosed by `started` on demand


def started(services: Services, caller: Caller, result: Started) -> InstanceView:
    """The instance `caller` has just started, with all its variables (a starter reads what they started): a read
    transaction, and a personal-data read logged, only when it holds sealed values."""
    if result.plain_variables is not None:
        return InstanceView(result.instance, result.active_tasks, Disclosure(True, dict(result.plain_variables)))
    with services.db.read() as session:
        row = store.get(session, result.instance.id)
        if row is None:  # erased or removed since: nothing left to show
            raise not_found(result.instance.id)
        disclosure = need_to_know.disclose(services, session, caller, row, visible=True)
        erasable = personal_data.erasable(row, disclosure)
    return InstanceView(result.instance, result.active_tasks, disclosure, erasable)


def instance_view(
    row: ProcessInstance, open_tasks: Iterable[HumanTask], disclosure: Disclosure = HIDDEN
) -> InstanceView:
    """The view of an instance row and its open task rows, with what of its data the caller is shown."""
    erasable = personal_data.erasable(row, disclosure)
    return InstanceView(instance_record(row), tuple(records(list(open_tasks))), disclosure, erasable)


def _forbidden() -> Forbidden:
    return Forbidden("instance_forbidden", "ไม่มีสิทธิ์ดูกระบวนการนี้ (no role in this process)")


def not_found(instance_id: str) -> NotFound:
    return NotFound("instance_not_found", f"ไม่พบกระบวนการที่ดำเนินการ {instance_id} (instance not found)")


def visible_instance(services: Services, session: Session, caller: Caller, instance_id: str) -> ProcessInstance:
    """The instance row, if the caller may see it (404 unknown, 403 no role in its process)."""
    instance = store.get(session, instance_id)
    if instance is None:
        raise not_found(instance_id)
    if not policy.may_view_instance(caller, services.definitions.definition(session, instance.definition_id).model):
        raise _forbidden()
    return instance


def load_instance(services: Services, caller: Caller, instance_id: str) -> ProcessInstance:
    """The instance row, if the caller may see it, for a use case of the services (the faces read `head`)."""
    with services.db.read() as session:
        return visible_instance(services, session, caller, instance_id)


def head(services: Services, caller: Caller, instance_id: str) -> InstanceRecord:
    """An instance the caller may see, without its tasks or data (no read is logged)."""
    return instance_record(load_instance(services, caller, instance_id))


def get(services: Services, caller: Caller, instance_id: str) -> InstanceView:
    """An instance the caller may see, with its open tasks and the variables they read (a read logged)."""
    with services.db.read() as session:
        instance = visible_instance(services, session, caller, instance_id)
        open_tasks = tasks_store.open_for_instance(session, instance.id)
        return instance_view(
            instance, open_tasks, need_to_know.disclose(services, session, caller, instance, open_tasks)
        )


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
    if not policy.oversees_instances(caller):
        if key is None:
            raise Invalid("key_required", "โปรดระบุ key ของกระบวนการ (staff must filter by process key)")
        _, model = definitions.latest(services, key)
        if not policy.may_view_instance(caller, model):
            raise _forbidden()
    with services.db.read() as session:
        items, total = store.listing(session, offset, limit, key=key, state=state, business_key=business_key)
        return views_of(services, session, caller, items), total


def views_of(services: Services, session: Session, caller: Caller, items: list[ProcessInstance]) -> list[InstanceView]:
    """A page of instances as the caller may read them (their data only for their people), with their open tasks."""
    every = tasks_store.of_instances(session, [i.id for i in items])
    views = []
    for instance in items:
        known = every.get(instance.id, [])
        open_tasks = [t for t in known if t.state == TaskState.OPEN]
        visible = policy.may_read_instance_data(caller, instance, known)
        shown = need_to_know.disclose(services, session, caller, instance, known, ReadPurpose.LIST, visible)
        views.append(instance_view(instance, open_tasks, shown))
    return views


def all_audit_events(services: Services, caller: Caller, instance_id: str) -> list[AuditRecord]:
    """The whole audit trail of an instance, for export: its data included, so only for those who read it
    (403 `instance_data_forbidden`)."""
    with services.db.read() as session:
        instance = visible_instance(services, session, caller, instance_id)
        need_to_know.require_data(session, caller, instance)
        events = audit_store.all_events(session, instance_id)
        return [audit_record(e) for e in need_to_know.exported(services, session, caller, instance, events)]


def audit_page(
    services: Services, caller: Caller, instance_id: str, offset: int, limit: int
) -> tuple[list[AuditRecord], int, bool]:
    """A page of the audit trail, and whether its events carry their data: who did what and when is shown to
    whoever sees the instance; the events' data only to those who read the instance's data."""
    with services.db.read() as session:
        instance = visible_instance(services, session, caller, instance_id)
        events, total = audit_store.listing(session, instance_id, offset, limit)
        shown, visible = need_to_know.events_shown(services, session, caller, instance, events)
        return [audit_record(e) for e in shown], total, visible


def audit(
    services: Services, caller: Caller, instance_id: str, offset: int, limit: int
) -> tuple[list[AuditRecord], int]:
    """A page of the audit trail, the events' data left out unless the caller reads it (see `audit_page`)."""
    events, total, _ = audit_page(services, caller, instance_id, offset, limit)
    return events, total


def variables(services: Services, caller: Caller, instance_id: str) -> dict[str, Any]:
    """An instance's variables, for a request that asks for nothing else (403 `instance_data_forbidden`)."""
    with services.db.read() as session:
        instance = visible_instance(services, session, caller, instance_id)
        need_to_know.require_data(session, caller, instance)
        return need_to_know.disclose(services, session, caller, instance, visible=True).variables
