"""Process designers: deploy modeler-made BPMN, get precise errors (the same as `mso-flow validate`), keep versions
apart for running instances, compare versions and migrate an instance."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli

LEAVE = "ขออนุมัติลา"
# As Camunda Modeler 5 writes it: bpmn.io ids, camunda:formData, candidateGroups, an unquoted timer, a JUEL condition.
MODELER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_0x1kq2m"
  targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.28.0"
  modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.22.0">
  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="Participant_1" name="ขออนุมัติลา" processRef="leave_request" />
  </bpmn:collaboration>
  <bpmn:process id="leave_request" name="ขออนุมัติลา" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_staff" name="เจ้าหน้าที่">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_request</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Gateway_days</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Event_end</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_director" name="ผู้อำนวยการกอง">
        <bpmn:flowNodeRef>Activity_approve</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Event_0remind</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" name="เริ่มต้น">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Activity_request" name="ยื่นใบลา" camunda:candidateGroups="ผู้ช่วยเจ้าหน้าที่">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="days" label="จำนวนวันลา" type="long">
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
        </camunda:formData>
        <camunda:properties><camunda:property name="standard_duration" value="P1D" /></camunda:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="Gateway_days" name="ลาเกิน ๓ วัน?" default="Flow_short">
      <bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_long</bpmn:outgoing>
      <bpmn:outgoing>Flow_short</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="Activity_approve" name="ผู้อำนวยการอนุมัติ">
      <bpmn:incoming>Flow_long</bpmn:incoming>
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Event_0remind" name="เกิน ๒๔ ชั่วโมง" cancelActivity="false" attachedToRef="Activity_approve">
      <bpmn:outgoing>Flow_4</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerEventDefinition_1"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">PT24H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="Event_end" name="สิ้นสุด">
      <bpmn:incoming>Flow_join</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="Event_reminded" name="เตือนแล้ว">
      <bpmn:incoming>Flow_4</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:exclusiveGateway id="Gateway_join">
      <bpmn:incoming>Flow_short</bpmn:incoming>
      <bpmn:incoming>Flow_3</bpmn:incoming>
      <bpmn:outgoing>Flow_join</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_request" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_request" targetRef="Gateway_days" />
    <bpmn:sequenceFlow id="Flow_long" name="เกิน" sourceRef="Gateway_days" targetRef="Activity_approve">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${days &gt; 3}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_short" name="ไม่เกิน" sourceRef="Gateway_days" targetRef="Gateway_join" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_approve" targetRef="Gateway_join" />
    <bpmn:sequenceFlow id="Flow_join" sourceRef="Gateway_join" targetRef="Event_end" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Event_0remind" targetRef="Event_reminded" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Collaboration_1">
      <bpmndi:BPMNShape id="Participant_1_di" bpmnElement="Participant_1" isHorizontal="true">
        <dc:Bounds x="120" y="60" width="760" height="320" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_staff_di" bpmnElement="Lane_staff" isHorizontal="true">
        <dc:Bounds x="150" y="60" width="730" height="160" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_director_di" bpmnElement="Lane_director" isHorizontal="true">
        <dc:Bounds x="150" y="220" width="730" height="160" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="192" y="122" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Activity_request_di" bpmnElement="Activity_request">
        <dc:Bounds x="270" y="100" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Gateway_days_di" bpmnElement="Gateway_days" isMarkerVisible="true">
        <dc:Bounds x="415" y="115" width="50" height="50" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Activity_approve_di" bpmnElement="Activity_approve">
        <dc:Bounds x="520" y="260" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Event_0remind_di" bpmnElement="Event_0remind">
        <dc:Bounds x="552" y="322" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Event_reminded_di" bpmnElement="Event_reminded">
        <dc:Bounds x="682" y="322" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Gateway_join_di" bpmnElement="Gateway_join" isMarkerVisible="true">
        <dc:Bounds x="675" y="115" width="50" height="50" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Event_end_di" bpmnElement="Event_end">
        <dc:Bounds x="792" y="122" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_1_di" bpmnElement="Flow_1">
        <di:waypoint x="228" y="140" /><di:waypoint x="270" y="140" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_2_di" bpmnElement="Flow_2">
        <di:waypoint x="370" y="140" /><di:waypoint x="415" y="140" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_long_di" bpmnElement="Flow_long">
        <di:waypoint x="440" y="165" /><di:waypoint x="440" y="300" /><di:waypoint x="520" y="300" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_short_di" bpmnElement="Flow_short">
        <di:waypoint x="465" y="140" /><di:waypoint x="675" y="140" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_3_di" bpmnElement="Flow_3">
        <di:waypoint x="620" y="300" /><di:waypoint x="700" y="300" /><di:waypoint x="700" y="165" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_join_di" bpmnElement="Flow_join">
        <di:waypoint x="725" y="140" /><di:waypoint x="792" y="140" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_4_di" bpmnElement="Flow_4">
        <di:waypoint x="588" y="340" /><di:waypoint x="682" y="340" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


@pytest.fixture
def people(make_user):
    return {
        "designer": make_user("designer1", "designer"),
        "admin": make_user("root", "admin"),
        "integrator": make_user("integrator1", "integrator"),
        "staff": make_user("somchai", "เจ้าหน้าที่"),
        "helper": make_user("somsri", "ผู้ช่วยเจ้าหน้าที่"),
        "director": make_user("director", "ผู้อำนวยการกอง"),
    }


def _deploy(client, headers, *files):
    return client.post(
        "/api/v1/deployments",
        headers=headers,
        files=[("files", (name, data, "application/xml")) for name, data in files],
    )


def _start(client, people, key="leave_request"):
    response = client.post(f"/api/v1/process-definitions/{key}/start", headers=people["integrator"], json={})
    assert response.status_code == 201, response.text
    return response.json()


def _complete(client, headers, task_id, variables):
    response = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def test_modeler_file_deploys_runs_and_comes_back_byte_for_byte(client, people):
    deployed = _deploy(client, people["designer"], ("leave.bpmn", MODELER_XML.encode()))
    assert deployed.status_code == 201, deployed.text
    assert deployed.json()["created"] == ["leave_request:1"]
    xml = client.get("/api/v1/process-definitions/leave_request/xml", headers=people["staff"])
    assert xml.content == MODELER_XML.encode()
    detail = client.get("/api/v1/process-definitions/leave_request", headers=people["staff"]).json()
    request = next(t for t in detail["user_tasks"] if t["element_id"] == "Activity_request")
    assert request["candidate_roles"] == ["เจ้าหน้าที่", "ผู้ช่วยเจ้าหน้าที่"]
    assert request["standard_duration"] == "P1D"
    assert request["form"][0]["id"] == "days" and request["form"][0]["required"] is True

    instance = _start(client, people)
    task = instance["active_tasks"][0]
    done = _complete(client, people["helper"], task["id"], {"days": 5})  # candidateGroups role may work it
    assert [t["element_id"] for t in done["instance"]["active_tasks"]] == ["Activity_approve"]
    short = _start(client, people)
    done = _complete(client, people["staff"], short["active_tasks"][0]["id"], {"days": 2})
    assert done["instance"]["state"] == "completed"
    assert _deploy(client, people["staff"], ("leave.bpmn", MODELER_XML.encode())).status_code == 403


BROKEN = {
    "bad_condition.bpmn": (
        lambda x: x.replace("${days &gt; 3}", "days &gt;&gt; 3 +"),
        "Flow_long",
        "condition",
    ),
    "bad_timer.bpmn": (lambda x: x.replace(">PT24H<", ">tomorrow morning<"), "Event_0remind", "timer"),
    "unconditioned.bpmn": (
        lambda x: x.replace(' default="Flow_short"', ""),
        "Flow_short",
        "neither a condition nor is the gateway's default",
    ),
    "dangling.bpmn": (
        lambda x: x.replace('targetRef="Event_reminded" />', 'targetRef="Event_nowhere" />'),
        "Flow_4",
        "'Event_nowhere', which does not exist",
    ),
    "bad_form.bpmn": (lambda x: x.replace('type="long"', 'type="money"'), "Activity_request", "type 'money'"),
}


def _lines(problems):
    return sorted(
        f"{p['file']}:{p['line'] or 0}: {p['element_id'] or '-'}: {p['severity']}: {p['message']}" for p in problems
    )


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_get_precise_errors_and_deploy_nothing(client, people, tmp_path, name):
    change, element_id, words = BROKEN[name]
    broken = change(MODELER_XML)
    assert broken != MODELER_XML
    good = MODELER_XML.replace('id="leave_request"', 'id="leave_other"').replace(
        'processRef="leave_request"', 'processRef="leave_other"'
    )
    response = _deploy(client, people["designer"], ("good.bpmn", good.encode()), (name, broken.encode()))
    assert response.status_code == 422, response.text
    problems = response.json()["errors"]
    assert any(p["file"] == name and p["element_id"] == element_id and words in p["message"] for p in problems), (
        problems
    )
    mine = next(p for p in problems if p["element_id"] == element_id)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if f'id="{element_id}"' in text)
    assert line <= mine["line"] <= line + 3, "the element's line, or the line of its faulty child"
    listed = client.get("/api/v1/process-definitions", headers=people["staff"]).json()
    assert listed["total"] == 0, "nothing deployed, not even the good file"

    path = tmp_path / name
    path.write_text(broken, encoding="utf-8")
    cli = run_cli("validate", name, cwd=tmp_path)
    assert cli.returncode == 1
    assert sorted(cli.stdout.splitlines()) == _lines([p for p in problems if p["file"] == name])


def _version_two(xml: str) -> str:
    """Version 2: the director's approval becomes a review by the head of section, in the same place."""
    return xml.replace('name="ผู้อำนวยการอนุมัติ"', 'name="หัวหน้ากลุ่มตรวจสอบ"').replace("Activity_approve", "Activity_review")


