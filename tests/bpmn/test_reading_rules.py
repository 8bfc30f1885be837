"""The reading rules of docs/manual-extraction/RULES.md hold on every file of bpmn/ (and on a Modeler-made one)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from lxml import etree

from mso_flow.engine.lane_roles import load_role_map, split_composite
from mso_flow.engine.parsing import BPMN_NS, CAMUNDA_NS, parse_document
from tools.manual_to_bpmn.model import is_long_text

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
FILES = sorted(BPMN_DIR.rglob("*.bpmn"))
MODELER_FILE = ROOT / "tests" / "fixtures" / "modeler_leave_request.bpmn"
ROLES = load_role_map(BPMN_DIR / "roles.yaml")
PROPERTY = f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property"
WINDOW = re.compile(
    r"ต\.ค\.|พ\.ย\.|ธ\.ค\.|ม\.ค\.|ก\.พ\.|มี\.ค\.|เม\.ย\.|พ\.ค\.|มิ\.ย\.|ก\.ค\.|ส\.ค\.|ก\.ย\.|ไตรมาส"
    r"|มกราคม|กุมภาพันธ์|มีนาคม|เมษายน|พฤษภาคม|มิถุนายน|กรกฎาคม|สิงหาคม|กันยายน|ตุลาคม|พฤศจิกายน|ธันวาคม"
)
LENGTH = re.compile(r"[0-9๐-๙]+\s*(เดือน|วัน|สัปดาห์|ปี|ชั่วโมง|นาที)")
WITHIN_PERIOD = re.compile(r"(ภายใน|ไม่เกิน)\s*(ระยะเวลา)?\s*[0-9๐-๙]+(\s*-\s*[0-9๐-๙]+)?\s*(วัน|ชั่วโมง|เดือน|สัปดาห์)")


def _props(element: etree._Element) -> dict[str, str]:
    return {p.get("name") or "": p.get("value") or "" for p in element.iterfind(PROPERTY)}


def _elements(path: Path) -> list[etree._Element]:
    root = etree.parse(str(path)).getroot()
    return [el for el in root.iter() if isinstance(el.tag, str) and el.get("id")]


def check_provenance(path: Path) -> None:
    """Every element marked inferred says why; `source` is only ever "inferred"; a message start of a process read
    from the manual is inferred (the manual draws only เริ่มต้น)."""
    read_from_manual = any(
        "manual_lines" in _props(p) for p in _elements(path) if etree.QName(p).localname == "process"
    )
    for element in _elements(path):
        props = _props(element)
        if "source" in props:
            assert props["source"] == "inferred", f"{element.get('id')}: source={props['source']!r}"
            assert len(props.get("inferred_reason", "").strip()) >= 3, f"{element.get('id')} has no inferred_reason"
        message_start = element.find(f"{{{BPMN_NS}}}messageEventDefinition") is not None
        if read_from_manual and etree.QName(element).localname == "startEvent" and message_start:
            assert props.get("source") == "inferred", f"{path.name}: {element.get('id')}: a message start is a reading"


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
        if standard and re.search(r"^P[^T]*[DWMY]", standard):
            assert props.get("duration_basis") in ("working", "calendar"), (
                f"{where}: days, weeks or months without duration_basis"
            )
        if standard and re.search(r"^P[^T]*[MY]", standard) and not deadline:
            assert props["duration_basis"] == "calendar", f"{where}: months are calendar months"


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


ATTACHING = re.compile(r"สแกน|แนบไฟล์|พร้อมแนบ|พร้อมรายละเอียดแนบท้าย")
# steps whose text attaches something that is not a document of the case (rule 12): a QR code printed in a letter,
# papers the step receives from the step that attached them
NOT_A_CASE_DOCUMENT = {
    ("central_royal_ceremony.bpmn", "Task_invite"),
    ("institute_training.bpmn", "Task_before_training"),
    ("trafficking_fund_project_large.bpmn", "Task_receive_contract"),
    ("trafficking_fund_project_small.bpmn", "Task_receive_contract"),
}


def check_documents(path: Path) -> None:
    """Rule 12: a step that scans, attaches a file or sends with documents attached has a `file` field; a file field
    the manual does not name as a file (แนบไฟล์) is inferred and says why."""
    root = etree.parse(str(path)).getroot()
    for task in root.iter(f"{{{BPMN_NS}}}userTask"):
        text = f"{task.get('name') or ''} {task.findtext(f'{{{BPMN_NS}}}documentation') or ''}"
        fields = [f for f in task.iter(f"{{{CAMUNDA_NS}}}formField") if f.get("type") == "file"]
        where = f"{path.name}: {task.get('id')}"
        if ATTACHING.search(text) and (path.name, task.get("id")) not in NOT_A_CASE_DOCUMENT:
            assert fields, f"{where}: the step attaches a document: give it a file field (rule 12)"
        for field in fields:
            props = {p.get("id") or "": p.get("value") or "" for p in field.iterfind(FIELD_PROPERTY)}
            if "แนบไฟล์" not in text:
                assert props.get("source") == "inferred", f"{where}: {field.get('id')} implies the file: inferred"
            if "source" in props:
                assert len(props.get("inferred_reason", "").strip()) >= 3, f"{where}: {field.get('id')} says not why"


def check_long_text(path: Path) -> None:
    """Rule 13: a text field whose label names a passage (orders, opinions, reports, …) is multiline, no other."""
    root = etree.parse(str(path)).getroot()
    for field in root.iter(f"{{{CAMUNDA_NS}}}formField"):
        props = {(p.get("id") or p.get("name") or ""): p.get("value") or "" for p in field.iterfind(FIELD_PROPERTY)}
        expected = is_long_text(field.get("type") or "string", field.get("label") or "")
        assert (props.get("multiline") == "true") == expected, (
            f"{path.name}: form field {field.get('id')} ({field.get('label')}): multiline should be {expected}"
        )


RULE_CHECKS = (
    check_provenance,
    check_durations_and_deadlines,
    check_marking_provenance,
    check_documents,
    check_long_text,
)


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


# --- the cases the review found read unevenly, now read under the rules ------------------------------------------


def _element(relative: str, element_id: str) -> etree._Element | None:
    root = etree.parse(str(BPMN_DIR / relative)).getroot()
    return next((el for el in root.iter() if isinstance(el.tag, str) and el.get("id") == element_id), None)


@pytest.mark.parametrize(
    ("relative", "element_id"),
    [
        ("anti-trafficking/trafficking_ngo_certification.bpmn", "Flow_5"),  # incomplete documents (line 2344)
        ("anti-trafficking/trafficking_ngo_certification.bpmn", "EndEvent_end_unqualified"),  # line 2341
        ("anti-trafficking/trafficking_national_committee_meeting.bpmn", "Gateway_seating_plan"),  # "(หากมี)", 2591
        ("inspection/inspection_hotline_1300.bpmn", "StartEvent_1"),  # the e-service's message start
    ],
)
def test_what_the_manual_does_not_state_is_marked_inferred(relative: str, element_id: str) -> None:
    element = _element(relative, element_id)
    assert element is not None
    assert _props(element).get("source") == "inferred"


def test_an_approval_diamond_without_outcomes_is_a_task() -> None:
    """institute_training line 4088 (a diamond with one arrow) reads like line 4084: a task, no gateway."""
    assert _element("phrapracha-institute/institute_training.bpmn", "Task_course_approval") is not None
    assert _element("phrapracha-institute/institute_training.bpmn", "Gateway_course_approval") is None


def test_month_names_are_windows_and_a_range_with_ไม่เกิน_is_a_calendar_deadline() -> None:
    root = etree.parse(str(BPMN_DIR / "academic-offices" / "academic_knowledge_management.bpmn")).getroot()
    tasks = list(root.iter(f"{{{BPMN_NS}}}userTask"))
    assert tasks and all("standard_duration" not in _props(t) for t in tasks)
    attend = _props(_element("legal/legal_admin_case_defense.bpmn", "Task_attend"))  # line 1492
    assert (attend.get("standard_duration"), attend["deadline"], attend["duration_basis"]) == (None, "P3D", "calendar")


# free text the office writes about a person, and the person's contacts for the hotline's field visit (rule 10)
FREE_TEXT_ABOUT_A_PERSON = [
    ("inspection/inspection_hotline_1300.bpmn", "result_normal"),
    ("inspection/inspection_hotline_1300.bpmn", "result_urgent"),
    ("inspection/inspection_hotline_1300.bpmn", "contact_location"),
    ("anti-trafficking/trafficking_victim_protection.bpmn", "screening_opinion"),
    ("anti-trafficking/trafficking_victim_protection.bpmn", "identification_result"),
    ("anti-trafficking/trafficking_victim_protection.bpmn", "legal_status"),
    ("legal/legal_admin_case_defense.bpmn", "case_title"),
    ("legal/legal_admin_case_defense.bpmn", "judgment_summary"),
    ("anti-corruption/anticorruption_complaints.bpmn", "handling_result"),
    ("inspection/inspection_complaints.bpmn", "analysis"),
    ("inspection/inspection_complaints.bpmn", "summary"),
    ("anti-trafficking/trafficking_fund_reward.bpmn", "case_reference"),
]


@pytest.mark.parametrize(("relative", "field"), FREE_TEXT_ABOUT_A_PERSON)
def test_free_text_about_a_person_is_personal_data(relative: str, field: str) -> None:
    [process] = parse_document((BPMN_DIR / relative).read_bytes(), relative)
    assert field in process.definition.personal_variables


def test_the_hotline_asks_where_the_person_is_before_the_field_visit() -> None:
    """Steps ๔–๕ send an agency to the person: the record of step ๓ holds their address, place and contacts."""
    [process] = parse_document((BPMN_DIR / "inspection" / "inspection_hotline_1300.bpmn").read_bytes(), "hotline")
    [record] = [t for t in process.definition.user_tasks if t.element_id == "Task_record"]
    [field] = [f for f in record.form if f.id == "contact_location"]
    assert field.required and field.personal
