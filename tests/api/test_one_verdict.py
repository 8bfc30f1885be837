"""One verdict for designers, on every face: errors refuse (a condition naming a value an enum field does not have,
a condition that does not compile, a flow to nothing), warnings deploy and stay with the version (a variable no form
supplies, a branch no value tried takes, a loop only an exact free text leaves). `mso-flow validate`,
`POST /api/v1/deployments` and `/engine-rest/deployment/create` give the same lines with their severity."""

from __future__ import annotations

import base64
import subprocess

import pytest

from tests.api.test_designers import MODELER_XML
from tests.cli import run_cli

SECRECY = """<camunda:formField id="secrecy" label="ชั้นความลับ" type="enum">
            <camunda:value id="normal" name="ปกติ" />
            <camunda:value id="top_secret" name="ลับที่สุด" />
          </camunda:formField>
          <camunda:formField id="days" """
WITH_ENUM = MODELER_XML.replace('<camunda:formField id="days" ', SECRECY, 1)

ERRORS = {
    "misspelt_enum.bpmn": (
        WITH_ENUM.replace("${days &gt; 3}", "secrecy == 'topsecret'"),
        "Flow_long",
        ["'topsecret'", "top_secret", "ไม่อยู่ในตัวเลือก"],
    ),
    "does_not_compile.bpmn": (MODELER_XML.replace("${days &gt; 3}", "days &gt; &gt; 3"), "Flow_long", ["compile"]),
    "flow_to_nothing.bpmn": (
        MODELER_XML.replace('targetRef="Event_reminded" />', 'targetRef="Event_nowhere" />'),
        "Flow_4",
        ["'Event_nowhere', which does not exist"],
    ),
}
WARNINGS = {
    "misspelt_variable.bpmn": (
        MODELER_XML.replace("${days &gt; 3}", "${dayz &gt; 3}"),
        "Flow_long",
        ["'dayz'", "ตัวแปร dayz", "the API start, an external task's worker"],
    ),
    "never_true.bpmn": (
        MODELER_XML.replace("${days &gt; 3}", "days &gt; 3 and days &lt; 2"),
        "Flow_long",
        ["no value the simulation tried takes this flow", "ไม่มีค่าใดที่ลองแล้วผ่านเส้นทางนี้"],
    ),
}


def _lines(problems: list[dict]) -> list[str]:
    return sorted(
        f"{p['file']}:{p['line'] or 0}: {p['element_id'] or '-'}: {p['severity']}: {p['message']}" for p in problems
    )


def _validate(tmp_path, name: str, xml: str, *options: str) -> subprocess.CompletedProcess:
    (tmp_path / name).write_text(xml, encoding="utf-8")
    return run_cli("validate", *options, name, cwd=tmp_path)


def _basic(username: str, token_header: dict[str, str]) -> dict[str, str]:
    token = token_header["Authorization"].removeprefix("Bearer ")
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()}


def _modeler_deploy(client, headers: dict[str, str], name: str, xml: str):
    return client.post(
        "/engine-rest/deployment/create",
        headers=headers,
        data={"deployment-name": name, "deployment-source": "Camunda Modeler"},
        files=[(name, (name, xml.encode(), "text/xml"))],
    )


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_an_error_is_refused_alike_by_validate_the_api_and_camunda_modeler(client, make_user, tmp_path, name):
    xml, element_id, words = ERRORS[name]
    designer = make_user("designer1", "designer")
    response = client.post("/api/v1/deployments", headers=designer, files=[("files", (name, xml.encode()))])
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "urn:mso-flow:problem:invalid_bpmn"
    problems = response.json()["errors"]
    mine = [p for p in problems if p["element_id"] == element_id and p["severity"] == "error"]
    assert mine, problems
    assert all(word in mine[0]["message"] for word in words), mine[0]["message"]
    line = next(i for i, text in enumerate(xml.splitlines(), 1) if f'id="{element_id}"' in text)
    assert line <= mine[0]["line"] <= line + 3
    assert client.get("/api/v1/process-definitions", headers=designer).json()["total"] == 0

    cli = _validate(tmp_path, name, xml)
    assert cli.returncode == 1
    assert sorted(cli.stdout.splitlines()) == _lines(problems)

    modeler = _modeler_deploy(client, _basic("designer1", designer), name, xml)
    assert modeler.status_code == 400, modeler.text
    assert modeler.json()["type"] == "ParseException"
    details = modeler.json()["details"][name]
    assert [e["mainElementId"] for e in details["errors"]] == [
        p["element_id"] for p in problems if p["severity"] == "error"
    ]
    assert client.get("/api/v1/process-definitions", headers=designer).json()["total"] == 0


