"""Need-to-know reads (issue 18, finding 4): an instance's data (variables, audit event data, audit export) is read
only by its people, its starter and oversight, on every face (the v1 API, /engine-rest, the web app); a delegate
without a candidate role reads the delegated task's fields only and delegates no further; reports are scoped to
the units a manager oversees. Each test was an over-wide read before."""

from __future__ import annotations

import base64

import pytest

from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM
from tests import factory

CLERK, OWNER, HEAD = "เจ้าหน้าที่งานสารบรรณ", "เจ้าของเรื่อง", "หัวหน้าฝ่ายสารบรรณ"
SECRET = "นางสาวมาลี ผู้เสียหาย 3100500123456"
SUBJECT = "ขอความช่วยเหลือ"
API = "/api/v1"


@pytest.fixture
def people(make_user, saraban):
    return {
        "starter": make_user("esaraban", "integrator"),
        "clerk": make_user("somchai", CLERK),
        "clerk2": make_user("somsri", CLERK),
        "clerk3": make_user("somying", CLERK),
        "owner": make_user("owner1", OWNER),  # another lane of the same process
        "head": make_user("head1", HEAD),
        "supervisor": make_user("sup1", "supervisor", CLERK),
        "designer": make_user("designer1", "designer"),
        "portal": make_user("portal", "integrator"),  # an integrator that did not start it
        "auditor": make_user("audit1", "auditor"),
        "admin": make_user("admin", "admin"),
    }


@pytest.fixture
def case(client, people):
    """A สารบรรณ case started by an integrator with a victim's identity; returns (instance id, first task id)."""
    body = {"variables": {"subject": SUBJECT, "victim": SECRET}}
    response = client.post(f"{API}/process-definitions/central_saraban/start", headers=people["starter"], json=body)
    assert response.status_code == 201, response.text
    instance = response.json()
    return instance["id"], instance["active_tasks"][0]["id"]


