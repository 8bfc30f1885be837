"""The operators' Cockpit: what an admin watches and acts on, read-only for an auditor (`policy.may_read_operations`).

The reads here gather for one page what the other use cases keep apart: incidents with the choices to filter them
and their element on the diagram, running instances with their current steps and age, every external task's lock
and retries, every webhook delivery's state, and the audit chains' verification. The actions stay with their own
use cases and permissions (`incidents.resolve`/`retry`, `instances.cancel`, `migration.migrate`); the previews
here (`cancel_preview`, `migrate_preview`) ask the same predicates, so the confirmation step of an action is
refused to whoever the action would refuse. Every page gets frozen records built in the services' transactions
(`IncidentRecord`, `DefinitionRecord`, `ExternalTaskRecord`, `DeliveryRecord`, `WebhookRecord`), never the store's
rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mso_flow.domain import InstanceState
from mso_flow.rendering.svg import Marks, render_svg
from mso_flow.services import policy
from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.definitions import diagrams
from mso_flow.services.definitions.records import DefinitionRecord, definition_record
from mso_flow.services.instances import incidents, lifecycle
from mso_flow.services.instances import queries as instances
from mso_flow.services.instances.incidents import IncidentRecord
from mso_flow.services.instances.queries import InstanceView, instance_view
from mso_flow.services.integrations.external_tasks import ExternalTaskRecord, external_task_record
from mso_flow.services.integrations.webhooks import DeliveryRecord, WebhookRecord, delivery_record, webhook_record
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden, Invalid
from mso_flow.store import cockpit as store
from mso_flow.store import definitions as definitions_store
from mso_flow.store import external_tasks as external_store
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as tasks_store
from mso_flow.store.audit import ChainCheck
from mso_flow.store.cockpit import Wait
from mso_flow.store.incidents import IncidentFilter

EXTERNAL_VIEWS = ("open", "locked", "free", "no_retries")
DELIVERY_STATES = ("pending", "failed", "delivered")


def _require_reader(caller: Caller) -> None:
    if not policy.may_read_operations(caller):
        raise Forbidden("cockpit_forbidden", "หน้านี้สำหรับผู้ดูแลระบบและผู้ตรวจสอบ (admin or auditor only)")


def _case(services: Services, caller: Caller, instance_id: str) -> InstanceView:
    """An instance the caller may see (404, 403 as `instances.load_instance`) with its open tasks, without its
    variables: the Cockpit shows where a case stands, never its data (the case page does, to whom may read it)."""
    instance = instances.load_instance(services, caller, instance_id)
    with services.db.read() as session:
        return instance_view(instance, tasks_store.open_for_instance(session, instance.id))


@dataclass(frozen=True, slots=True)
class Overview:
    open_incidents: int
    running: dict[str, int]
    external: dict[str, int]
    deliveries: dict[str, int]


def overview(services: Services, caller: Caller) -> Overview:
    """The counts on the Cockpit's first page."""
    _require_reader(caller)
    with services.db.read() as session:
        return Overview(
            store.open_incidents(session),
            store.running_per_process(session),
            store.external_task_counts(session, services.clock()),
            store.delivery_counts(session),
        )


@dataclass(frozen=True, slots=True)
class IncidentPage:
    items: list[IncidentRecord]
    total: int
    keys: list[str]
    units: list[str]


def incident_page(services: Services, caller: Caller, f: IncidentFilter, offset: int, limit: int) -> IncidentPage:
    """Incidents matching `f`, newest first, with the process keys and units there are to filter by."""
    _require_reader(caller)
    items, total = incidents.listing(services, caller, f, offset, limit)
    with services.db.read() as session:
        keys, units = store.incident_facets(session)
    return IncidentPage(items, total, keys, units)


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: IncidentRecord
    instance: InstanceView | None
    svg: bytes
    definition: DefinitionRecord
    latest_version: int


def incident(services: Services, caller: Caller, incident_id: str) -> IncidentDetail:
    """An incident with its instance (if any) and the diagram of the instance's version, its element marked as
    failed (and the instance's progress), and the latest deployed version of its process (retry after migrating)."""
    _require_reader(caller)
    found = incidents.get(services, caller, incident_id)
    view = _case(services, caller, found.instance_id) if found.instance_id else None
    with services.db.read() as session:
        definition_id = view.instance.definition_id if view else found.definition_id
        row = definitions_store.by_id(session, definition_id)
        assert row is not None  # a definition an incident or instance names is never deleted
        definition = definition_record(services, row)
    if view is not None:
        svg = diagrams.instance_svg(services, caller, view.instance.id, legend=False, failed=found.element_id)
    else:
        svg = render_svg(definition.bpmn_xml, Marks(failed={found.element_id} if found.element_id else set()), False)
    latest = definitions.version(services, found.definition_key, None).version
    return IncidentDetail(found, view, svg, definition, latest)


MAX_REASON = 2000


def resolve(services: Services, caller: Caller, incident_id: str, reason: str) -> IncidentRecord:
    """Close an incident with a reason (`incidents.resolve`): refused to whoever may not fix incidents before the
    reason is looked at, then the reason is required (1 to 2000 characters)."""
    if not policy.may_fix_incidents(caller):
        raise Forbidden("incidents_forbidden", "ปิดเหตุขัดข้องได้เฉพาะผู้ดูแลระบบ (admin only)")
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        message = f"โปรดระบุเหตุผลที่ปิดเหตุขัดข้อง ไม่เกิน {MAX_REASON} ตัวอักษร (reason required)"
        raise Invalid("invalid_reason", message, errors=[{"field": "reason", "message": message}])
    return incidents.resolve(services, caller, incident_id, reason)


