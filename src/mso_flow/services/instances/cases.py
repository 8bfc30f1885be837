"""Finding cases (process instances) in the web app: by part of the business key, process, state and the dates they
started, among the cases the caller may see (`policy.may_view_instance`: oversight sees every case, staff the cases
of the processes they work a lane of), each with its data only for its people (`instances.views_of`). Filtered,
paged and counted in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mso_flow.engine.model import ProcessDef
from mso_flow.services import policy
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import queries as instances
from mso_flow.services.instances.queries import InstanceView
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden, Invalid
from mso_flow.services.tasks.inbox import Window
from mso_flow.store import instances as store

BANGKOK = ZoneInfo("Asia/Bangkok")
PAGE_SIZE = 50
MAX_PROCESSES = 2000


@dataclass(frozen=True)
class CaseQuery:
    """What the cases page asks for; dates are days in Bangkok, both included."""

    business_key: str | None = None
    key: str | None = None
    state: str | None = None
    started_from: date | None = None
    started_to: date | None = None
    offset: int = 0
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class CasePage(Window):
    items: list[InstanceView]
    names: dict[str, str]  # process key → name, of the processes the caller may see cases of


def visible_processes(services: Services, caller: Caller) -> dict[str, ProcessDef]:
    """The processes (latest versions, by key) whose cases the caller may see."""
    found, _ = definitions.listing(services, 0, MAX_PROCESSES)
    return {row.key: model for row, model in found if policy.may_view_instance(caller, model)}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BANGKOK)


def search(services: Services, caller: Caller, query: CaseQuery) -> CasePage:
    """A page of the cases the caller may see that match `query`, newest first."""
    if query.state and query.state not in instances.STATES:
        raise Invalid("invalid_state", f"สถานะไม่ถูกต้อง (state: one of {', '.join(instances.STATES)})")
    if query.started_from and query.started_to and query.started_from > query.started_to:
        raise Invalid("invalid_dates", "วันที่เริ่มต้นต้องไม่อยู่หลังวันที่สิ้นสุด (started_from after started_to)")
    processes = visible_processes(services, caller)
    if query.key and query.key not in processes:
        raise Forbidden("instance_forbidden", "คุณไม่มีสิทธิ์ดูเรื่องของกระบวนงานนี้ (no role in this process)")
    keys: list[str] | None = [query.key] if query.key else None
    if keys is None and not policy.oversees_instances(caller):
        keys = sorted(processes)
    offset = max(0, query.offset)
    with services.db.read() as session:
        items, total = store.search(
            session,
            offset,
            query.limit,
            keys,
            query.state,
            (query.business_key or "").strip() or None,
            _start_of(query.started_from) if query.started_from else None,
            _start_of(query.started_to + timedelta(days=1)) if query.started_to else None,
        )
        views = instances.views_of(services, session, caller, items)
    names = {key: model.name for key, model in processes.items()}
    return CasePage(total, offset, query.limit, views, names)