def _instance(client, headers, instance_id):
    response = client.get(f"{API}/process-instances/{instance_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("who", ["owner", "designer", "portal"])
def test_staff_of_another_lane_designers_and_other_integrators_see_the_instance_not_its_data(client, people, case, who):
    instance_id, _ = case
    seen = _instance(client, people[who], instance_id)
    assert seen["state"] == "running" and seen["active_tasks"][0]["name"] == "สารบรรณกลางรับหนังสือ"
    assert seen["variables"] == {} and seen["variables_visible"] is False
    listed = client.get(f"{API}/process-instances", headers=people[who], params={"key": "central_saraban"})
    assert listed.status_code == 200 and SECRET not in listed.text
    assert [(i["variables"], i["variables_visible"]) for i in listed.json()["items"]] == [({}, False)]
    audit = client.get(f"{API}/process-instances/{instance_id}/audit", headers=people[who])
    assert audit.status_code == 200 and SECRET not in audit.text
    events = audit.json()["items"]
    assert events and all(e["data"] == {} and e["data_visible"] is False for e in events)
    assert {e["type"] for e in events} >= {"instance_started"}  # who did what and when stays visible
    export = client.get(f"{API}/process-instances/{instance_id}/audit/export", headers=people[who])
    assert export.status_code == 403 and export.json()["type"].endswith("instance_data_forbidden")
    assert client.get(f"{API}/process-instances/{instance_id}/audit/verify", headers=people[who]).json()["ok"]


@pytest.mark.parametrize("who", ["clerk", "starter", "supervisor", "auditor", "admin"])
def test_the_people_of_an_instance_its_starter_and_oversight_read_its_data(client, people, case, who):
    instance_id, _ = case
    seen = _instance(client, people[who], instance_id)
    assert seen["variables"] == {"subject": SUBJECT, "victim": SECRET} and seen["variables_visible"] is True
    audit = client.get(f"{API}/process-instances/{instance_id}/audit", headers=people[who]).json()["items"]
    assert audit[0]["data"]["variables"]["victim"] == SECRET and audit[0]["data_visible"] is True
    export = client.get(f"{API}/process-instances/{instance_id}/audit/export", headers=people[who])
    assert export.status_code == 200 and SECRET in export.text


def test_completers_and_candidates_of_open_tasks_read_candidates_of_closed_tasks_do_not(client, services, make_user):
    definitions.deploy(services, SYSTEM, [("approval.bpmn", factory.approval())])
    staff, colleague = make_user("staff1", "เจ้าหน้าที่"), make_user("staff2", "เจ้าหน้าที่")
    director = make_user("director1", "ผู้อำนวยการ")
    started = client.post(f"{API}/process-definitions/test_approval/start", headers=staff, json={"variables": {}})
    instance_id, [enter] = started.json()["id"], started.json()["active_tasks"]
    assert _instance(client, colleague, instance_id)["variables_visible"] is True  # a candidate of the open task
    done = client.post(f"{API}/tasks/{enter['id']}/complete", headers=staff, json={"variables": {"amount": 90000}})
    assert done.status_code == 200 and done.json()["task"]["variables_visible"] is True
    assert [t["element_id"] for t in done.json()["instance"]["active_tasks"]] == ["Task_approve"]
    # staff1 started and completed; the director is a candidate of the open step; staff2 was only a candidate
    assert _instance(client, staff, instance_id)["variables"] == {"amount": 90000}
    assert _instance(client, director, instance_id)["variables"] == {"amount": 90000}
    closed = client.get(f"{API}/tasks/{enter['id']}", headers=colleague)
    assert closed.status_code == 200 and closed.json()["variables"] == {}
    seen = _instance(client, colleague, instance_id)
    assert seen["variables"] == {} and seen["variables_visible"] is False and seen["state"] == "running"


def test_a_task_seen_by_oversight_without_need_to_know_carries_no_variables(client, people, case):
    _, task_id = case
    task = client.get(f"{API}/tasks/{task_id}", headers=people["portal"])
    assert task.status_code == 200 and task.json()["variables"] == {} and task.json()["variables_visible"] is False
    assert SECRET not in task.text
    mine = client.get(f"{API}/tasks/{task_id}", headers=people["clerk"]).json()
    assert mine["variables"]["victim"] == SECRET and mine["variables_visible"] is True
    said = client.post(f"{API}/tasks/{task_id}/comments", headers=people["clerk"], json={"text": f"โทรหา {SECRET}"})
    assert said.status_code == 201, said.text
    comments = client.get(f"{API}/tasks/{task_id}/comments", headers=people["portal"])
    assert comments.status_code == 403 and SECRET not in comments.text
    assert client.get(f"{API}/tasks/{task_id}/comments", headers=people["clerk"]).json()["total"] == 1


def test_an_auditor_reads_everything_and_changes_nothing(client, people, case):
    _, task_id = case
    assert client.get(f"{API}/tasks/{task_id}", headers=people["auditor"]).json()["variables"]["victim"] == SECRET
    for response in (
        client.post(f"{API}/tasks/{task_id}/claim", headers=people["auditor"]),
        client.post(f"{API}/tasks/{task_id}/comments", headers=people["auditor"], json={"text": "ตรวจแล้ว"}),
        client.post(f"{API}/tasks/{task_id}/complete", headers=people["auditor"], json={"variables": {"subject": "x"}}),
    ):
        assert response.status_code == 403, response.text
    assert client.get(f"{API}/audit/admin", headers=people["auditor"]).json()["total"] > 0
    assert client.get(f"{API}/audit/admin/verify", headers=people["auditor"]).json()["ok"] is True
    assert client.get(f"{API}/audit/admin", headers=people["clerk"]).status_code == 403
    refused = client.post(f"{API}/users", headers=people["auditor"], json={"username": "x1", "roles": [CLERK]})
    assert refused.status_code == 403
    instance_id, _ = case
    cancel = client.post(
        f"{API}/process-instances/{instance_id}/cancel", headers=people["auditor"], json={"reason": "x"}
    )
    assert cancel.status_code == 403


def test_a_delegate_without_a_candidate_role_reads_only_the_task_and_cannot_delegate_on(client, people, case):
    instance_id, task_id = case
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=people["clerk"]).status_code == 200
    delegated = client.post(f"{API}/tasks/{task_id}/delegate", headers=people["clerk"], json={"username": "somsri"})
    assert delegated.status_code == 200, delegated.text
    # somsri moves to another lane: she still holds the delegated task, with no candidate role of it
    moved = client.patch(f"{API}/users/somsri", headers=people["admin"], json={"roles": [OWNER]})
    assert moved.status_code == 200, moved.text
    task = client.get(f"{API}/tasks/{task_id}", headers=people["clerk2"])
    assert task.status_code == 200 and task.json()["assignee"] == "somsri"
    assert task.json()["variables"] == {"subject": SUBJECT} and task.json()["variables_visible"] is False
    assert SECRET not in task.text
    assert _instance(client, people["clerk2"], instance_id)["variables"] == {}
    for target in ("somying", "owner1"):
        again = client.post(f"{API}/tasks/{task_id}/delegate", headers=people["clerk2"], json={"username": target})
        assert again.status_code == 403 and again.json()["type"].endswith("not_assignee"), again.text
    resolved = client.post(f"{API}/tasks/{task_id}/resolve", headers=people["clerk2"], json={})
    assert resolved.status_code == 200 and resolved.json()["assignee"] == "somchai"


