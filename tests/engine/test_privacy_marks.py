"""Personal data and secrecy marks in BPMN: read as Camunda Modeler writes them, checked by the one verdict, and
carried by the manual's processes that hold people's data (docs/manual-extraction/RULES.md, rule 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mso_flow.engine.model import BpmnInvalid, Problem, ProcessDef
from mso_flow.engine.parsing import MAX_RETENTION_DAYS, parse_document
from mso_flow.engine.verdict import check_document

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
MODELER = (ROOT / "tests" / "fixtures" / "modeler_leave_request.bpmn").read_bytes()
SARABAN = (BPMN_DIR / "central" / "central_saraban.bpmn").read_bytes()
SARABAN_SECRECY = b'<camunda:property name="secrecy_variable" value="secrecy"/>'
DAYS_FIELD = '<camunda:formField id="days" label="จำนวนวันลา" type="long">'.encode()
ALLOWED_FIELD = b'<camunda:formField id="allowed" label="'
PROCESS_PROPS = '<camunda:property name="unit_name" value="กองกลาง" />'.encode()


def _modeler(days: str = "", allowed: str = "", process: str = "") -> bytes:
    """The Modeler-made leave request with extra `camunda:property` elements in its two form fields (`days`,
    `allowed`) and in its process's properties."""
    assert DAYS_FIELD in MODELER and ALLOWED_FIELD in MODELER and PROCESS_PROPS in MODELER
    xml = MODELER.replace(DAYS_FIELD, DAYS_FIELD + f"\n<camunda:properties>{days}</camunda:properties>".encode())
    start = xml.index(ALLOWED_FIELD)
    end = xml.index(b">", start) + 1
    xml = xml[:end] + f"\n<camunda:properties>{allowed}</camunda:properties>".encode() + xml[end:]
    return xml.replace(PROCESS_PROPS, PROCESS_PROPS + process.encode())


def _model(xml: bytes) -> ProcessDef:
    [process] = parse_document(xml, "leave.bpmn")
    return process.definition


def _problems(xml: bytes) -> list[Problem]:
    """The errors that refuse `xml` (the fixture's composite lane is a warning beside them)."""
    with pytest.raises(BpmnInvalid) as caught:
        parse_document(xml, "f.bpmn")
    return [p for p in caught.value.problems if p.is_error]


def _line_of(xml: bytes, needle: str) -> int:
    return xml[: xml.index(needle.encode())].count(b"\n") + 1


# --- reading the marks -------------------------------------------------------------------------------------------


def test_modeler_field_properties_mark_personal_and_sensitive_fields() -> None:
    xml = _modeler(
        days='<camunda:property id="personal_data" value="true" />',
        allowed='<camunda:property id="sensitive" value="true" /><camunda:property id="note" value="x" />',
    )
    model = _model(xml)
    days, allowed = model.user_tasks[0].form[0], model.user_tasks[1].form[0]
    assert (days.id, days.personal, days.sensitive) == ("days", True, False)
    assert (allowed.id, allowed.personal, allowed.sensitive) == ("allowed", False, True)
    assert model.personal_variables == {"days", "allowed"}, "a sensitive field is personal data too"
    assert model.sensitive_variables == {"allowed"}
    assert model.confidential and model.secrecy_variable is None and model.retention_days is None
    assert days.as_dict()["personal"] is True and allowed.as_dict()["sensitive"] is True


def test_the_name_variant_of_camunda_property_marks_a_field_too() -> None:
    """Modeler writes `id=` in a form field's properties; a hand-written file may use `name=` as processes do."""
    xml = _modeler(
        days='<camunda:property name="personal_data" value="TRUE" />',
        allowed='<camunda:property name="sensitive" value=" true " />',
    )
    model = _model(xml)
    assert model.personal_variables == {"days", "allowed"} and model.sensitive_variables == {"allowed"}


def test_false_and_absent_marks_leave_a_field_unprotected() -> None:
    model = _model(_modeler(days='<camunda:property id="personal_data" value="false" />'))
    assert model.personal_variables == frozenset() and not model.confidential
    assert _model(MODELER).personal_variables == frozenset()


