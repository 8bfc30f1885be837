"""How the web app writes things in Thai: dates in Asia/Bangkok with the Buddhist year (`rendering/thai.py`,
shared with notification mails), durations in words, a recorded value as staff read it (yes/no, an enum's Thai
name, a Thai date), line-break opportunities between Thai words, and the Thai part of a service message."""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from mso_flow.rendering.thai import BANGKOK, MONTHS, thai_date, thai_datetime
from mso_flow.rendering.words import split_words

__all__ = [
    "BANGKOK",
    "MONTHS",
    "duration_words",
    "seconds_words",
    "thai_date",
    "thai_datetime",
    "thai_message",
    "value_words",
    "wbr",
]
_THAI = re.compile(r"[\u0e00-\u0e7f]")
_ENGLISH_GIST = re.compile(r"\s*\([^()\u0e00-\u0e7f]*\)\s*$")


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _date_text(value: str) -> str | None:
    """An ISO date (`2026-12-03`) or date and time as Thai; None when `value` is neither."""
    try:
        if _ISO_DATE.match(value):
            return thai_date(date.fromisoformat(value))
        if _ISO_DATETIME.match(value):
            moment = datetime.fromisoformat(value)
            return thai_datetime(moment if moment.tzinfo else moment.replace(tzinfo=BANGKOK))
    except ValueError:
        return None
    return None


def value_words(value: Any, kind: str | None = None, names: Mapping[str, str] | None = None) -> str:
    """A recorded value as staff read it: yes/no, the Thai name of an enum's value (`names`: value id → name),
    dates and times the Thai way; `kind` is the form field's type when a form asks for the value."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "ใช่" if value else "ไม่ใช่"
    if names and str(value) in names:
        return names[str(value)]
    if isinstance(value, datetime):
        return thai_datetime(value if value.tzinfo else value.replace(tzinfo=BANGKOK))
    if isinstance(value, date):
        return thai_date(value)
    if isinstance(value, str) and kind in (None, "date"):
        return _date_text(value) or value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def seconds_words(seconds: float | None) -> str:
    """A measured duration in seconds under a minute, else minutes, hours or days, rounded honestly (ten seconds
    is never "1 นาที")."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return "น้อยกว่า 1 วินาที"
    if seconds < 59.5:
        return f"{seconds:.0f} วินาที"
    if seconds < 3600:
        return f"{_number(seconds / 60)} นาที"
    if seconds < 48 * 3600:
        return f"{_number(seconds / 3600)} ชั่วโมง"
    return f"{_number(seconds / 86400)} วัน"


_ISO = re.compile(
    r"^P(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_UNITS = (("Y", "ปี"), ("M", "เดือน"), ("W", "สัปดาห์ทำการ"), ("D", "วันทำการ"), ("h", "ชั่วโมง"), ("m", "นาที"), ("s", "วินาที"))


def duration_words(iso: str | None) -> str:
    """A manual's standard duration (ISO-8601) in words; days and weeks count working days, hours elapse."""
    if not iso:
        return "ไม่ได้กำหนด"
    match = _ISO.match(iso)
    if match is None:
        return iso
    parts = [f"{int(match[key])} {word}" for key, word in _UNITS if match[key] and int(match[key])]
    return " ".join(parts) or "ไม่ได้กำหนด"


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    return tuple(split_words(text))


def wbr(text: str | None) -> Markup:
    """`text` escaped, with <wbr> between Thai words so a line breaks only between words."""
    if not text:
        return Markup("")
    if not _THAI.search(text):
        return escape(text)
    words = _words(text)
    out = [str(escape(words[0]))]
    for previous, word in itertools.pairwise(words):
        if _THAI.search(previous[-1:]) and _THAI.search(word[:1]):
            out.append("<wbr>")
        out.append(str(escape(word)))
    return Markup("".join(out))


def thai_message(message: str) -> str:
    """A service message without its trailing English gist: `ต้องกรอก เรื่อง (required)` → `ต้องกรอก เรื่อง`."""
    stripped = _ENGLISH_GIST.sub("", message)
    return stripped if _THAI.search(stripped) else message


def file_size(size: int | None) -> str:
    """A file's size as people read it: `820 ไบต์`, `35 KB`, `1.2 MB`."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} ไบต์"
    if size < 1024 * 1024:
        return f"{_number(size / 1024)} KB"
    return f"{_number(size / 1024 / 1024)} MB"
