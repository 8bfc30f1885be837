"""What a Camunda 7 model relies on: a plain `task` and a `manualTask` pass through (SpiffWorkflow would make them
tasks someone must run), a service task without a worker passes through with a warning, and a user task with no
lane and no candidates deploys with a warning and is worked by an admin or by whoever an admin assigns it to."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from mso_flow.engine import budgets as limits

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_semantics" targetNamespace="http://bpmn.io/schema/bpmn">
"""
PASS_THROUGH = (
    HEADER
    + """  <bpmn:process id="pass_through" name="ผ่านงานที่ไม่มีผู้ทำ" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:manualTask id="Activity_sign" name="ลงนามบนกระดาษ" />
    <bpmn:task id="Activity_note" name="บันทึกไว้" />
    <bpmn:serviceTask id="Activity_java" name="ระบบเดิม" camunda:class="th.go.m_society.Legacy" />
    <bpmn:userTask id="Activity_check" name="ตรวจสอบ" camunda:candidateGroups="เจ้าหน้าที่" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_sign" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_sign" targetRef="Activity_note" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_note" targetRef="Activity_java" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_java" targetRef="Activity_check" />
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Activity_check" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""
)
UNOWNED = (
    HEADER
    + """  <bpmn:process id="unowned" name="งานที่ไม่มีผู้รับผิดชอบ" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_nobody" name="ตรวจทาน" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_nobody" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_nobody" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""
)


def _deploy(client, headers, name: str, xml: str):
    response = client.post("/api/v1/deployments", headers=headers, files=[("files", (name, xml.encode()))])
    assert response.status_code == 201, response.text
    return response.json()


def test_manual_plain_and_workerless_service_tasks_pass_through(client, make_user):
    designer = make_user("designer1", "designer")
    integrator = make_user("system1", "integrator")
    body = _deploy(client, designer, "pass.bpmn", PASS_THROUGH)
    [warning] = body["definitions"][0]["warnings"]
    assert warning["element_id"] == "Activity_java" and "camunda:type" in warning["message"]
    started = client.post("/api/v1/process-definitions/pass_through/start", headers=integrator, json={})
    assert [t["element_id"] for t in started.json()["active_tasks"]] == ["Activity_check"]


def test_a_task_without_candidates_is_an_admins_to_work_or_to_give_to_anyone(client, make_user):
    designer = make_user("designer1", "designer")
    admin = make_user("root", "admin")
    staff = make_user("somchai", "เจ้าหน้าที่")
    body = _deploy(client, designer, "unowned.bpmn", UNOWNED)
    [warning] = body["definitions"][0]["warnings"]
    assert (warning["element_id"], warning["severity"]) == ("Activity_nobody", "warning")
    assert "only an admin works it" in warning["message"]

    started = client.post("/api/v1/process-definitions/unowned/start", headers=admin, json={})
    [task] = started.json()["active_tasks"]
    url = f"/api/v1/tasks/{task['id']}"
    assert client.post(f"{url}/claim", headers=staff).status_code == 403
    assert client.post(f"{url}/complete", headers=staff, json={"variables": {}}).status_code == 403
    assert client.post(f"{url}/claim", headers=admin).status_code == 200
    assert client.post(f"{url}/unclaim", headers=admin).status_code == 200
    given = client.post(f"{url}/assignee", headers=admin, json={"username": "somchai"})  # no candidate role needed
    assert given.status_code == 200 and given.json()["assignee"] == "somchai", given.text
    done = client.post(f"{url}/complete", headers=staff, json={"variables": {}})
    assert done.status_code == 200 and done.json()["instance"]["state"] == "completed", done.text


ROUND_AND_ROUND = (
    HEADER
    + """  <bpmn:process id="round_and_round" name="วนไม่รู้จบ" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:exclusiveGateway id="Gateway_choose" default="Flow_straight" />
    <bpmn:exclusiveGateway id="Gateway_merge" />
    <bpmn:task id="Activity_a" name="ก" />
    <bpmn:task id="Activity_b" name="ข" />
    <bpmn:userTask id="Activity_check" name="ตรวจสอบ" camunda:candidateGroups="เจ้าหน้าที่" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Gateway_choose" />
    <bpmn:sequenceFlow id="Flow_round" sourceRef="Gateway_choose" targetRef="Gateway_merge">
      <bpmn:conditionExpression>go_round == True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_straight" sourceRef="Gateway_choose" targetRef="Activity_check" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Gateway_merge" targetRef="Activity_a" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_a" targetRef="Activity_b" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_b" targetRef="Gateway_merge" />
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Activity_check" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""
)


@pytest.fixture
def short_commands() -> Iterator[None]:
    """An engine command's CPU budget of a fraction of a second (10 s by default)."""
    before = limits.budget()
    limits.configure(dataclasses.replace(before, engine_seconds=0.3))
    yield
    limits.configure(before)


def test_a_loop_of_plain_tasks_is_a_warning_and_stopped_by_the_command_budget_when_taken(
    client, make_user, short_commands
):
    designer = make_user("designer1", "designer")
    integrator = make_user("system1", "integrator")
    body = _deploy(client, designer, "round.bpmn", ROUND_AND_ROUND)
    loops = [w for w in body["definitions"][0]["warnings"] if "never waits nor ends" in w["message"]]
    assert loops and "on some path" in loops[0]["message"]
    url = "/api/v1/process-definitions/round_and_round/start"
    straight = client.post(url, headers=integrator, json={"variables": {"go_round": False}})
    assert [t["element_id"] for t in straight.json()["active_tasks"]] == ["Activity_check"]
    stopped = client.post(url, headers=integrator, json={"variables": {"go_round": True}})
    assert stopped.status_code == 422 and stopped.json()["type"].endswith("process_error"), stopped.text
    assert stopped.json()["incident_id"]


def test_every_path_round_a_loop_of_plain_tasks_is_refused(client, make_user):
    designer = make_user("designer1", "designer")
    always = ROUND_AND_ROUND.replace("go_round == True", "True")
    refused = client.post("/api/v1/deployments", headers=designer, files=[("files", ("r.bpmn", always.encode()))])
    assert refused.status_code == 422, refused.text
    errors = [e for e in refused.json()["errors"] if e["severity"] == "error"]
    assert errors and all("every path" in e["message"] for e in errors)