def test_process_properties_list_personal_data_a_start_or_message_brings() -> None:
    xml = _modeler(
        process=(
            '<camunda:property name="personal_data" value="citizen_id, phone  address" />'
            '<camunda:property name="sensitive_data" value="diagnosis" />'
            '<camunda:property name="retention_days" value="365" />'
        )
    )
    model = _model(xml)
    assert model.personal_variables == {"citizen_id", "phone", "address", "diagnosis"}
    assert model.sensitive_variables == {"diagnosis"}
    assert model.retention_days == 365 and model.confidential


def test_the_secrecy_variable_of_the_saraban_process() -> None:
    [process] = parse_document(SARABAN, "saraban.bpmn")
    model = process.definition
    assert model.secrecy_variable == "secrecy" and model.confidential
    [secrecy] = [f for t in model.user_tasks for f in t.form if f.id == "secrecy"]
    assert [value for value, _ in secrecy.enum] == ["normal", "confidential", "secret", "top_secret"]
    assert model.personal_variables == frozenset(), "a letter's fields are protected by its class, not marked"


# --- the checks of the one verdict -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "1", "", "ใช่"])
def test_a_field_mark_that_is_not_true_or_false_is_refused(value: str) -> None:
    xml = _modeler(days=f'<camunda:property id="personal_data" value="{value}" />')
    [problem] = _problems(xml)
    assert problem.line == _line_of(xml, f'<camunda:property id="personal_data" value="{value}"')
    assert problem.element_id == "Activity_0q3n1ab", "the task whose form holds the field"
    assert (
        "days" in problem.message
        and "true หรือ false" in problem.message
        and "must be true or false" in (problem.message)
    )


def test_the_name_variant_of_a_field_mark_is_checked_too() -> None:
    xml = _modeler(allowed='<camunda:property name="sensitive" value="maybe" />')
    [problem] = _problems(xml)
    assert problem.element_id == "Activity_1k9d0zz" and "'allowed'" in problem.message
    assert "sensitive" in problem.message and "'maybe'" in problem.message


@pytest.mark.parametrize("value", ["0", "-30", "thirty", "30.5", "๓๐", "", str(MAX_RETENTION_DAYS + 1)])
def test_retention_that_is_not_a_positive_whole_number_of_days_is_refused(value: str) -> None:
    xml = _modeler(process=f'<camunda:property name="retention_days" value="{value}" />')
    [problem] = _problems(xml)
    assert problem.element_id == "central_modeler_leave"
    assert problem.line == _line_of(xml, f'<camunda:property name="retention_days" value="{value}"')
    assert "จำนวนวันเต็มบวก" in problem.message and "positive whole number of days" in problem.message


@pytest.mark.parametrize("value", ["1", " 30 ", str(MAX_RETENTION_DAYS)])
def test_retention_in_days_is_accepted(value: str) -> None:
    assert _model(_modeler(process=f'<camunda:property name="retention_days" value="{value}" />')).retention_days == (
        int(value)
    )


@pytest.mark.parametrize("name", ["subject", "missing", "", "secrecy "])
def test_a_secrecy_variable_that_is_not_an_enum_form_field_is_refused(name: str) -> None:
    xml = SARABAN.replace(SARABAN_SECRECY, f'<camunda:property name="secrecy_variable" value="{name}"/>'.encode())
    [problem] = _problems(xml)
    assert problem.element_id == "central_saraban"
    assert problem.line == _line_of(xml, 'name="secrecy_variable"')
    assert "ชั้นความลับ" in problem.message and "must name an enum form field" in problem.message
    assert "importance, secrecy, speed" in problem.message, "the enum fields it could name"


def test_a_secrecy_variable_naming_another_enum_field_is_accepted() -> None:
    xml = SARABAN.replace(SARABAN_SECRECY, b'<camunda:property name="secrecy_variable" value="speed"/>')
    [process] = parse_document(xml, "f.bpmn")
    assert process.definition.secrecy_variable == "speed"


