"""The manual's KPIs from live data: how long processes and steps really take against their standard durations,
and where open work is overdue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import isodate

from mso_flow.engine.model import ProcessDef
from mso_flow.services import policy
from mso_flow.services.context import Caller, Services
from mso_flow.services.errors import Forbidden, Invalid
from mso_flow.store import definitions as definitions_store
from mso_flow.store import reports as store
from mso_flow.store.reports import DurationStats, Period


@dataclass
class StepKpi:
    element_id: str
    name: str | None
    lane: str | None
    stats: DurationStats
    standard_duration: str | None
    standard_seconds: float | None


@dataclass
class ProcessKpi:
    key: str
    name: str | None
    unit: str | None
    kpi: str | None
    stats: DurationStats | None
    steps: list[StepKpi] = field(default_factory=list)


def nominal_seconds(duration: str | None) -> float | None:
    """An ISO-8601 duration in seconds, counting a month as 30 days and a year as 365 (for display only: due
    dates and on-time shares use the working calendar)."""
    if not duration:
        return None
    try:
        value = isodate.parse_duration(duration)
    except (isodate.ISO8601Error, ValueError):
        return None
    if isinstance(value, isodate.Duration):
        days = float(value.years) * 365 + float(value.months) * 30
        return days * 86400 + value.tdelta.total_seconds()
    return value.total_seconds()


def _check_period(start: datetime | None, end: datetime | None) -> None:
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise Invalid("naive_datetime", f"{name} ต้องระบุเขตเวลา (timezone required)")
    if start and end and end <= start:
        raise Invalid("empty_period", "ช่วงเวลาไม่ถูกต้อง: to ต้องอยู่หลัง from (to must be after from)")


def kpi(services: Services, caller: Caller, period: Period) -> list[ProcessKpi]:
    """Per process and per step: count, median and p90 duration, standard duration, share on time."""
    if not policy.may_read_reports(caller):
        raise Forbidden("reports_forbidden", "ไม่มีสิทธิ์ดูรายงาน (not allowed to read reports)")
    _check_period(period.start, period.end)
    with services.db.read() as session:
        steps = store.step_stats(session, period)
        instances = {s.key: s for s in store.instance_stats(session, period)}
        models: dict[str, ProcessDef | None] = {}
        for key in sorted({s.key for s in steps} | set(instances)):
            row = definitions_store.latest(session, key)
            models[key] = services.definitions.of_row(session, row).model if row else None
    reports = {key: _process(key, models[key], instances.get(key)) for key in models}
    for stat in steps:
        model = models[stat.key]
        task = model.user_task(stat.element_id) if model and stat.element_id else None
        reports[stat.key].steps.append(
            StepKpi(
                element_id=stat.element_id or "",
                name=task.name if task else None,
                lane=task.lane if task else None,
                stats=stat,
                standard_duration=task.standard_duration if task else None,
                standard_seconds=nominal_seconds(task.standard_duration if task else None),
            )
        )
    for report in reports.values():
        model = models[report.key]
        order = {t.element_id: i for i, t in enumerate(model.user_tasks)} if model else {}
        report.steps.sort(key=lambda s: (order.get(s.element_id, len(order)), s.element_id))
    return list(reports.values())


def _process(key: str, model: ProcessDef | None, stats: DurationStats | None) -> ProcessKpi:
    return ProcessKpi(
        key=key,
        name=model.name if model else None,
        unit=model.unit if model else None,
        kpi=model.properties.get("kpi") if model else None,
        stats=stats,
    )


def overdue(services: Services, unit: str | None) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """Open and overdue tasks now, per unit and per role."""
    now = services.clock()
    with services.db.read() as session:
        return store.overdue_by_unit(session, now, unit), store.overdue_by_role(session, now, unit)
