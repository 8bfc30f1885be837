"""Tenants stay in their own lane (issue 24, items 1, 2, 3 and 6), tried as an attacker would: another integrator
neither writes into a case it did not start (variables, messages) nor frees a lock it does not hold, a worker
and a webhook see only the data their user reads, and an admin gives staff tasks to people without being their
candidate (a claim or an assignment discloses nothing the caller could not read before)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from mso_flow.services.accounts import logins as accounts
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.integrations.webhook_delivery import deliver_due
from mso_flow.services.platform.context import SYSTEM
from tests.api import test_personal_data
from tests.api.test_personal_data import REPORTER, _case, _ok
from tests.live import free_port
from tests.receiver import Receiver
from tests.web.conftest import PASSWORD, login, plain

API, ROOT = "/api/v1", "/engine-rest"
INTEGRATION = Path(__file__).resolve().parents[1] / "fixtures" / "integration.bpmn"
STAFF_OF_MESSAGES = "เจ้าหน้าที่"
people = test_personal_data.people  # the hotline's people: its e-service, staff, admin, auditor, privacy officer


@pytest.fixture
def portal(people, make_user, services):
    """Another integrator (the hotline's e-service is `people["system"]`), and the integration fixtures."""
    definitions.deploy(services, SYSTEM, [("integration.bpmn", INTEGRATION.read_bytes())])
    return make_user("portal", "integrator")


def _refused(response, status=403):
    assert response.status_code == status, response.text
    assert REPORTER not in response.text
    return response


# 1. writes into a case: its starter (what it reads) or an admin; staff through their forms only


def test_another_integrator_cannot_overwrite_a_case_and_nobody_overwrites_what_he_cannot_read(client, people, portal):
    instance_id, _ = _case(client, people)
    url = f"{ROOT}/process-instance/{instance_id}/variables"

    def put(who, name, value):
        return client.put(f"{url}/{name}", headers=who, json={"value": value, "type": "String"})

    def modify(who, name, value):
        return client.post(url, headers=who, json={"modifications": {name: {"value": value, "type": "String"}}})

    _refused(client.get(url, headers=portal))  # reading was already refused; writing is refused the same
    assert client.delete(f"{url}/channel", headers=portal).status_code == 405  # deletion is not offered at all
    _refused(client.post(url, headers=portal, json={"deletions": ["channel"]}), 400)
    for who in (portal, people["staff"], people["officer"]):  # staff of the case write through their forms only
        assert _refused(put(who, "channel", "forged")).json()["type"] == "AuthorizationException"
        _refused(modify(who, "channel", "forged"))
    # the starter and an admin write ordinary values, not personal ones they read masked
    assert put(people["system"], "channel", "line").status_code == 204
    assert modify(people["admin"], "channel", "walk-in").status_code == 204
    for who in ("system", "admin"):
        _refused(put(people[who], "reporter_name", "ผู้แจ้งปลอม"))
        _refused(modify(people[who], "problem", "ไม่มีปัญหา"))
    seen = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["staff"]))["variables"]
    assert seen["channel"] == "walk-in" and seen["reporter_name"] == REPORTER
    trail = _ok(client.get(f"{API}/process-instances/{instance_id}/audit?limit=100", headers=people["admin"]))
    assert [e["actor"] for e in trail["items"] if e["type"] == "variables_set"] == ["hotline_system", "admin"]


def test_a_message_reaches_only_a_case_its_sender_started(client, people, portal, make_user):
    eservice = people["system"]
    staff = make_user("somying", STAFF_OF_MESSAGES)
    key = f"HOT-{uuid.uuid4().hex[:8]}"
    instance_id = _ok(
        client.post(f"{API}/messages", headers=eservice, json={"name": "case_opened", "business_key": key})
    )["instance_id"]
    [task] = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=staff))["active_tasks"]
    _ok(client.post(f"{API}/tasks/{task['id']}/complete", headers=staff, json={"variables": {}}))
    forged = {"pages": 999}
    for body in (
        {"name": "docs_arrived", "business_key": key, "variables": forged},
        {"name": "docs_arrived", "process_instance_id": instance_id, "variables": forged},
    ):
        refused = _refused(client.post(f"{API}/messages", headers=portal, json=body))
        assert refused.json()["type"].endswith("instance_write_forbidden")
    camunda = {"messageName": "docs_arrived", "processInstanceId": instance_id, "processVariables": {}}
    _refused(client.post(f"{ROOT}/message", headers=portal, json=camunda))
    assert "pages" not in _ok(client.get(f"{API}/process-instances/{instance_id}", headers=eservice))["variables"]
    # its starter's message is delivered
    sent = {"name": "docs_arrived", "business_key": key, "variables": {"pages": 3}}
    assert _ok(client.post(f"{API}/messages", headers=eservice, json=sent)) == {
        "instance_id": instance_id,
        "started": False,
    }


