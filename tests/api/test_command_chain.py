"""The command executor's chain cannot be forgotten (issue 28, item 1): no use case opens an instance's write
transaction, writes its rows back or records its incidents itself, and a process error in a ported command
opens an incident."""

from __future__ import annotations

import re
from pathlib import Path

from mso_flow.domain import DefinitionSource
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM

SERVICES = Path(__file__).resolve().parents[2] / "src" / "mso_flow" / "services"
CHAIN = re.compile(r"\b(instance_command|task_commands|write_back|start_instance|insert_started)\(|incidents\.recorded")
OWNERS = {"platform/executor.py", "platform/unit_of_work.py"}  # the chain itself
# the instance changes that stay apart, each for a reason stated in the executor's docstring
APART = {
    "integrations/timers.py": ["instance_command("],  # background: a failing timer is marked in the same transaction
    "integrations/timer_starts.py": ["insert_started("],  # background: a leased start inside the lease's transaction
    "tasks/assignment.py": ["task_commands("],  # claim_all: several instances in one transaction
    "integrations/messages.py": ["start_instance("],  # inside execute_start (checked below)
    "instances/lifecycle.py": ["start_instance("],  # inside execute_start (checked below)
}

MESSAGE_THEN_SCRIPT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="Message_go" name="go_on" />
  <bpmn:process id="message_then_script" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition id="Def_go" messageRef="Message_go" /></bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="compute" name="compute"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>share = 100 / divisor</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="compute"/>
    <bpmn:sequenceFlow id="f3" sourceRef="compute" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_no_use_case_writes_the_chain_itself():
    """Every use case in services/ reaches the transaction, the write-back and incident recording only through
    the executor; what stays apart is listed (and must still be, so the list cannot rot)."""
    found: dict[str, list[str]] = {}
    for path in sorted(SERVICES.rglob("*.py")):
        name = path.relative_to(SERVICES).as_posix()
        if name in OWNERS:
            continue
        uses = sorted({m.group(0) for m in CHAIN.finditer(path.read_text(encoding="utf-8"))})
        if uses:
            found[name] = uses
    assert found == {name: sorted(uses) for name, uses in APART.items()}
    for name, uses in found.items():
        if "start_instance(" in uses:  # a start by a person or a system: its incident, metric and log line
            assert "execute_start(" in (SERVICES / name).read_text(encoding="utf-8"), name


def test_a_message_whose_follow_on_script_fails_opens_an_incident_and_changes_nothing(
    client, services, make_user, admin
):
    integrator = make_user("portal", "integrator")
    [deployed] = definitions.deploy(
        services, SYSTEM, [("m.bpmn", MESSAGE_THEN_SCRIPT)], DefinitionSource.FILE
    )  # as start-up deploys bpmn/: not simulated, so the defect reaches run time
    assert deployed.created
    started = client.post("/api/v1/process-definitions/message_then_script/start", headers=integrator, json={})
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]
    send = {"name": "go_on", "process_instance_id": instance_id}

    failed = client.post("/api/v1/messages", headers=integrator, json=send | {"variables": {"divisor": 0}})
    assert failed.status_code == 422, failed.text
    problem = failed.json()
    assert problem["type"] == "urn:mso-flow:problem:process_error" and problem["element_id"] == "compute"
    incident = client.get(f"/api/v1/incidents/{problem['incident_id']}", headers=admin).json()
    assert incident["instance_id"] == instance_id and incident["element_id"] == "compute"
    audit = client.get(f"/api/v1/process-instances/{instance_id}/audit", headers=admin).json()["items"]
    assert [e["type"] for e in audit] == ["instance_started", "incident_created"]

    # the instance still waits for the message: sent again with a usable value, it runs on
    done = client.post("/api/v1/messages", headers=integrator, json=send | {"variables": {"divisor": 4}})
    assert done.status_code == 200, done.text
    after = client.get(f"/api/v1/process-instances/{instance_id}", headers=admin).json()
    assert after["state"] == "completed" and after["variables"]["share"] == 25