@dataclass(frozen=True, slots=True)
class Running:
    """A running instance as the Cockpit lists it: its human tasks and other waits, and since when it runs."""

    view: InstanceView
    waits: list[Wait] = field(default_factory=list)

    @property
    def instance_id(self) -> str:
        return self.view.instance.id


def running(
    services: Services, caller: Caller, key: str | None, offset: int, limit: int
) -> tuple[list[Running], int, dict[str, int]]:
    """Running instances (of `key`, else of every process), newest first, with what each waits for, and how many
    run per process."""
    _require_reader(caller)  # which oversees every instance (`policy.oversees_instances`)
    with services.db.read() as session:
        found, total = instances_store.listing(session, offset, limit, key=key, state=InstanceState.RUNNING)
        ids = [i.id for i in found]
        tasks, waits = store.open_tasks_of(session, ids), store.waits_of(session, ids)
        per_process = store.running_per_process(session)
    shown = [Running(instance_view(i, tasks.get(i.id, [])), waits.get(i.id, [])) for i in found]
    return shown, total, per_process


def cancel_preview(services: Services, caller: Caller, instance_id: str) -> InstanceView:
    """The instance to cancel, for the confirmation step: refused (403) to whoever may not cancel it."""
    view = _case(services, caller, instance_id)
    if not policy.may_cancel(caller, view.instance):
        raise Forbidden("cancel_forbidden", "ยกเลิกได้เฉพาะผู้ดูแลระบบ (admin only)")
    return view


def migrate_preview(services: Services, caller: Caller, instance_id: str) -> tuple[InstanceView, list[int]]:
    """The instance to migrate and the other deployed versions of its process, newest first (403 unless admin)."""
    if not policy.may_migrate(caller):
        raise Forbidden("admin_only", "ย้ายรุ่นกระบวนการได้เฉพาะผู้ดูแลระบบ (admin only)")
    view = _case(services, caller, instance_id)
    rows, _ = definitions.versions(services, view.instance.definition_key, 0, 100)
    return view, [r.version for r in rows if r.version != view.instance.definition_version]


@dataclass(frozen=True, slots=True)
class ExternalState:
    task: ExternalTaskRecord
    business_key: str | None
    definition_key: str


def external_tasks(
    services: Services, caller: Caller, which: str, offset: int, limit: int
) -> tuple[list[ExternalState], int, dict[str, int]]:
    """Open external tasks (`which`: open — all of them, locked, free, no_retries), oldest first, with their
    lock's holder and expiry, retries and last error, and the counts of each kind."""
    _require_reader(caller)
    if which not in EXTERNAL_VIEWS:
        raise Invalid("invalid_filter", f"ตัวกรองต้องเป็นหนึ่งใน {', '.join(EXTERNAL_VIEWS)}")
    now = services.clock()
    locked = {"locked": True, "free": False}.get(which)
    retries_left = {"locked": True, "free": True, "no_retries": False}.get(which)
    with services.db.read() as session:
        tasks, total = external_store.listing(
            session, now, offset, limit, locked=locked, with_retries_left=retries_left
        )
        heads = {
            i.id: i
            for i in (instances_store.get(session, instance_id) for instance_id in {t.instance_id for t in tasks})
            if i is not None
        }
        counts = store.external_task_counts(session, now)
        shown = [
            ExternalState(
                external_task_record(t),
                heads[t.instance_id].business_key if t.instance_id in heads else None,
                heads[t.instance_id].definition_key if t.instance_id in heads else "",
            )
            for t in tasks
        ]
    return shown, total, counts


def webhook_deliveries(
    services: Services, caller: Caller, state: str | None, offset: int, limit: int
) -> tuple[list[tuple[DeliveryRecord, WebhookRecord]], int, dict[str, int]]:
    """Deliveries of every webhook, newest first (`state`: pending, failed or delivered only), with their attempts
    and last error, and the counts per state. Payloads are not shown: they may carry a case's data."""
    _require_reader(caller)
    if state and state not in DELIVERY_STATES:
        raise Invalid("invalid_state", f"state ต้องเป็นหนึ่งใน {', '.join(DELIVERY_STATES)}")
    with services.db.read() as session:
        rows, total = store.deliveries(session, state, offset, limit)
        shown = [(delivery_record(d), webhook_record(w)) for d, w in rows]
        return shown, total, store.delivery_counts(session)


@dataclass(frozen=True, slots=True)
class Verification:
    admin: ChainCheck
    instance_id: str | None = None
    instance: ChainCheck | None = None


def verify(services: Services, caller: Caller, instance_id: str | None) -> Verification:
    """Re-hash the admin chain and, when asked, one instance's chain (each with its head's signature)."""
    _require_reader(caller)
    admin = users.verify_admin_audit(services, caller)
    if not instance_id:
        return Verification(admin)
    return Verification(admin, instance_id, lifecycle.verify_audit(services, caller, instance_id))


def when(now: datetime, since: datetime) -> float:
    """Seconds from `since` to `now` (an age)."""
    return max((now - since).total_seconds(), 0.0)