@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_a_warning_deploys_alike_through_the_api_and_camunda_modeler_and_stays_with_the_version(
    client, make_user, tmp_path, name
):
    xml, element_id, words = WARNINGS[name]
    designer = make_user("designer1", "designer")
    cli = _validate(tmp_path, name, xml)
    assert cli.returncode == 0, cli.stdout
    lines = sorted(cli.stdout.splitlines())
    assert lines and all(": warning: " in line for line in lines)
    assert _validate(tmp_path, name, xml, "--strict").returncode == 1

    modeler = _modeler_deploy(client, _basic("designer1", designer), name, xml)
    assert modeler.status_code == 200, modeler.text
    assert list(modeler.json()["deployedProcessDefinitions"]) == ["leave_request:1"]
    shown = client.get("/api/v1/process-definitions/leave_request", headers=designer).json()
    assert _lines(shown["warnings"]) == lines
    mine = next(w for w in shown["warnings"] if w["element_id"] == element_id)
    assert all(word in mine["message"] for word in words), mine["message"]

    again = client.post("/api/v1/deployments", headers=designer, files=[("files", (name, xml.encode()))])
    assert again.status_code == 200, again.text  # the same file: the version Modeler deployed, with its warnings
    assert sorted(again.json()["warnings"]) == lines
    [definition] = again.json()["definitions"]
    assert definition["id"] == "leave_request:1" and _lines(definition["warnings"]) == lines
    version = client.get("/api/v1/process-definitions/leave_request/versions", headers=designer).json()["items"]
    assert _lines(version[0]["warnings"]) == lines


def test_a_correct_enum_condition_deploys_without_a_warning_and_runs(client, make_user):
    designer = make_user("designer1", "designer")
    staff = make_user("somchai", "เจ้าหน้าที่")
    xml = WITH_ENUM.replace("${days &gt; 3}", "secrecy == 'top_secret'")
    response = client.post("/api/v1/deployments", headers=designer, files=[("files", ("leave.bpmn", xml.encode()))])
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == [] and response.json()["definitions"][0]["warnings"] == []
    started = client.post("/api/v1/process-definitions/leave_request/start", headers=staff, json={}).json()
    task_id = started["active_tasks"][0]["id"]
    done = client.post(
        f"/api/v1/tasks/{task_id}/complete", headers=staff, json={"variables": {"days": 1, "secrecy": "top_secret"}}
    )
    assert done.status_code == 200, done.text
    assert [t["element_id"] for t in done.json()["instance"]["active_tasks"]] == ["Activity_approve"]


# A newcomer's review: the decision is typed (a string field), the gateway tests it with JUEL, and the approved
# letter is filed by a plain task nobody works.
NEWCOMER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  id="Definitions_newcomer" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="newcomer_review" name="ตรวจร่างหนังสือ" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_staff" name="เจ้าหน้าที่">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Gateway_decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_fix</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_file</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_1</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Task_review" name="พิจารณาร่าง">
      <bpmn:extensionElements>
        <camunda:formData><camunda:formField id="decision" label="ผลการพิจารณา" type="string" /></camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="Gateway_decide" name="อนุมัติ?" default="Flow_fix" />
    <bpmn:userTask id="Task_fix" name="แก้ไขร่าง" />
    <bpmn:task id="Task_file" name="เก็บเข้าแฟ้ม" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_review" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_review" targetRef="Gateway_decide" />
    <bpmn:sequenceFlow id="Flow_ok" sourceRef="Gateway_decide" targetRef="Task_file">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${decision == "อนุมัติ"}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_fix" sourceRef="Gateway_decide" targetRef="Task_fix" />
    <bpmn:sequenceFlow id="Flow_back" sourceRef="Task_fix" targetRef="Task_review" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_file" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_newcomers_free_text_decision_deploys_with_one_warning_naming_the_flow_and_runs(client, make_user):
    designer = make_user("designer1", "designer")
    staff = make_user("somchai", "เจ้าหน้าที่")
    response = client.post(
        "/api/v1/deployments", headers=designer, files=[("files", ("review.bpmn", NEWCOMER.encode()))]
    )
    assert response.status_code == 201, response.text
    [warning] = response.json()["definitions"][0]["warnings"]
    assert (warning["element_id"], warning["severity"]) == ("Flow_ok", "warning")
    assert "only the exact text 'อนุมัติ'" in warning["message"] and "enum" in warning["message"]
    assert response.json()["warnings"] == [f"review.bpmn:{warning['line']}: Flow_ok: warning: {warning['message']}"]

    instance = client.post("/api/v1/process-definitions/newcomer_review/start", headers=staff, json={}).json()

    def complete(variables: dict) -> dict:
        [task] = instance["active_tasks"] if not done else done[-1]["instance"]["active_tasks"]
        result = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=staff, json={"variables": variables})
        assert result.status_code == 200, result.text
        done.append(result.json())
        return result.json()["instance"]

    done: list[dict] = []
    assert [t["element_id"] for t in complete({"decision": "แก้ไขย่อหน้าสอง"})["active_tasks"]] == ["Task_fix"]
    assert [t["element_id"] for t in complete({})["active_tasks"]] == ["Task_review"]
    assert complete({"decision": "อนุมัติ"})["state"] == "completed"  # the plain task passed through
