"""Deployments of several files: a business rule task evaluates the DMN table deployed with it (v1 API and Camunda
Modeler's deploy), decisions are versioned with their deployments and a process version stays bound to the table
it was deployed with; a call activity calls a process of another file of the deployment or one deployed before;
a version is parsed again, after a restart, with the same files."""

from __future__ import annotations

import base64

import pytest

from mso_flow.services.platform.context import Services
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
DMN = (FIXTURES / "approver_level.dmn").read_bytes()
PURCHASE = (FIXTURES / "purchase_approval.bpmn").read_bytes()
STRICTER = DMN.replace(b"<text>&lt;= 100000</text>", b"<text>&lt;= 10000</text>")  # v2: the head approves less

CALLEE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_callee"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="stamp_letter" name="Stamp the letter" isExecutable="true">
    <bpmn:startEvent id="StartEvent_stamp" />
    <bpmn:scriptTask id="Activity_stamp" name="Stamp" scriptFormat="python">
      <bpmn:script>stamp = "STAMP-%s" % number</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="EndEvent_stamp" />
    <bpmn:sequenceFlow id="Flow_s1" sourceRef="StartEvent_stamp" targetRef="Activity_stamp" />
    <bpmn:sequenceFlow id="Flow_s2" sourceRef="Activity_stamp" targetRef="EndEvent_stamp" />
  </bpmn:process>
