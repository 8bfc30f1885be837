"""The reading rules of docs/manual-extraction/RULES.md hold on every file of bpmn/ (and on a Modeler-made one)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from lxml import etree

from mso_flow.engine.parsing import BPMN_NS, CAMUNDA_NS, parse_document
from mso_flow.engine.roles import load_role_map, split_composite

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
FILES = sorted(BPMN_DIR.rglob("*.bpmn"))
MODELER_FILE = ROOT / "tests" / "fixtures" / "modeler_leave_request.bpmn"
ROLES = load_role_map(BPMN_DIR / "roles.yaml")
PROPERTY = f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property"
WINDOW = re.compile(r"ต\.ค\.|พ\.ย\.|ธ\.ค\.|ม\.ค\.|ก\.พ\.|มี\.ค\.|เม\.ย\.|พ\.ค\.|มิ\.ย\.|ก\.ค\.|ส\.ค\.|ก\.ย\.|ไตรมาส")
LENGTH = re.compile(r"[0-9๐-๙]+\s*(เดือน|วัน|สัปดาห์|ปี|ชั่วโมง|นาที)")
WITHIN_PERIOD = re.compile(r"(ภายใน|ไม่เกิน)\s*(ระยะเวลา)?\s*[0-9๐-๙]+\s*(วัน|ชั่วโมง|เดือน|สัปดาห์)")


def _props(element: etree._Element) -> dict[str, str]:
    return {p.get("name") or "": p.get("value") or "" for p in element.iterfind(PROPERTY)}


def _elements(path: Path) -> list[etree._Element]:
    root = etree.parse(str(path)).getroot()
    return [el for el in root.iter() if isinstance(el.tag, str) and el.get("id")]


def check_provenance(path: Path) -> None:
    """Every element marked inferred says why; `source` is only ever "inferred"."""
    for element in _elements(path):
        props = _props(element)
        if "source" in props:
            assert props["source"] == "inferred", f"{element.get('id')}: source={props['source']!r}"
            assert len(props.get("inferred_reason", "").strip()) >= 3, f"{element.get('id')} has no inferred_reason"


def check_durations_and_deadlines(path: Path) -> None:
    """No "ภายใน X" period used as a standard duration; windows have no duration; days say how they count."""
    elements = {el.get("id"): el for el in _elements(path)}
    timers: dict[str, str] = {}
    for element in elements.values():
        if etree.QName(element).localname == "boundaryEvent":
            duration = element.findtext(f".//{{{BPMN_NS}}}timeDuration") or ""
            timers[element.get("attachedToRef") or ""] = duration.strip().strip("'\"")
    for task_id, element in elements.items():
        if etree.QName(element).localname != "userTask":
            continue
        props = _props(element)
        standard, deadline = props.get("standard_duration"), props.get("deadline")
        wording = props.get("manual_duration", "")
        where = f"{path.name}: {task_id}"
        if WITHIN_PERIOD.search(wording) or WITHIN_PERIOD.search(props.get("deadline_text", "")):
            assert deadline, f"{where}: '{wording}' is a time limit: give it as `deadline`, not a duration"
        if deadline:
            assert standard != deadline, f"{where}: the deadline {deadline} is also the standard duration"
            assert props.get("deadline_from") in ("receipt", "task"), f"{where}: deadline_from missing"
            if props["deadline_from"] == "receipt":
                assert task_id not in timers, f"{where}: a boundary timer counts from the task, not from receipt"
        if task_id in timers:
            assert deadline == timers[task_id], f"{where}: its boundary timer is not its deadline"
        if WINDOW.search(wording) and not LENGTH.search(wording):
            assert not standard, f"{where}: '{wording}' is a calendar window, not a duration"
        if standard and re.search(r"^P[^T]*[DW]", standard):
            assert props.get("duration_basis") in ("working", "calendar"), f"{where}: days without duration_basis"


FIELD_PROPERTY = f"{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property"


def check_marking_provenance(path: Path) -> None:
    """Rule 10: the manual marks no field, so every personal-data mark is a reading that says why
    (`marking_source=inferred`, `marking_reason`)."""
    root = etree.parse(str(path)).getroot()
    for field in root.iter(f"{{{CAMUNDA_NS}}}formField"):
        props = {(p.get("id") or p.get("name") or ""): p.get("value") or "" for p in field.iterfind(FIELD_PROPERTY)}
        where = f"{path.name}: form field {field.get('id')}"
        marked = any(props.get(mark, "").strip().lower() == "true" for mark in ("personal_data", "sensitive"))
        if marked or "marking_source" in props:
            assert marked, f"{where}: marking_source without a mark"
            assert props.get("marking_source") == "inferred", f"{where}: a mark the manual does not make is inferred"
            assert len(props.get("marking_reason", "").strip()) >= 3, f"{where} has no marking_reason"


RULE_CHECKS = (check_provenance, check_durations_and_deadlines, check_marking_provenance)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(BPMN_DIR).as_posix())
def test_the_reading_rules_hold(path: Path) -> None:
    for check in RULE_CHECKS:
        check(path)


def test_the_rules_hold_for_a_modeler_process() -> None:
    for check in RULE_CHECKS:
        check(MODELER_FILE)


def test_every_composite_lane_of_the_manual_has_roles(caplog: pytest.LogCaptureFixture) -> None:
    """No composite cell is split at deployment: the roles file names each one."""
    caplog.set_level(logging.WARNING)
    composite = set()
    for path in FILES:
        [process] = parse_document(path.read_bytes(), str(path), ROLES)
        model = process.definition
        assert model.split_lanes == (), f"{path.name}: add to bpmn/roles.yaml: {model.split_lanes}"
        for lane in model.lanes:
            if len(split_composite(lane)) > 1:
                composite.add(lane)
                assert model.lane_roles[lane] == ROLES.lanes[lane]
    assert len(composite) >= 30
    assert "not in the roles file" not in caplog.text


def test_the_rules_are_written_once_in_the_process_index() -> None:
    index = (ROOT / "docs" / "processes.md").read_text(encoding="utf-8")
    assert index.count("## Reading rules") == 1
    for rule in (
        "Approvals without a stated refusal",
        "Calendar windows",
        "Working days and calendar days",
        "Personal data and secrecy classes",
    ):
        assert rule in index
