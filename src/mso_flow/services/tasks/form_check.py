"""Check variables against a user task's form, and the variables of every request in general.

`check_names` is the one check every face's variables pass (start, message, task and external-task completion,
BPMN error, set variables; the v1 API, the web app and the Camunda façade alike): names a condition can use,
and no value holding the key `sealing.MARK` at any depth, so that nothing from outside is ever stored in the
shape of a sealed envelope (`services/privacy/sealing.py`).
"""

from __future__ import annotations

import datetime as dt
import keyword
import re
from typing import Any

from mso_flow.engine.model import FormField
from mso_flow.services.instances.guards import SHADOWING
from mso_flow.services.platform.failures import Invalid
from mso_flow.services.privacy.sealing import MARK, reserved_paths

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
_RESERVED = {"True", "False", "None"}


def require_valid_names(variables: dict[str, Any]) -> None:
    """422 naming every variable whose name a condition could not use or whose value holds a reserved key."""
    errors = check_names(variables)
    if errors:
        raise _invalid(errors)


def _invalid(errors: list[dict[str, str]]) -> Invalid:
    return Invalid(
        "invalid_variables",
        "ข้อมูลที่ส่งมาไม่ถูกต้อง ไม่มีการเปลี่ยนแปลงใด ๆ (invalid variables; nothing was changed)",
        errors,
    )


def check_names(variables: dict[str, Any]) -> list[dict[str, str]]:
    """Variable names must be usable in conditions: ASCII identifiers, not keywords, no leading underscore, and
    not the name of a built-in or of the engine (`len`, `sum`, `task`: it would shadow it in every condition);
    and no value may hold the key reserved for sealed values (`path` names where)."""
    misnamed = [
        {"field": name, "message": "ชื่อนี้ซ้ำกับชื่อที่ระบบใช้ (the name shadows a built-in or engine name)"}
        for name in variables
        if name in SHADOWING
    ] + [
        {
            "field": name,
            "message": "ชื่อตัวแปรต้องเป็นตัวอักษรภาษาอังกฤษ ตัวเลข และ _ ขึ้นต้นด้วยตัวอักษร "
            "(variable names: ASCII identifiers starting with a letter)",
        }
        for name in variables
        if (not _NAME.match(name) or keyword.iskeyword(name) or name in _RESERVED) and name not in SHADOWING
    ]
    return misnamed + _reserved_keys(variables)


def _reserved_keys(variables: dict[str, Any]) -> list[dict[str, str]]:
    """Where a value holds the key reserved for sealed values (`path`, e.g. `contact.phones[1]`)."""
    return [
        {
            "field": name,
            "path": path,
            "message": f"{path}: คีย์ {MARK} สงวนไว้สำหรับข้อมูลที่ระบบเข้ารหัส ส่งเข้ามาไม่ได้ "
            f"(the key {MARK} is reserved for values the service seals)",
        }
        for name, value in variables.items()
        for path in reserved_paths(value, name)
    ]


def _type_error(field: FormField, value: Any) -> str | None:
    if field.type == "boolean" and not isinstance(value, bool):
        return "ต้องเป็น true หรือ false (expected a boolean)"
    if field.type == "long" and (isinstance(value, bool) or not isinstance(value, int)):
        return "ต้องเป็นจำนวนเต็ม (expected an integer)"
    if field.type == "long" and abs(value) > 2**63 - 1:
        return "จำนวนเต็มใหญ่เกินไป (integer out of range)"
    if field.type in ("string", "enum") and not isinstance(value, str):
        return "ต้องเป็นข้อความ (expected a string)"
    if field.type == "enum" and value not in {v for v, _ in field.enum}:
        allowed = ", ".join(v for v, _ in field.enum)
        return f"ต้องเป็นค่าหนึ่งใน {allowed} (value outside enum)"
    if field.type == "file" and not (isinstance(value, list) and all(isinstance(i, str) for i in value)):
        return "ต้องเป็นรายการรหัสเอกสารที่แนบ (expected a list of document ids)"
    if field.type == "date":
        if not isinstance(value, str):
            return "ต้องเป็นวันที่รูปแบบ YYYY-MM-DD (expected an ISO date)"
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            return "ต้องเป็นวันที่รูปแบบ YYYY-MM-DD (expected an ISO date)"
    return None


def check_form(form: tuple[FormField, ...], variables: dict[str, Any]) -> None:
    """Raise `Invalid` listing every problem of `variables` for this form; a task without a form takes any
    well-named variables."""
    errors = check_names(variables)
    if form:
        fields = {f.id: f for f in form}
        for name in variables:
            if name not in fields:
                errors.append({"field": name, "message": "ไม่มีช่องนี้ในแบบฟอร์มของงาน (not a field of this form)"})
        for field in form:
            value = variables.get(field.id)
            if value is None:
                if field.required and field.type == "file":
                    errors.append({"field": field.id, "message": f"ต้องแนบไฟล์ {field.label} (a document is required)"})
                elif field.required:
                    errors.append({"field": field.id, "message": f"ต้องกรอก {field.label} (required)"})
                continue
            problem = _type_error(field, value)
            if problem:
                errors.append({"field": field.id, "message": f"{field.label}: {problem}"})
    if errors:
        raise _invalid(errors)