</bpmn:definitions>
"""
CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_caller" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="send_letter" name="Send a letter" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_clerk" name="เจ้าหน้าที่งานสารบรรณ">
        <bpmn:flowNodeRef>StartEvent_send</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_number</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_call</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Activity_post</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_send</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_send" />
    <bpmn:userTask id="Activity_number" name="ออกเลขหนังสือ">
      <bpmn:extensionElements>
        <camunda:formData><camunda:formField id="number" label="เลขที่" type="long" /></camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:callActivity id="Activity_call" name="ประทับตรา" calledElement="stamp_letter" />
    <bpmn:userTask id="Activity_post" name="ส่งหนังสือ" />
    <bpmn:endEvent id="EndEvent_send" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_send" targetRef="Activity_number" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_number" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_call" targetRef="Activity_post" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_post" targetRef="EndEvent_send" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def _deploy(client, headers, *files: tuple[str, bytes]):
    return client.post("/api/v1/deployments", headers=headers, files=[("files", f) for f in files])


def _approver(client, headers, amount: int, urgent: bool = False) -> str:
    variables = {"amount": amount, "urgent": urgent}
    started = client.post(
        "/api/v1/process-definitions/purchase_approval/start", headers=headers, json={"variables": variables}
    )
    assert started.status_code == 201, started.text
    [task] = started.json()["active_tasks"]
    return str(task["element_id"]).removeprefix("Activity_0")


@pytest.fixture
def designer(make_user):
    return make_user("designer1", "designer")


def test_a_decision_table_deployed_with_its_process_routes_each_case(client, designer, admin):
    deployed = _deploy(client, designer, ("purchase_approval.bpmn", PURCHASE), ("approver_level.dmn", DMN))
    assert deployed.status_code == 201, deployed.text
    body = deployed.json()
    assert sorted(body["created"]) == ["approver_level:1", "purchase_approval:1"]
    assert [(d["key"], d["version"], d["file_name"]) for d in body["decisions"]] == [
        ("approver_level", 1, "approver_level.dmn")
    ]
    assert body["warnings"] == [] and body["definitions"][0]["warnings"] == []
    listed = client.get("/api/v1/decision-definitions", headers=designer).json()
    assert [(d["id"], d["name"]) for d in listed["items"]] == [("approver_level:1", "Who approves the purchase")]
    assert _approver(client, admin, 50_000) == "head"
    assert _approver(client, admin, 500_000, urgent=True) == "deputy"
    assert _approver(client, admin, 500_000) == "director"


def test_a_process_stays_bound_to_the_table_it_was_deployed_with_until_it_is_deployed_again(
    client, designer, admin, settings
):
    _deploy(client, designer, ("purchase_approval.bpmn", PURCHASE), ("approver_level.dmn", DMN))
    table = _deploy(client, designer, ("approver_level.dmn", STRICTER))
    assert table.status_code == 201 and table.json()["created"] == ["approver_level:2"], table.text
    assert _approver(client, admin, 50_000) == "head"  # purchase_approval:1 evaluates approver_level:1
    again = _deploy(client, designer, ("purchase_approval.bpmn", PURCHASE))  # the same file, bound anew
    assert again.status_code == 201 and again.json()["created"] == ["purchase_approval:2"], again.text
    assert _approver(client, admin, 50_000) == "director"
    assert _deploy(client, designer, ("purchase_approval.bpmn", PURCHASE)).json()["unchanged"] == [
        "purchase_approval:2"
    ]

    restarted = Services(settings=settings, db=client.app.state.services.db)  # fresh caches: parsed from the store
    with restarted.db.read() as session:
        first = restarted.definitions.process(session, "purchase_approval:1")
        second = restarted.definitions.process(session, "purchase_approval:2")
    tables = {
        p.definition.key + str(n): p.spec.task_specs["Activity_0who"]
        .dmnEngine.decision_table.rules[0]
        .inputEntries[0]
        .lhs
        for n, p in ((1, first), (2, second))
    }
    assert tables == {"purchase_approval1": ["<= 100000"], "purchase_approval2": ["<= 10000"]}


def test_camunda_modeler_deploys_a_process_with_its_decision_table(client, designer):
    token = designer["Authorization"].removeprefix("Bearer ")
    basic = {"Authorization": "Basic " + base64.b64encode(f"designer1:{token}".encode()).decode()}
    deployed = client.post(
        "/engine-rest/deployment/create",
        headers=basic,
        data={"deployment-name": "purchase", "deployment-source": "Camunda Modeler"},
        files=[
            ("purchase_approval.bpmn", ("purchase_approval.bpmn", PURCHASE, "text/xml")),
            ("approver_level.dmn", ("approver_level.dmn", DMN, "text/xml")),
        ],
    )
    assert deployed.status_code == 200, deployed.text
    assert list(deployed.json()["deployedProcessDefinitions"]) == ["purchase_approval:1"]
    decision = deployed.json()["deployedDecisionDefinitions"]["approver_level:1"]
    assert (decision["key"], decision["resource"], decision["version"]) == ("approver_level", "approver_level.dmn", 1)
    only_table = client.post(
        "/engine-rest/deployment/create",
        headers=basic,
        data={"deployment-name": "purchase"},
        files=[("approver_level.dmn", ("approver_level.dmn", STRICTER, "text/xml"))],
    )
    assert only_table.status_code == 200, only_table.text
    assert only_table.json()["deployedProcessDefinitions"] is None
    assert list(only_table.json()["deployedDecisionDefinitions"]) == ["approver_level:2"]


def test_a_business_rule_task_without_its_table_is_refused_at_the_task(client, designer):
    refused = _deploy(client, designer, ("purchase_approval.bpmn", PURCHASE))
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["element_id"] == "Activity_0who" and "deploy its .dmn file with this one" in error["message"]


def test_a_call_activity_calls_a_process_of_another_file_of_the_deployment_or_one_deployed_before(
    client, designer, make_user
):
    clerk = make_user("somchai", "เจ้าหน้าที่งานสารบรรณ")
    alone = _deploy(client, designer, ("send_letter.bpmn", CALLER))
    assert alone.status_code == 422
    assert alone.json()["errors"][0]["element_id"] == "Activity_call"
    together = _deploy(client, designer, ("send_letter.bpmn", CALLER), ("stamp_letter.bpmn", CALLEE))
    assert together.status_code == 201, together.text
    assert sorted(together.json()["created"]) == ["send_letter:1", "stamp_letter:1"]

    def stamp_of(number: int) -> str:
        started = client.post("/api/v1/process-definitions/send_letter/start", headers=clerk, json={})
        [task] = started.json()["active_tasks"]
        done = client.post(
            f"/api/v1/tasks/{task['id']}/complete", headers=clerk, json={"variables": {"number": number}}
        )
        assert done.status_code == 200, done.text
        assert [t["element_id"] for t in done.json()["instance"]["active_tasks"]] == ["Activity_post"]
        instance = client.get(f"/api/v1/process-instances/{started.json()['id']}", headers=clerk).json()
        return str(instance["variables"]["stamp"])

    assert stamp_of(7) == "STAMP-7"
    changed = CALLEE.replace(b'"STAMP-%s"', b'"STAMPED-%s"')
    assert _deploy(client, designer, ("stamp_letter.bpmn", changed)).json()["created"] == ["stamp_letter:2"]
    assert stamp_of(8) == "STAMP-8"  # send_letter:1 calls the version deployed with it
    rebound = _deploy(client, designer, ("send_letter.bpmn", CALLER))  # alone: the deployed stamp_letter:2
    assert rebound.status_code == 201 and rebound.json()["created"] == ["send_letter:2"], rebound.text
    assert stamp_of(9) == "STAMPED-9"
