"""Camunda's typed variables `{"value", "type", "valueInfo"}` to and from the engine's plain JSON values.

The engine keeps JSON values, so the conversion is lossless by construction:
- String, Boolean, Null: as they are (Thai text stays text); Integer, Short and Long: Python int of any size;
  Double: float.
- Date: kept as text in Camunda's format `yyyy-MM-dd'T'HH:mm:ss.SSSZ` with the offset it was given in; text
  of exactly that shape reads back as a Date.
- Json, and Object serialized as `application/json`: the parsed document (a dict or list the process can read);
  it reads back as Json.
A value without a type is typed from its JSON value, as Camunda does.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from mso_flow.services.platform.failures import BadRequest

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.{ms}%z"
_CAMUNDA_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
INT32 = 2**31
JSON_FORMAT = "application/json"
TYPES = ("String", "Integer", "Short", "Long", "Double", "Boolean", "Date", "Json", "Null", "Object")


def format_date(value: datetime) -> str:
    """A timezone-aware datetime in Camunda's date format, e.g. `2026-11-30T17:20:00.000+0700`."""
    return value.strftime(DATE_FORMAT.format(ms=f"{value.microsecond // 1000:03d}"))


def optional_date(value: datetime | None) -> str | None:
    return format_date(value) if value is not None else None


def parse_date(text: str) -> datetime:
    """Camunda's format or any ISO-8601 date-time with an offset (naive times are refused: ambiguous)."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadRequest(
            "invalid_date",
            f"วันที่ {text!r} ไม่ถูกต้อง ต้องมีเขตเวลา เช่น 2026-11-30T17:20:00.000+0700 (expected yyyy-MM-dd'T'HH:mm:ss.SSSZ)",
        )
    return parsed


def _invalid(name: str, kind: str, value: Any) -> BadRequest:
    return BadRequest(
        "invalid_variable",
        f"ตัวแปร {name}: ค่า {value!r} ไม่ใช่ชนิด {kind} (Cannot convert value to type {kind})",
    )


def to_engine(name: str, typed: Any) -> Any:
    """One typed variable as the engine's value; 400 naming the variable when value and type disagree."""
    if not isinstance(typed, dict):
        raise BadRequest("invalid_variable", f"ตัวแปร {name} ต้องเป็น {{value, type}} (expected a typed value)")
    value = typed.get("value")
    kind = typed.get("type") or _infer(value)
    kind = kind[:1].upper() + kind[1:] if isinstance(kind, str) else kind
    if kind not in TYPES:
        raise BadRequest("unsupported_type", f"ตัวแปร {name}: ไม่รองรับชนิด {kind!r} (supported: {', '.join(TYPES)})")
    if value is None or kind == "Null":
        return None
    if kind == "String":
        if not isinstance(value, str):
            raise _invalid(name, kind, value)
        return value
    if kind == "Boolean":
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            raise _invalid(name, kind, value)
        return value
    if kind in ("Integer", "Short", "Long"):
        return _integer(name, kind, value)
    if kind == "Double":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _invalid(name, kind, value)
        try:
            return float(value)
        except ValueError:
            raise _invalid(name, kind, value) from None
    if kind == "Date":
        if not isinstance(value, str):
            raise _invalid(name, kind, value)
        return format_date(parse_date(value))
    return _document(name, kind, value, typed.get("valueInfo") or {})


def _integer(name: str, kind: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise _invalid(name, kind, value)
    if isinstance(value, float):
        if not value.is_integer():
            raise _invalid(name, kind, value)
        return int(value)
    try:
        return int(value)
    except ValueError:
        raise _invalid(name, kind, value) from None


def _document(name: str, kind: str, value: Any, info: dict[str, Any]) -> Any:
    """Json, or Object serialized as JSON: the parsed document."""
    if kind == "Object" and info.get("serializationDataFormat") not in (None, JSON_FORMAT):
        raise BadRequest(
            "unsupported_serialization",
            f"ตัวแปร {name}: รองรับ Object เฉพาะแบบ {JSON_FORMAT} (only JSON-serialized objects are supported)",
        )
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _invalid(name, kind, value) from None


def _infer(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer" if -INT32 <= value < INT32 else "Long"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, dict | list):
        return "Json"
    return "String"


def from_typed(variables: dict[str, Any] | None) -> dict[str, Any]:
    """A map of typed variables as engine values."""
    return {name: to_engine(name, typed) for name, typed in (variables or {}).items()}


def typed(value: Any) -> dict[str, Any]:
    """An engine value as Camunda's typed value."""
    kind = _infer(value)
    if kind == "String" and _CAMUNDA_DATE.match(value):
        return {"type": "Date", "value": value, "valueInfo": {}}
    if kind == "Json":
        return {"type": "Json", "value": json.dumps(value, ensure_ascii=False), "valueInfo": {}}
    return {"type": kind, "value": value, "valueInfo": {}}


def to_typed(variables: dict[str, Any], names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Engine values as typed values, restricted to `names` when given."""
    wanted = variables if names is None else {n: variables[n] for n in names if n in variables}
    return {name: typed(value) for name, value in wanted.items()}
