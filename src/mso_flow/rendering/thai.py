"""Dates the Thai way, for every face that writes them (the web app, notification mails): Asia/Bangkok time and
the Buddhist year. Pure functions."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")


def thai_date(value: date) -> str:
    """`3 ธ.ค. 2569` (Buddhist year)."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year + 543}"


def thai_datetime(value: datetime | None, with_time: bool = True) -> str:
    """`3 ธ.ค. 2569 10:15` (Bangkok time, Buddhist year); empty for None."""
    if value is None:
        return ""
    local = value.astimezone(BANGKOK)
    return f"{thai_date(local)} {local:%H:%M}" if with_time else thai_date(local)