def test_versions_are_kept_apart_and_compared(client, people):
    assert _deploy(client, people["designer"], ("leave.bpmn", MODELER_XML.encode())).status_code == 201
    old = _start(client, people)
    done = _complete(client, people["staff"], old["active_tasks"][0]["id"], {"days": 5})
    assert done["instance"]["definition_version"] == 1

    again = _deploy(client, people["designer"], ("leave.bpmn", MODELER_XML.encode()))
    assert again.status_code == 200 and again.json()["unchanged"] == ["leave_request:1"]
    v2 = _deploy(client, people["designer"], ("leave.bpmn", _version_two(MODELER_XML).encode()))
    assert v2.status_code == 201 and v2.json()["created"] == ["leave_request:2"]

    new = _start(client, people)
    assert new["definition_version"] == 2
    assert (
        client.get(f"/api/v1/process-instances/{old['id']}", headers=people["admin"]).json()["definition_version"] == 1
    )
    assert [t["element_id"] for t in done["instance"]["active_tasks"]] == ["Activity_approve"]
    versions = client.get("/api/v1/process-definitions/leave_request/versions", headers=people["staff"]).json()
    assert [v["version"] for v in versions["items"]] == [2, 1]
    assert (
        client.get(
            "/api/v1/process-definitions/leave_request/xml", headers=people["staff"], params={"version": 1}
        ).content
        == MODELER_XML.encode()
    )

    diff = client.get(
        "/api/v1/process-definitions/leave_request/diff", headers=people["staff"], params={"from": 1}
    ).json()
    assert (diff["from_version"], diff["to_version"], diff["unchanged"]) == (1, 2, False)
    assert [t["id"] for t in diff["tasks"]["added"]] == ["Activity_review"]
    assert [t["id"] for t in diff["tasks"]["removed"]] == ["Activity_approve"]
    assert diff["lanes"] == {"added": [], "removed": [], "renamed": []}
    assert {(f["source"], f["target"]) for f in diff["flows"]["added"]} == {
        ("Gateway_days", "Activity_review"),
        ("Activity_review", "Gateway_join"),
    }


