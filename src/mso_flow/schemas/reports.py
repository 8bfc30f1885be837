"""KPI and overdue reports."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DurationFigures(BaseModel):
    count: int = Field(description="completed tasks (steps) or completed instances (processes) in the period")
    median_seconds: float | None
    p90_seconds: float | None
    standard_seconds: float | None = Field(
        description="the manual's standard duration (a month counted as 30 days); null for processes"
    )
    on_time_ratio: float | None = Field(
        description="steps: share completed by their due date (working calendar); processes: share of instances "
        "with every step on time"
    )


class StepReport(DurationFigures):
    element_id: str
    name: str | None
    lane: str | None
    standard_duration: str | None = Field(description="ISO-8601, as in the BPMN")


class ProcessReport(DurationFigures):
    key: str
    name: str | None
    unit: str | None
    kpi: str | None = Field(description="the manual's KPI (ตัวชี้วัด) of the process")
    steps: list[StepReport]


class KpiReport(BaseModel):
    from_: datetime | None = Field(alias="from", serialization_alias="from")
    to: datetime | None
    processes: list[ProcessReport]


class OverdueCount(BaseModel):
    name: str = Field(description="the unit or the role")
    open: int
    overdue: int


class OverdueReport(BaseModel):
    at: datetime
    by_unit: list[OverdueCount]
    by_role: list[OverdueCount]
