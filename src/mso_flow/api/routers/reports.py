"""Reports: the manual's KPIs measured on live data, and overdue work (JSON, or CSV with `format=csv`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from mso_flow.api import exports
from mso_flow.api.deps import CallerDep, ServicesDep
from mso_flow.schemas.reports import KpiReport, OverdueCount, OverdueReport, ProcessReport, StepReport
from mso_flow.services.reports import kpis as reports
from mso_flow.services.reports.kpis import Period

router = APIRouter(prefix="/reports", tags=["reports"])
FormatQuery = Annotated[str | None, Query(pattern="^(json|csv)$", description="csv, or send Accept: text/csv")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {exports.CSV: {}}}}


def _wants_csv(request: Request, format: str | None) -> bool:
    return format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))


def _process(report: reports.ProcessKpi) -> ProcessReport:
    stats = report.stats
    return ProcessReport(
        key=report.key,
        name=report.name,
        unit=report.unit,
        kpi=report.kpi,
        count=stats.count if stats else 0,
        median_seconds=stats.median_seconds if stats else None,
        p90_seconds=stats.p90_seconds if stats else None,
        standard_seconds=None,
        on_time_ratio=stats.on_time_ratio if stats else None,
        steps=[
            StepReport(
                element_id=s.element_id,
                name=s.name,
                lane=s.lane,
                standard_duration=s.standard_duration,
                standard_seconds=s.standard_seconds,
                count=s.stats.count,
                median_seconds=s.stats.median_seconds,
                p90_seconds=s.stats.p90_seconds,
                on_time_ratio=s.stats.on_time_ratio,
            )
            for s in report.steps
        ],
    )


def _kpi_rows(processes: list[ProcessReport]) -> list[dict[str, Any]]:
    figures = ("count", "median_seconds", "p90_seconds", "standard_seconds", "on_time_ratio")
    rows = []
    for p in processes:
        rows.append(
            {"key": p.key, "process": p.name, "unit": p.unit, "element_id": "", "step": "", "lane": ""}
            | {f: getattr(p, f) for f in figures}
        )
        for s in p.steps:
            rows.append(
                {
                    "key": p.key,
                    "process": p.name,
                    "unit": p.unit,
                    "element_id": s.element_id,
                    "step": s.name,
                    "lane": s.lane,
                }
                | {f: getattr(s, f) for f in figures}
            )
    return rows


@router.get("/kpi", response_model=KpiReport, responses=CSV_RESPONSE)
def kpi(
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    key: Annotated[str | None, Query(max_length=64)] = None,
    unit: Annotated[str | None, Query(max_length=200, description="the unit's Thai name, e.g. กองกลาง")] = None,
    from_: Annotated[datetime | None, Query(alias="from", description="completed at or after")] = None,
    to: Annotated[datetime | None, Query(description="completed before")] = None,
    format: FormatQuery = None,
) -> Any:
    """Per process and per step: count, median and p90 duration, standard duration, share done on time. Admins
    and auditors read every unit; a `manager:<unit>` their units (403 `reports_forbidden` otherwise)."""
    period = Period(start=from_, end=to, key=key, unit=unit)
    processes = [_process(p) for p in reports.kpi(services, caller, period)]
    if _wants_csv(request, format):
        return exports.response(_kpi_rows(processes), "csv", "kpi")
    return KpiReport(**{"from": from_}, to=to, processes=processes)


@router.get("/overdue", response_model=OverdueReport, responses=CSV_RESPONSE)
def overdue(
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    unit: Annotated[str | None, Query(max_length=200)] = None,
    format: FormatQuery = None,
) -> Any:
    """Open and overdue tasks now, per unit and per candidate role (scoped as `/reports/kpi`)."""
    by_unit, by_role = reports.overdue(services, caller, unit)
    report = OverdueReport(
        at=services.clock(),
        by_unit=[OverdueCount(name=u, open=n, overdue=late) for u, n, late in by_unit],
        by_role=[OverdueCount(name=r, open=n, overdue=late) for r, n, late in by_role],
    )
    if _wants_csv(request, format):
        rows = [{"kind": "unit"} | c.model_dump() for c in report.by_unit]
        rows += [{"kind": "role"} | c.model_dump() for c in report.by_role]
        return exports.response(rows, "csv", "overdue")
    return report