def test_migrate_an_instance_to_a_new_version(client, people):
    _deploy(client, people["designer"], ("leave.bpmn", MODELER_XML.encode()))
    waiting = _start(client, people)  # at Activity_request, which v2 keeps
    task_id = waiting["active_tasks"][0]["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=people["staff"]).status_code == 200
    stuck = _start(client, people)  # will wait at Activity_approve, which v2 removes
    _complete(client, people["staff"], stuck["active_tasks"][0]["id"], {"days": 9})
    _deploy(client, people["designer"], ("leave.bpmn", _version_two(MODELER_XML).encode()))

    url = f"/api/v1/process-instances/{waiting['id']}/migrate"
    assert client.post(url, headers=people["designer"], json={}).status_code == 403
    moved = client.post(url, headers=people["admin"], json={})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["definition_version"] == 2
    assert [(t["id"], t["assignee"]) for t in body["active_tasks"]] == [(task_id, "somchai")]
    done = _complete(client, people["staff"], task_id, {"days": 7})
    assert [t["element_id"] for t in done["instance"]["active_tasks"]] == ["Activity_review"]
    audit = client.get(f"/api/v1/process-instances/{waiting['id']}/audit", headers=people["admin"]).json()["items"]
    migrated = next(e for e in audit if e["type"] == "instance_migrated")
    assert (migrated["actor"], migrated["data"]) == ("root", {"from_version": 1, "to_version": 2})

    refused = client.post(f"/api/v1/process-instances/{stuck['id']}/migrate", headers=people["admin"], json={})
    assert refused.status_code == 409, refused.text
    assert refused.json()["element_ids"] == ["Activity_approve"]
    after = client.get(f"/api/v1/process-instances/{stuck['id']}", headers=people["admin"]).json()
    assert after["definition_version"] == 1
    assert [t["element_id"] for t in after["active_tasks"]] == ["Activity_approve"]
    again = client.post(url, headers=people["admin"], json={"version": 2})
    assert again.status_code == 409 and again.json()["type"].endswith("same_version")


def test_validate_cli_accepts_the_manuals_files_without_a_warning():
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "mso_flow.cli", "validate", "--strict", "bpmn"], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
    assert re.search(r"^\d+ file\(s\): 0 error\(s\), 0 warning\(s\)$", result.stderr.strip()), result.stderr