def test_a_listed_name_that_is_not_a_variable_is_refused() -> None:
    xml = _modeler(process='<camunda:property name="sensitive_data" value="diagnosis, ผลตรวจ" />')
    [problem] = _problems(xml)
    assert problem.element_id == "central_modeler_leave" and "'ผลตรวจ'" in problem.message
    assert "not a variable name" in problem.message


def test_the_verdict_reports_every_mark_problem_as_file_line_element_message() -> None:
    xml = _modeler(
        days='<camunda:property id="personal_data" value="yes" />',
        process='<camunda:property name="retention_days" value="0" /><camunda:property name="secrecy_variable" '
        'value="days" />',
    )
    verdict = check_document(xml, "leave.bpmn", simulate_runs=False)
    assert not verdict.ok and verdict.processes == []
    lines = sorted(str(p) for p in verdict.problems if p.is_error)
    assert len(lines) == 3
    for line in lines:
        assert re.match(r"^leave\.bpmn:[1-9][0-9]*: (Activity_0q3n1ab|central_modeler_leave): error: \S", line), line
    assert any("secrecy_variable 'days'" in line and "its enum fields: none" in line for line in lines)


# --- the manual's processes carry the marks ------------------------------------------------------------------------


def _process(relative: str) -> ProcessDef:
    path = BPMN_DIR / relative
    [process] = parse_document(path.read_bytes(), str(path))
    return process.definition


def test_the_hotline_marks_the_person_in_need_and_their_problem() -> None:
    model = _process("inspection/inspection_hotline_1300.bpmn")
    assert model.personal_variables == {
        "reporter_name",
        "problem",
        "contact_location",
        "result_normal",
        "result_urgent",
    }
    assert model.sensitive_variables == {"problem"}
    assert model.retention_days is None, "the manual states no retention: the service's default"


def test_the_trafficking_victim_process_marks_identity_contacts_and_the_account() -> None:
    model = _process("anti-trafficking/trafficking_victim_protection.bpmn")
    assert model.personal_variables == {
        "reporter",
        "person_in_need",
        "incident_place",
        "behaviour",
        "victim_name",
        "victim_age",
        "legal_status",
        "screening_opinion",
        "identification_result",
    }
    assert model.sensitive_variables == {"behaviour"}
    assert "๔.๑๑" in (model.documentation or ""), "the reading cites the section that requires confidentiality"


@pytest.mark.parametrize(
    ("relative", "personal"),
    [
        ("anti-trafficking/trafficking_fund_victim_assistance.bpmn", {"victim_name"}),
        ("anti-trafficking/trafficking_fund_reward.bpmn", {"claimant", "case_reference"}),
        ("central/central_transfer_in.bpmn", {"applicant"}),
        ("inspection/inspection_southern_remedy.bpmn", {"applicant_name", "applicant_id"}),
        ("inspection/inspection_complaints.bpmn", {"complaint", "analysis", "summary"}),
        ("anti-corruption/anticorruption_complaints.bpmn", {"complaint_subject", "handling_result"}),
        ("legal/legal_admin_order_appeal.bpmn", {"appeal_grounds"}),
    ],
)
def test_applicants_claimants_and_complainants_are_marked(relative: str, personal: set[str]) -> None:
    model = _process(relative)
    assert model.personal_variables == personal and model.sensitive_variables == frozenset()


def test_only_the_saraban_process_classes_letters_and_no_process_sets_a_retention() -> None:
    secrecy, retention = {}, {}
    for path in sorted(BPMN_DIR.rglob("*.bpmn")):
        for process in parse_document(path.read_bytes(), str(path)):
            model = process.definition
            if model.secrecy_variable:
                secrecy[model.key] = model.secrecy_variable
            if model.retention_days is not None:
                retention[model.key] = model.retention_days
    assert secrecy == {"central_saraban": "secrecy"}
    assert retention == {}
