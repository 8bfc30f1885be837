"""File fields of a task's form when it is completed: the variable holds the ids of the documents attached to the
task's field (never bytes), filled in by the service. A client may send the field, but only with ids of documents
attached to that very field and not withdrawn (another instance's document, or a made-up id → 422 naming the
field); a required field with no document stays empty, so the form check refuses it (422 naming the field)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mso_flow.engine.model import FormField
from mso_flow.services.platform.failures import Invalid
from mso_flow.store import documents as store
from mso_flow.store.models import HumanTask


def with_file_fields(
    session: Session, task: HumanTask, form: tuple[FormField, ...], variables: dict[str, Any]
) -> dict[str, Any]:
    """`variables` with each file field set to the ids of its attached documents (left out when there are none)."""
    fields = [f for f in form if f.type == "file"]
    if not fields:
        return variables
    filled = dict(variables)
    errors = []
    for field in fields:
        attached = [d.id for d in store.attached(session, task.id, field.id)]
        sent = filled.pop(field.id, None)
        if sent is not None and (
            not isinstance(sent, list) or not all(isinstance(i, str) and i in attached for i in sent)
        ):
            errors.append(
                {
                    "field": field.id,
                    "message": f"{field.label}: ระบุได้เฉพาะเอกสารที่แนบกับช่องนี้ของงานนี้ "
                    "(only ids of documents attached to this field of this task)",
                }
            )
            continue
        chosen = sent if sent else attached
        if chosen:
            filled[field.id] = chosen
    if errors:
        raise Invalid(
            "invalid_variables",
            "ข้อมูลที่ส่งมาไม่ถูกต้อง ไม่มีการเปลี่ยนแปลงใด ๆ (invalid variables; nothing was changed)",
            errors,
        )
    return filled
