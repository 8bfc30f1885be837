"""The trafficking victim protection process routes by the legal status recorded at identification (line 2260):
a foreign victim who entered illegally and declines protection is sheltered by the ministry for the time being
and repatriated; a Thai victim who declines is followed up outside the shelter. Driven through the service."""

from __future__ import annotations

from pathlib import Path

import pytest

from mso_flow.services import policy
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "anti-trafficking" / "trafficking_victim_protection.bpmn"
API = "/api/v1"
REPORT = {"behaviour": "ถูกบังคับทำงานบนเรือประมง", "person_in_need": "นาย ก"}


@pytest.fixture
def process(services) -> str:
    definitions.deploy(services, SYSTEM, [("anti-trafficking/trafficking_victim_protection.bpmn", BPMN.read_bytes())])
    return "trafficking_victim_protection"


@pytest.fixture
def staff(services, make_user, process) -> dict[str, str]:
    """One person holding every lane's role of the process (an admin is no candidate of staff tasks)."""
    _, model = definitions.latest(services, process)
    return make_user("staff", *sorted(policy.process_roles(model)))


def _active(client, staff, instance_id: str) -> tuple[str, list[str]]:
    instance = client.get(f"{API}/process-instances/{instance_id}", headers=staff).json()
    return instance["state"], [t["element_id"] for t in instance["active_tasks"]]


def _complete(client, staff, instance_id: str, element_id: str, variables: dict[str, object]) -> None:
    instance = client.get(f"{API}/process-instances/{instance_id}", headers=staff).json()
    [task] = [t for t in instance["active_tasks"] if t["element_id"] == element_id]
    done = client.post(f"{API}/tasks/{task['id']}/complete", headers=staff, json={"variables": variables})
    assert done.status_code == 200, done.text


def _identified(client, staff, process: str, result: str, legal_status: str) -> str:
    """A case reported, screened and identified; returns the instance id."""
    started = client.post(f"{API}/process-definitions/{process}/start", headers=staff, json={})
    assert started.status_code in (200, 201), started.text
    instance_id = started.json()["id"]
    _complete(client, staff, instance_id, "Task_receive_report", REPORT)
    _complete(client, staff, instance_id, "Task_screening", {"reasonable_grounds": True})
    identified = {"identification_result": result, "legal_status": legal_status}
    _complete(client, staff, instance_id, "Task_identification", identified)
    return instance_id


def test_a_foreign_victim_who_entered_illegally_and_declines_is_sheltered_and_repatriated(client, staff, process):
    instance_id = _identified(client, staff, process, "victim_no_protection", "foreign_illegal")
    assert _active(client, staff, instance_id) == ("running", ["Task_admission"]), "into a พม. shelter for now"
    _complete(client, staff, instance_id, "Task_admission", {"victim_name": "นาย ก"})
    assert _active(client, staff, instance_id) == ("running", ["Task_return_to_society"]), "then repatriated"
    _complete(client, staff, instance_id, "Task_return_to_society", {})
    _complete(client, staff, instance_id, "Task_follow_up", {})
    assert _active(client, staff, instance_id) == ("completed", [])


@pytest.mark.parametrize("legal_status", ["thai", "foreign_legal"])
def test_a_victim_who_declines_and_may_stay_is_followed_up_outside_the_shelter(client, staff, process, legal_status):
    instance_id = _identified(client, staff, process, "victim_no_protection", legal_status)
    assert _active(client, staff, instance_id) == ("completed", [])


def test_a_victim_who_wishes_protection_goes_through_the_shelter_and_the_status_routes_step_six(client, staff, process):
    instance_id = _identified(client, staff, process, "victim_protection", "foreign_legal")
    assert _active(client, staff, instance_id) == ("running", ["Task_protection"])
    _complete(client, staff, instance_id, "Task_protection", {})
    _complete(client, staff, instance_id, "Task_admission", {"victim_name": "นาย ข"})
    assert _active(client, staff, instance_id) == ("running", ["Task_initial_process"]), "not sent to the return"
    _complete(client, staff, instance_id, "Task_initial_process", {"victim_decision": "continue"})
    assert _active(client, staff, instance_id) == ("running", ["Task_send_foreign_data"]), "a foreign victim's data"
