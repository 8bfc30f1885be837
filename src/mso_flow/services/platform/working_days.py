"""Due dates from the manual's standard durations, on the Thai government's working calendar.

The rule (also in the README):
- Hours, minutes and seconds (`PT24H`, `PT15M`) are elapsed time: "ภายใน ๒๔ ชั่วโมง" means 24 clock hours.
- Days (`P15D`) are working days: the due date is the n-th working day after the day the task was created, at
  the same time of day (Asia/Bangkok). Weekends, Thai public and government holidays (the `holidays` package,
  country TH) and the extra days in the operator's file are not working days. A week (`P1W`) is 5 working days.
- Months and years (`P1M`) are calendar months from the creation time; a due date that falls on a non-working
  day moves to the next working day.
- A task whose `duration_basis` is `calendar` counts its days (and weeks of 7 days) on the calendar; a due date
  that falls on a non-working day moves to the next working day, as statutory periods do.
- A task with a `deadline` ("ภายใน X") is due at the deadline counted from `deadline_from`: the receipt of the
  case (the instance's start) or the task's creation; with a standard duration too, the earlier date wins.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import isodate
import yaml

from mso_flow.engine.model import UserTaskDef

BANGKOK = ZoneInfo("Asia/Bangkok")
_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class CalendarFileError(ValueError):
    """The extra-holidays file cannot be read."""


def read_extra_days(path: Path) -> dict[date, str]:
    """The operator's extra non-working days: a YAML list of `{date: 2026-12-28, name: ...}` (or bare dates)."""
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as err:
        raise CalendarFileError(f"{path}: {err}") from err
    if isinstance(entries, dict):
        entries = entries.get("holidays", [])
    days: dict[date, str] = {}
    for entry in entries:
        value, name = (entry.get("date"), entry.get("name", "")) if isinstance(entry, dict) else (entry, "")
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError as err:
                raise CalendarFileError(f"{path}: {value!r} is not a date (YYYY-MM-DD)") from err
        if not isinstance(value, date):
            raise CalendarFileError(f"{path}: {entry!r} is not a date (YYYY-MM-DD)")
        days[value] = str(name or "วันหยุดราชการเพิ่มเติม")
    return days


class WorkingCalendar:
    """Working days of Thai government offices and the due dates computed on them."""

    def __init__(self, extra_days: dict[date, str] | None = None) -> None:
        self.extra_days = dict(extra_days or {})

    @classmethod
    def from_file(cls, path: Path | None) -> WorkingCalendar:
        return cls(read_extra_days(path) if path else None)

    @functools.lru_cache(maxsize=64)  # noqa: B019  (one calendar per service, a handful of years)
    def _thai_holidays(self, year: int) -> holidays.HolidayBase:
        return holidays.country_holidays("TH", years=year, categories=("public", "government"), language="th")

    def holiday_name(self, day: date) -> str | None:
        """The Thai name of a holiday (public, government or announced), else None."""
        return self.extra_days.get(day) or self._thai_holidays(day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.holiday_name(day) is None

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`-th working day after `day`."""
        while count > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def next_working_day(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def due_for(self, task: UserTaskDef | None, created: datetime, received: datetime) -> datetime | None:
        """The due date of a task created at `created` in a case received at `received`."""
        if task is None:
            return None
        basis = task.duration_basis or "working"
        standard = self.due_at(created, task.standard_duration, basis)
        deadline = self.due_at(received if task.deadline_from == "receipt" else created, task.deadline, basis)
        return min((d for d in (standard, deadline) if d is not None), default=None)

    def due_at(self, start: datetime, duration: str | None, basis: str = "working") -> datetime | None:
        """`start` plus an ISO-8601 standard duration under the rule of this module; None without a duration."""
        if not duration:
            return None
        match = _DURATION.match(duration.strip())
        if match is None or duration.strip() in ("P", "PT"):
            return None
        parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
        clock = timedelta(hours=parts["hours"], minutes=parts["minutes"], seconds=parts["seconds"])
        local = start.astimezone(BANGKOK)
        months = int(parts["years"]) * 12 + int(parts["months"])
        if months:
            shifted = local + isodate.Duration(months=months)
            local = datetime.combine(self.next_working_day(shifted.date()), shifted.timetz())
        if basis == "calendar":
            days = int(parts["weeks"]) * 7 + int(parts["days"])
            if days:
                shifted = local + timedelta(days=days)
                local = datetime.combine(self.next_working_day(shifted.date()), shifted.timetz())
            return (local + clock).astimezone(start.tzinfo)
        days = int(parts["weeks"]) * 5 + int(parts["days"])
        if days:
            local = datetime.combine(self.add_working_days(local.date(), days), local.timetz())
        return (local + clock).astimezone(start.tzinfo)