# 2. external tasks: a lock is its holder's; a worker sees the data its user reads


def _fetch_v1(client, headers, worker):
    body = {"worker_id": worker, "topics": [{"name": "payment", "lock_duration_ms": 60_000}]}
    return _ok(client.post(f"{API}/external-tasks/fetch-and-lock", headers=headers, json=body))


def _fetch_camunda(client, headers, worker):
    body = {"workerId": worker, "maxTasks": 5, "topics": [{"topicName": "payment", "lockDuration": 60_000}]}
    return _ok(client.post(f"{ROOT}/external-task/fetchAndLock", headers=headers, json=body))


def test_only_the_holder_or_an_admin_frees_a_lock_and_a_worker_sees_only_data_its_user_reads(client, people, portal):
    eservice, admin = people["system"], people["admin"]
    for face, fetch, unlock, not_held in (
        ("v1", _fetch_v1, f"{API}/external-tasks/{{}}/unlock", 409),
        ("camunda", _fetch_camunda, f"{ROOT}/external-task/{{}}/unlock", 400),  # Camunda's BadUserRequestException
    ):
        started = client.post(
            f"{API}/process-definitions/it_external/start", headers=eservice, json={"variables": {"iban": "TH-001"}}
        )
        instance_id = _ok(started, 201)["id"]
        [task] = fetch(client, eservice, "finance-1")
        assert task["processInstanceId" if face == "camunda" else "process_instance_id"] == instance_id
        assert "TH-001" in json.dumps(task)  # its starter reads the case

        # the other integrator frees nothing it does not hold, so it cannot take the task and its data
        stolen = _refused(client.post(unlock.format(task["id"]), headers=portal), not_held)
        assert "finance-1" not in stolen.text and "eservice" not in stolen.text
        assert fetch(client, portal, "portal-1") == []
        assert client.post(unlock.format(task["id"]), headers=admin).status_code == 204  # an operator's decision

        # fetched now by the other integrator: the task, without the data of a case it does not read
        [taken] = fetch(client, portal, "portal-1")
        assert taken["id"] == task["id"] and "TH-001" not in json.dumps(taken)
        if face == "v1":
            assert taken["variables"] == {} and taken["variables_visible"] is False
        else:
            assert taken["variables"] == {}
        # and the first worker's lock is gone: what it sends now is refused
        for action, body in (("complete", {}), ("failure", {"retries": 1}), ("extend-lock", {"lock_duration_ms": 1})):
            late = client.post(
                f"{API}/external-tasks/{task['id']}/{action}", headers=eservice, json={"worker_id": "finance-1"} | body
            )
            _refused(late, 409)
        extended = {"worker_id": "portal-1", "lock_duration_ms": 60_000}  # its own lock (kept: the next round)
        assert (
            client.post(f"{API}/external-tasks/{task['id']}/extend-lock", headers=portal, json=extended).status_code
            == 204
        )


# 3. an admin assigns staff tasks, he does not claim them; a claim or an assignment discloses nothing new


def test_an_admin_gives_staff_tasks_to_people_but_is_not_their_candidate(client, services, people):
    _, task_id = _case(client, people)
    admin = people["admin"]
    _refused(client.post(f"{API}/tasks/{task_id}/claim", headers=admin))
    _refused(client.post(f"{API}/tasks/claim", headers=admin, json={"task_ids": [task_id]}), 409)
    _refused(client.post(f"{API}/tasks/{task_id}/complete", headers=admin, json={"variables": {}}))
    _refused(client.post(f"{API}/tasks/{task_id}/delegate", headers=admin, json={"username": "somsri"}))
    for body in ({}, {"userId": "admin"}):
        _refused(client.post(f"{ROOT}/task/{task_id}/claim", headers=admin, json=body))
    _refused(client.post(f"{ROOT}/task/{task_id}/assignee", headers=admin, json={"userId": "admin"}))
    _refused(client.post(f"{API}/tasks/{task_id}/assignee", headers=admin, json={"username": "admin"}), 422)
    assert _ok(client.get(f"{API}/tasks/{task_id}", headers=admin))["assignee"] is None

    # he gives the task to one of its people: the answer shows it as he read it, personal values masked
    given = _ok(client.post(f"{API}/tasks/{task_id}/assignee", headers=admin, json={"username": "somchai"}))
    assert given["assignee"] == "somchai" and given["variables"]["reporter_name"] is None
    assert "reporter_name" in given["masked_variables"]
    _refused(client.post(f"{API}/tasks/{task_id}/complete", headers=admin, json={"variables": {}}), 409)
    # the assignee delegates to a colleague: both read the case before and after
    delegated = _ok(
        client.post(f"{API}/tasks/{task_id}/delegate", headers=people["staff"], json={"username": "somsri"})
    )
    assert delegated["variables"]["reporter_name"] == REPORTER

    # the web app offers him no รับงาน, and refuses the form posted anyway
    accounts.set_password(services, "admin", PASSWORD)
    csrf = login(client, "admin")
    _ok(client.post(f"{API}/tasks/{task_id}/assignee", headers=admin, json={"username": None}))
    page = client.get(f"/app/tasks/{task_id}")
    assert page.status_code == 200 and f"/app/tasks/{task_id}/claim" not in plain(page)
    assert "มอบหมายงาน" in plain(page) and REPORTER not in plain(page)
    _refused(client.post(f"/app/tasks/{task_id}/claim", data={"csrf_token": csrf}))
    client.cookies.clear()


LANELESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_laneless" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="it_laneless" name="งานที่ไม่มีผู้รับ" isExecutable="true">
    <bpmn:extensionElements>
      <camunda:properties><camunda:property name="personal_data" value="citizen_name" /></camunda:properties>
    </bpmn:extensionElements>
    <bpmn:startEvent id="Start_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Handle" name="ดำเนินการ" camunda:assignee="${handler}">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End_1"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Handle" />
    <bpmn:sequenceFlow id="F2" sourceRef="Handle" targetRef="End_1" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_claim_answers_with_what_the_caller_read_before_it(client, services, people):
    """A task that names no candidate (its assignee variable holds no user name) is an admin's to work: his claim
    answers with the personal values masked, as he read them before; he reads them once he holds the task."""
    definitions.deploy(services, SYSTEM, [("it_laneless.bpmn", LANELESS.encode())])
    variables = {"handler": "", "citizen_name": REPORTER}
    instance_id = _ok(
        client.post(
            f"{API}/process-definitions/it_laneless/start", headers=people["system"], json={"variables": variables}
        ),
        201,
    )["id"]
    [task] = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["admin"]))["active_tasks"]
    claimed = _ok(client.post(f"{API}/tasks/{task['id']}/claim", headers=people["admin"]))
    assert claimed["assignee"] == "admin" and claimed["variables"]["citizen_name"] is None
    held = _ok(client.get(f"{API}/tasks/{task['id']}", headers=people["admin"]))
    assert held["variables"]["citizen_name"] == REPORTER


# 6. webhooks: deliveries obey the subscriber's need to know


def test_a_webhook_on_every_event_receives_data_only_of_cases_its_owner_reads(client, services, people, portal):
    services.settings.webhook_allowed_networks = "127.0.0.1/32"
    eservice = people["system"]
    everything, oversight = Receiver(free_port()).start(), Receiver(free_port()).start()
    try:
        for who, receiver in ((portal, everything), (people["admin"], oversight)):
            body = {"url": receiver.url, "events": ["*"], "secret": "s" * 32}
            _ok(client.post(f"{API}/webhooks", headers=who, json=body), 201)
        services.subscriptions.invalidate()
        theirs = _ok(
            client.post(
                f"{API}/process-definitions/it_timers/start", headers=eservice, json={"variables": {"iban": "TH-9"}}
            ),
            201,
        )["id"]
        own = _ok(
            client.post(
                f"{API}/process-definitions/it_timers/start", headers=portal, json={"variables": {"iban": "TH-1"}}
            ),
            201,
        )["id"]
        hotline, _ = _case(client, people)
        deliver_due(services)
    finally:
        everything.stop()
        oversight.stop()
    received = everything.events()
    assert {e["process_instance_id"] for e in received} == {theirs, own, hotline}
    for event in received:
        if event["process_instance_id"] == own:
            assert event["data_visible"] is True
        else:  # who, what and when of a case it does not read; never its data
            assert event["data"] == {} and event["data_visible"] is False, event
    assert b"TH-9" not in b"".join(body for _, body in everything.received)
    assert REPORTER.encode() not in b"".join(body for _, body in everything.received)
    started = next(e for e in received if e["process_instance_id"] == own and e["event"] == "instance.started")
    assert started["data"]["variables"] == {"iban": "TH-1"}
    # an admin's subscription reads every case, personal values masked as in his API reads
    seen = {e["process_instance_id"]: e for e in oversight.events() if e["event"] == "instance.started"}
    assert seen[theirs]["data"]["variables"] == {"iban": "TH-9"}
    assert REPORTER.encode() not in b"".join(body for _, body in oversight.received)
    completed = [
        e for e in oversight.events() if e["process_instance_id"] == hotline and e["event"] == "task.completed"
    ]
    assert completed[0]["data"]["variables"]["reporter_name"] is None