def test_a_delegate_with_a_candidate_role_cannot_delegate_on_either(client, people, case):
    _, task_id = case
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=people["clerk"]).status_code == 200
    assert (
        client.post(f"{API}/tasks/{task_id}/delegate", headers=people["clerk"], json={"username": "somsri"}).status_code
        == 200
    )
    again = client.post(f"{API}/tasks/{task_id}/delegate", headers=people["clerk2"], json={"username": "somying"})
    assert again.status_code == 403


# reports


@pytest.fixture
def two_units(client, services, people, case):
    """A task open in กองกลาง (the สารบรรณ case) and one in another unit."""
    definitions.deploy(services, SYSTEM, [("approval.bpmn", factory.approval())])
    make = client.post(f"{API}/process-definitions/test_approval/start", headers=people["admin"], json={})
    assert make.status_code == 201, make.text
    overdue = client.get(f"{API}/reports/overdue", headers=people["admin"]).json()
    units = {u["name"] for u in overdue["by_unit"]}
    assert "กองกลาง" in units and len(units) == 2, units
    return (units - {"กองกลาง"}).pop()


def test_reports_are_read_by_oversight_and_the_managers_of_a_unit(client, people, make_user, two_units):
    for who in ("clerk", "supervisor", "designer", "portal"):
        for report in ("kpi", "overdue"):
            refused = client.get(f"{API}/reports/{report}", headers=people[who])
            assert refused.status_code == 403 and refused.json()["type"].endswith("reports_forbidden"), who
    manager = make_user("director", "manager:กองกลาง")
    overdue = client.get(f"{API}/reports/overdue", headers=manager).json()
    assert [u["name"] for u in overdue["by_unit"]] == ["กองกลาง"]
    assert {r["name"] for r in overdue["by_role"]} == {CLERK}
    assert client.get(f"{API}/reports/overdue", headers=manager, params={"unit": two_units}).status_code == 403
    assert client.get(f"{API}/reports/kpi", headers=manager, params={"unit": two_units}).status_code == 403
    kpi = client.get(f"{API}/reports/kpi", headers=manager)
    assert kpi.status_code == 200 and all(p["unit"] == "กองกลาง" for p in kpi.json()["processes"])
    csv = client.get(f"{API}/reports/overdue", headers=manager, params={"format": "csv"})
    assert csv.status_code == 200 and two_units not in csv.text
    everything = client.get(f"{API}/reports/overdue", headers=people["auditor"]).json()
    assert {u["name"] for u in everything["by_unit"]} == {"กองกลาง", two_units}
    one = client.get(f"{API}/reports/overdue", headers=people["auditor"], params={"unit": two_units}).json()
    assert [u["name"] for u in one["by_unit"]] == [two_units]


def test_the_roles_list_serves_the_auditor_and_the_managers_of_each_unit(client, people):
    roles = {r["role"]: r for r in client.get(f"{API}/roles", headers=people["clerk"]).json()}
    assert roles["auditor"]["built_in"] is True
    manager = roles["manager:กองกลาง"]
    assert manager["built_in"] is False and [s["process_key"] for s in manager["sources"]] == ["central_saraban"]
    created = client.post(
        f"{API}/users", headers=people["admin"], json={"username": "director2", "roles": ["manager:กองกลาง"]}
    )
    assert created.status_code == 201, created.text  # a known role, no force needed


# the Camunda façade


def _basic(services, username: str, *roles: str) -> dict[str, str]:
    _, token = users.create_user(services, SYSTEM, username, list(roles), force=True)
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()}


def test_engine_rest_refuses_variables_to_those_without_need_to_know(client, services, case):
    instance_id, task_id = case
    outsider = _basic(services, "owner9", OWNER)
    designer = _basic(services, "designer9", "designer")
    clerk = _basic(services, "clerk9", CLERK)
    portal = _basic(services, "portal9", "integrator")
    for headers in (outsider, designer):
        for url in (
            f"/engine-rest/process-instance/{instance_id}/variables",
            f"/engine-rest/process-instance/{instance_id}/variables/victim",
            f"/engine-rest/history/variable-instance?processInstanceId={instance_id}",
        ):
            response = client.get(url, headers=headers)
            assert response.status_code == 403 and SECRET not in response.text, url
        assert client.get(f"/engine-rest/process-instance/{instance_id}", headers=headers).status_code == 200
    hidden = client.get(f"/engine-rest/task/{task_id}/variables", headers=portal)
    assert hidden.status_code == 200 and hidden.json() == {}
    seen = client.get(f"/engine-rest/process-instance/{instance_id}/variables", headers=clerk)
    assert seen.status_code == 200 and seen.json()["victim"]["value"] == SECRET
    history = client.get(f"/engine-rest/history/variable-instance?processInstanceId={instance_id}", headers=clerk)
    assert {v["name"]: v["value"] for v in history.json()}["victim"] == SECRET
    assert client.get(f"/engine-rest/task/{task_id}/variables", headers=clerk).json()["victim"]["value"] == SECRET
