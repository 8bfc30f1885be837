"""Validation of BPMN documents: precise problems, and what designers type in a modeler."""

from __future__ import annotations

import re

import pytest

from mso_flow.domain import Severity
from mso_flow.engine.expressions import timer_literal, translate_juel
from mso_flow.engine.lane_roles import load_role_map
from mso_flow.engine.model import BpmnInvalid
from mso_flow.engine.parsing import parse_document, read_document
from tests.conftest import BPMN_DIR, SARABAN
from tests.factory import approval


def _problems(xml: bytes) -> list:
    with pytest.raises(BpmnInvalid) as caught:
        parse_document(xml, "f.bpmn")
    return caught.value.problems


def test_the_manual_process_parses_with_its_facts():
    [process] = parse_document(SARABAN.read_bytes(), "saraban.bpmn")
    model = process.definition
    assert model.key == "central_saraban"
    assert model.name == "การบริหารงานสารบรรณ"
    assert model.unit == "กองกลาง"
    assert model.lanes == ("เจ้าหน้าที่งานสารบรรณ", "หัวหน้าฝ่ายสารบรรณ/ผอ.กก.", "เจ้าของเรื่อง")
    assert len(model.user_tasks) == 8
    check = model.user_task("Task_check")
    assert check.standard_duration == "PT1M" and check.manual_duration == "๑ นาที"
    assert [(f.id, f.type, f.required) for f in check.form] == [("documents_complete", "boolean", True)]
    assert model.properties["kpi"].startswith("๑) การรับ - ส่ง หนังสือ")


def test_not_xml_names_the_line():
    [problem] = _problems(b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\n<oops')
    assert problem.file == "f.bpmn" and problem.line == 2 and "not well-formed" in problem.message


def test_schema_errors_are_reported_with_lines():
    xml = SARABAN.read_bytes().replace(b'<bpmn:userTask id="Task_send"', b'<bpmn:userTask bogus="1" id="Task_send"')
    problems = _problems(xml)
    assert problems[0].line and "bogus" in problems[0].message


def _warnings(xml: bytes) -> list:
    document = read_document(xml, "f.bpmn", load_role_map(BPMN_DIR / "roles.yaml"))  # the service's roles file
    assert all(p.severity == Severity.WARNING for p in document.warnings)
    return document.warnings


def test_user_task_outside_any_lane_deploys_with_a_warning_that_an_admin_works_it():
    xml = SARABAN.read_bytes().replace(b"<bpmn:flowNodeRef>Task_send</bpmn:flowNodeRef>", b"")
    [problem] = _warnings(xml)
    assert problem.element_id == "Task_send" and "lane" in problem.message and problem.line
    assert "only an admin works it" in problem.message


def test_non_ascii_ids_deploy_with_a_warning():
    xml = SARABAN.read_bytes().replace(b'"Task_send"', '"งาน_ส่ง"'.encode())
    problems = _warnings(xml)
    assert any(p.element_id == "งาน_ส่ง" and "ASCII" in p.message for p in problems)


@pytest.mark.parametrize("reserved", ["Start", "End"])
def test_an_id_spiffworkflow_gives_its_own_task_is_refused_with_the_element(reserved):
    xml = SARABAN.read_bytes().replace(b'"Task_send"', f'"{reserved}"'.encode())
    [problem] = _problems(xml)
    assert problem.element_id == reserved and "SpiffWorkflow gives its own" in problem.message and problem.line


def test_condition_that_does_not_compile_is_refused_at_deployment():
    problems = _problems(approval(condition="amount >"))
    assert any("does not compile" in p.message and p.element_id and p.element_id.startswith("Flow_") for p in problems)


def test_condition_cannot_reach_outside_the_sandbox():
    problems = _problems(approval(condition="__import__('os').system('id') == 0"))
    assert any("does not compile" in p.message for p in problems)


def test_juel_conditions_are_translated():
    [process] = parse_document(approval(condition="${amount gt 50000 && !rejected}"), "f.bpmn")
    assert process.definition.key == "test_approval"
    assert translate_juel("${amount > 50000}") == "amount > 50000"
    assert translate_juel("${a == true || b != null}") == "a == True or b != None"
    assert translate_juel("amount > 5") is None


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("timeDuration", "PT24H"),
        ("timeDuration", "P7D"),
        ("timeDate", "2026-12-01T09:00:00+07:00"),
        ("timeCycle", "R3/PT1H"),
    ],
)
def test_timer_text_as_designers_type_it_is_normalised(kind, text):
    assert timer_literal(kind, text) == repr(text)


def test_gateway_flow_without_condition_or_default_is_refused_by_the_engine_and_named_by_the_style_rule():
    xml = re.sub(rb' default="Flow_\d+"', b"", approval())
    style, engine = _problems(xml)
    assert style.severity == Severity.WARNING and "(conditional-flows)" in style.message
    assert engine.severity == Severity.ERROR and engine.element_id == "Flow_4" and "without condition" in engine.message
    assert style.element_id == "Flow_4" and style.line
