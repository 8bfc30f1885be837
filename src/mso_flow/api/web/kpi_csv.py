"""The KPI report as the web app's CSV download, for staff who open it in a spreadsheet: Thai column headers (ASCII
ones on request), one row per process then one per step, durations in words as on the page ("10 วินาที",
"2.5 ชั่วโมง") and as minutes rounded to one decimal (the manual's standards run from one minute to months: a
ten-second step is 0.2, not 0), shares on time in percent rounded to one decimal. The file is UTF-8 with a
byte-order mark (`api/exports.py`), so Excel reads the Thai.

The API's `GET /api/v1/reports/kpi?format=csv` keeps its raw figures (seconds, ratios) for other systems."""

from __future__ import annotations

from typing import Any

from mso_flow.api.web.thai import duration_words, seconds_words
from mso_flow.services.reports.kpis import DurationStats, ProcessKpi, StepKpi

# (ASCII name, Thai header) of each column, in order
COLUMNS = (
    ("process", "กระบวนงาน"),
    ("unit", "หน่วยงาน"),
    ("step", "ขั้นตอน"),
    ("lane", "ผู้รับผิดชอบ"),
    ("count", "จำนวนที่เสร็จ"),
    ("median", "ค่ามัธยฐาน"),
    ("median_minutes", "ค่ามัธยฐาน (นาที)"),
    ("p90_minutes", "เปอร์เซ็นไทล์ที่ 90 (นาที)"),
    ("standard", "เวลามาตรฐาน"),
    ("standard_minutes", "เวลามาตรฐาน (นาที)"),
    ("on_time_percent", "ทันกำหนด (%)"),
    ("key", "รหัสกระบวนงาน"),
    ("element_id", "รหัสขั้นตอน"),
)
WHOLE_PROCESS = "ทั้งกระบวนงาน"


def _minutes(seconds: float | None) -> float | str:
    return "" if seconds is None else round(seconds / 60, 1)


def _figures(stats: DurationStats | None) -> dict[str, Any]:
    if stats is None or not stats.count:
        return {"count": 0, "median": "-", "median_minutes": "", "p90_minutes": "", "on_time_percent": ""}
    return {
        "count": stats.count,
        "median": seconds_words(stats.median_seconds),
        "median_minutes": _minutes(stats.median_seconds),
        "p90_minutes": _minutes(stats.p90_seconds),
        "on_time_percent": round(stats.on_time_ratio * 100, 1),
    }


def _step(process: ProcessKpi, step: StepKpi) -> dict[str, Any]:
    return {
        "process": process.name or process.key,
        "unit": process.unit or "",
        "step": step.name or step.element_id,
        "lane": step.lane or "",
        **_figures(step.stats),
        "standard": duration_words(step.standard_duration) if step.standard_duration else "",
        "standard_minutes": _minutes(step.standard_seconds),
        "key": process.key,
        "element_id": step.element_id,
    }


def rows(processes: list[ProcessKpi], ascii_headers: bool = False) -> list[dict[str, Any]]:
    """The report's rows keyed by the chosen headers, columns in `COLUMNS` order."""
    found: list[dict[str, Any]] = []
    for process in processes:
        whole = {
            "process": process.name or process.key,
            "unit": process.unit or "",
            "step": WHOLE_PROCESS,
            "lane": "",
            **_figures(process.stats),
            "standard": "",
            "standard_minutes": "",
            "key": process.key,
            "element_id": "",
        }
        found += [whole, *(_step(process, step) for step in process.steps)]
    return [{(name if ascii_headers else thai): row[name] for name, thai in COLUMNS} for row in found]
