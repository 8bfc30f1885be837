"""Small BPMN documents for tests, generated with the same builder as the manual's processes."""

from __future__ import annotations

from typing import Any

from tools.manual_to_bpmn.bpmn_writer import write_bpmn
from tools.manual_to_bpmn.model import ProcessReading


def reading(
    key: str, steps: list[dict[str, Any]], lanes: list[dict[str, str]] | None = None, **extra: Any
) -> ProcessReading:
    """A process reading with sensible defaults; each step needs at least id, name, lane."""
    return ProcessReading.model_validate(
        {
            "key": key,
            "unit": "test",
            "unit_name": "หน่วยทดสอบ",
            "name": f"กระบวนการทดสอบ {key}",
            "source": {"section": "test", "lines": [1, 2], "basis": "flowchart"},
            "lanes": lanes or [{"id": "staff", "name": "เจ้าหน้าที่"}],
            "steps": steps,
            **extra,
        }
    )


def bpmn(key: str, steps: list[dict[str, Any]], lanes: list[dict[str, str]] | None = None, **extra: Any) -> bytes:
    return write_bpmn(reading(key, steps, lanes, **extra))


def approval(key: str = "test_approval", condition: str = "amount > 50000") -> bytes:
    """Enter an amount; large amounts need a director's approval."""
    return bpmn(
        key,
        [
            {
                "id": "enter",
                "name": "กรอกจำนวนเงิน",
                "lane": "staff",
                "duration": "P1D",
                "form": [{"id": "amount", "label": "จำนวนเงิน", "type": "long", "required": True}],
                "decision": {
                    "name": "เกินวงเงินหรือไม่",
                    "branches": [
                        {"name": "เกินวงเงิน", "condition": condition, "to": "approve"},
                        {"name": "ไม่เกิน", "default": True, "to": "end"},
                    ],
                },
            },
            {"id": "approve", "name": "ผู้อำนวยการอนุมัติ", "lane": "director", "duration": "PT4H", "next": "end"},
        ],
        lanes=[{"id": "staff", "name": "เจ้าหน้าที่"}, {"id": "director", "name": "ผู้อำนวยการ"}],
    )
