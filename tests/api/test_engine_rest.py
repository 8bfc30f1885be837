"""Camunda 7's REST API at /engine-rest, called in Camunda's shapes through the app: Modeler's deployment,
typed variables, the Tasklist flow, messages, external tasks, history, authentication and error bodies."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
from pathlib import Path

import pytest

from mso_flow.services.accounts import users
from mso_flow.services.integrations import wakeups
from mso_flow.services.platform.context import SYSTEM

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOAN = (FIXTURES / "camunda_loan.bpmn").read_bytes()
ROOT = "/engine-rest"


@pytest.fixture
def basic(services):
    """Create a user; return the Basic header Camunda's clients send (user name and API token)."""

    def make(username: str, *roles: str) -> dict[str, str]:
        _, token = users.create_user(services, SYSTEM, username, list(roles), force=True)
        return {"Authorization": "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()}

    return make


@pytest.fixture
def people(basic):
    return {
        "designer": basic("designer", "designer"),
        "worker": basic("worker", "integrator"),
        "officer": basic("officer", "loan_officers"),
        "officer2": basic("officer2", "loan_officers"),
        "kanya": basic("kanya", "accounting"),
        "outsider": basic("outsider", "accounting"),
        "requester": basic("somsri", "public"),
    }


def _secret(basic_header: dict[str, str]) -> str:
    """The API token inside a Basic header."""
    return base64.b64decode(basic_header["Authorization"].split()[1]).decode().split(":", 1)[1]


def _modeler_deploy(client, headers, files, name="loan"):
    """The request Camunda Modeler's Deploy button sends."""
    data = {
        "deployment-name": name,
        "deploy-changed-only": "true",
        "enable-duplicate-filtering": "true",
        "deployment-source": "Camunda Modeler",
    }
    parts = [(file, (file, content, "application/octet-stream")) for file, content in files]
    return client.post(f"{ROOT}/deployment/create", headers=headers, data=data, files=parts)


@pytest.fixture
def deployed(client, people):
    response = _modeler_deploy(client, people["designer"], [("camunda_loan.bpmn", LOAN)])
    assert response.status_code == 200, response.text
    return response.json()


def _start(client, people, **variables):
    typed = {"requester": {"value": "somsri", "type": "String"}} | variables
    body = {"variables": typed, "businessKey": f"LOAN-{time.monotonic_ns()}"}
    response = client.post(f"{ROOT}/process-definition/key/camunda_loan/start", headers=people["worker"], json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _fetch(client, people, topic="credit-check", worker="w1", **extra):
    body = {"workerId": worker, "maxTasks": 10, "topics": [{"topicName": topic, "lockDuration": 60000}]} | extra
    response = client.post(f"{ROOT}/external-task/fetchAndLock", headers=people["worker"], json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _pass_check(client, people, instance_id):
    task = next(t for t in _fetch(client, people) if t["processInstanceId"] == instance_id)
    done = client.post(
        f"{ROOT}/external-task/{task['id']}/complete",
        headers=people["worker"],
        json={"workerId": "w1", "variables": {"score": {"value": 720, "type": "Integer"}}},
    )
    assert done.status_code == 204, done.text


def _task(client, people, instance_id, key):
    tasks = client.get(
        f"{ROOT}/task", params={"processInstanceId": instance_id, "taskDefinitionKey": key}, headers=people["worker"]
    ).json()
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_authentication_is_http_basic_with_camunda_errors(client, people, basic):
    missing = client.get(f"{ROOT}/version")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Basic")
    assert missing.json()["type"] == "AuthenticationException"
    assert client.get(f"{ROOT}/version", headers=people["worker"]).json() == {"version": "7.22.0"}
    secret = _secret(people["worker"])
    other = base64.b64encode(f"designer:{secret}".encode()).decode()  # someone else's token
    assert client.get(f"{ROOT}/version", headers={"Authorization": f"Basic {other}"}).status_code == 401
    assert client.get(f"{ROOT}/version", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert client.get(f"{ROOT}/engine", headers={"Authorization": f"Bearer {secret}"}).json() == [{"name": "default"}]


def test_modeler_deployment_and_definitions(client, people, deployed):
    assert deployed["name"] == "loan" and deployed["source"] == "Camunda Modeler"
    assert list(deployed["deployedProcessDefinitions"]) == ["camunda_loan:1"]
    definition = deployed["deployedProcessDefinitions"]["camunda_loan:1"]
    assert definition["key"] == "camunda_loan" and definition["version"] == 1
    assert definition["deploymentId"] == deployed["id"]
    assert definition["name"] == "คำขอกู้ยืมเงินทุนประกอบอาชีพ"
    assert deployed["deploymentTime"][-5] in "+-" and "T" in deployed["deploymentTime"]

    again = _modeler_deploy(client, people["designer"], [("camunda_loan.bpmn", LOAN)])
    assert again.status_code == 200 and again.json()["deployedProcessDefinitions"] is None

    listed = client.get(f"{ROOT}/deployment", params={"maxResults": 0}, headers=people["designer"])
    assert listed.status_code == 200 and listed.json() == []  # Modeler's connection check
    one = client.get(f"{ROOT}/deployment/{deployed['id']}", headers=people["designer"]).json()
    assert one["name"] == "loan" and one["id"] == deployed["id"]
    unknown = client.get(f"{ROOT}/deployment/nope", headers=people["designer"])
    assert unknown.status_code == 404 and unknown.json()["type"] == "InvalidRequestException"

    by_key = client.get(f"{ROOT}/process-definition/key/camunda_loan", headers=people["officer"]).json()
    assert by_key["id"] == "camunda_loan:1"
    xml = client.get(f"{ROOT}/process-definition/key/camunda_loan/xml", headers=people["officer"]).json()
    assert xml["bpmn20Xml"].encode() == LOAN
    definitions = client.get(f"{ROOT}/process-definition", params={"latestVersion": "true"}, headers=people["officer"])
    assert [d["key"] for d in definitions.json()] == ["camunda_loan"]

    refused = _modeler_deploy(client, people["officer"], [("camunda_loan.bpmn", LOAN)])
    assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"


def test_deployment_problems_are_a_parse_exception_naming_the_element(client, people):
    nobody = LOAN.replace(b' camunda:candidateGroups="loan_officers" camunda:candidateUsers="kanya"', b"")
    broken = nobody.replace(b' camunda:topic="credit-check"', b"")
    response = _modeler_deploy(client, people["designer"], [("nobody.bpmn", broken)])
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "ParseException"
    [error] = body["details"]["nobody.bpmn"]["errors"]
    assert error["mainElementId"] == "Task_check" and "needs camunda:topic" in error["message"]
    assert "Task_check" in body["message"] and "Task_approve" not in body["message"]  # the message tells the errors
    warnings = body["details"]["nobody.bpmn"]["warnings"]  # Modeler shows the warnings beside them
    assert any(w["mainElementId"] == "Task_approve" and "only an admin works it" in w["message"] for w in warnings)
    form = _modeler_deploy(client, people["designer"], [("form.form", b"{}")])
    assert form.status_code == 400 and "BPMN and DMN" in form.json()["message"]
    plain = client.post(f"{ROOT}/deployment/create", headers=people["designer"], json={})
    assert plain.status_code == 400 and plain.json()["type"] == "InvalidRequestException"


def test_typed_variables_round_trip_without_loss(client, people, deployed):
    variables = {
        "applicant": {"value": "นางสาวสมหญิง ใจดี", "type": "String"},
        "amount": {"value": 9007199254740993, "type": "Long"},
        "months": {"value": 12, "type": "Integer"},
        "rate": {"value": 0.0125, "type": "Double"},
        "guarantor": {"value": True, "type": "Boolean"},
        "appliedAt": {"value": "2026-11-30T09:15:00.250+0700", "type": "Date"},
        "address": {"value": '{"จังหวัด": "เชียงใหม่", "zip": "50000"}', "type": "Json"},
        "note": {"value": None, "type": "Null"},
        "untyped": {"value": 5},
    }
    started = _start(client, people, **variables)
    assert started["businessKey"].startswith("LOAN-") and started["ended"] is False
    assert started["definitionId"] == "camunda_loan:1" and started["links"][0]["rel"] == "self"
    read = client.get(f"{ROOT}/process-instance/{started['id']}/variables", headers=people["worker"]).json()
    for name in ("applicant", "amount", "months", "rate", "guarantor", "appliedAt", "note"):
        assert read[name]["value"] == variables[name]["value"], name
        assert read[name]["type"] == variables[name]["type"], name
    assert read["untyped"] == {"type": "Integer", "value": 5, "valueInfo": {}}
    assert read["address"]["type"] == "Json"
    assert '"จังหวัด": "เชียงใหม่"' in read["address"]["value"]
    one = client.get(f"{ROOT}/process-instance/{started['id']}/variables/amount", headers=people["worker"]).json()
    assert one["value"] == 9007199254740993

    put = client.put(
        f"{ROOT}/process-instance/{started['id']}/variables/months",
        headers=people["worker"],
        json={"value": "24", "type": "Integer"},
    )
    assert put.status_code == 204, put.text
    months = client.get(f"{ROOT}/process-instance/{started['id']}/variables/months", headers=people["worker"])
    assert months.json()["value"] == 24

    bad = client.post(
        f"{ROOT}/process-definition/key/camunda_loan/start",
        headers=people["worker"],
        json={"variables": {"amount": {"value": "lots", "type": "Long"}}},
    )
    assert bad.status_code == 400 and bad.json()["type"] == "InvalidRequestException"
    assert "amount" in bad.json()["message"]
    naive = client.post(
        f"{ROOT}/process-definition/key/camunda_loan/start",
        headers=people["worker"],
        json={"variables": {"at": {"value": "2026-11-30T09:15:00", "type": "Date"}}},
    )
    assert naive.status_code == 400
    unknown = client.get(f"{ROOT}/process-instance/nope/variables", headers=people["worker"])
    assert unknown.status_code == 404


def test_tasklist_flow_the_camunda_way(client, people, deployed):
    instance = _start(client, people)["id"]
    _pass_check(client, people, instance)
    task = _task(client, people, instance, "Task_approve")
    assert task["name"] == "พิจารณาอนุมัติ" and task["assignee"] is None and task["processDefinitionId"]

    officer_view = client.get(f"{ROOT}/task", params={"candidateGroup": "loan_officers"}, headers=people["officer"])
    assert task["id"] in [t["id"] for t in officer_view.json()]
    as_user = client.get(f"{ROOT}/task", params={"candidateUser": "kanya"}, headers=people["kanya"]).json()
    assert task["id"] in [t["id"] for t in as_user]  # a named candidate user
    assert client.get(f"{ROOT}/process-instance/{instance}", headers=people["kanya"]).status_code == 200
    assert client.get(f"{ROOT}/process-instance/{instance}", headers=people["outsider"]).status_code == 403
    count = client.get(f"{ROOT}/task/count", params={"processInstanceId": instance}, headers=people["worker"])
    assert count.json() == {"count": 1}
    detail = client.get(f"{ROOT}/task/{task['id']}", headers=people["officer"]).json()
    assert detail["description"] == "พิจารณาคำขอกู้ยืมตามหลักเกณฑ์ของกองทุน"
    form = client.get(f"{ROOT}/task/{task['id']}/form-variables", headers=people["officer"]).json()
    assert form["requester"] == {"type": "String", "value": "somsri", "valueInfo": {}}

    outsider = client.post(f"{ROOT}/task/{task['id']}/claim", headers=people["outsider"], json={"userId": "outsider"})
    assert outsider.status_code == 403 and outsider.json()["type"] == "AuthorizationException"
    claimed = client.post(f"{ROOT}/task/{task['id']}/claim", headers=people["officer"], json={"userId": "officer"})
    assert claimed.status_code == 204, claimed.text
    conflict = client.post(f"{ROOT}/task/{task['id']}/claim", headers=people["officer2"], json={"userId": "officer2"})
    assert conflict.status_code == 409 and conflict.json()["type"] == "TaskAlreadyClaimedException"
    mine = client.get(f"{ROOT}/task", params={"assignee": "officer"}, headers=people["officer"]).json()
    assert [t["id"] for t in mine] == [task["id"]]
    assert client.post(f"{ROOT}/task/{task['id']}/unclaim", headers=people["officer"]).status_code == 204
    assert client.post(f"{ROOT}/task/{task['id']}/claim", headers=people["kanya"], json={}).status_code == 204

    done = client.post(
        f"{ROOT}/task/{task['id']}/complete",
        headers=people["kanya"],
        json={"variables": {"approved": {"value": True, "type": "Boolean"}}, "withVariablesInReturn": True},
    )
    assert done.status_code == 200, done.text
    assert done.json()["approved"] == {"type": "Boolean", "value": True, "valueInfo": {}}
    missing = client.post(f"{ROOT}/task/{task['id']}/complete", headers=people["kanya"], json={})
    assert missing.status_code == 409
    assert client.get(f"{ROOT}/task/nope", headers=people["kanya"]).status_code == 404

    correlated = client.post(
        f"{ROOT}/message",
        headers=people["worker"],
        json={"messageName": "documents_received", "processInstanceId": instance, "resultEnabled": True},
    )
    assert correlated.status_code == 200, correlated.text
    assert correlated.json()[0]["resultType"] == "Execution"
    sign = _task(client, people, instance, "Task_sign")
    assert sign["assignee"] == "somsri"  # camunda:assignee="${requester}"
    empty = client.post(f"{ROOT}/task/{sign['id']}/complete", headers=people["requester"], json={})
    assert empty.status_code == 204

    history = client.get(f"{ROOT}/history/process-instance/{instance}", headers=people["worker"]).json()
    assert history["state"] == "COMPLETED" and history["durationInMillis"] is not None
    completed = client.get(
        f"{ROOT}/history/process-instance", params={"state": "COMPLETED"}, headers=people["worker"]
    ).json()
    assert instance in [h["id"] for h in completed]
    assert client.get(f"{ROOT}/process-instance/{instance}", headers=people["worker"]).status_code == 404
    tasks = client.get(f"{ROOT}/history/task", params={"processInstanceId": instance}, headers=people["worker"])
    assert {t["taskDefinitionKey"]: t["deleteReason"] for t in tasks.json()} == {
        "Task_approve": "completed",
        "Task_sign": "completed",
    }
    operations = client.get(
        f"{ROOT}/history/user-operation", params={"processInstanceId": instance}, headers=people["worker"]
    ).json()
    kinds = [(o["operationType"], o["userId"]) for o in operations]
    assert ("Claim", "officer") in kinds and ("Complete", "kanya") in kinds and ("Create", "worker") in kinds
    variables = client.get(
        f"{ROOT}/history/variable-instance", params={"processInstanceId": instance}, headers=people["worker"]
    ).json()
    assert {v["name"]: v["value"] for v in variables}["score"] == 720
    assert (
        client.get(f"{ROOT}/history/process-instance", params={"state": "DONE"}, headers=people["worker"]).status_code
        == 400
    )


def test_messages_without_receiver_are_camunda_correlation_errors(client, people, deployed):
    response = client.post(
        f"{ROOT}/message", headers=people["worker"], json={"messageName": "nobody", "businessKey": "X"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "MismatchingMessageCorrelationException"
    assert client.post(f"{ROOT}/message", headers=people["officer"], json={"messageName": "x"}).status_code == 403


def test_external_task_failure_retries_bpmn_error_and_locks(client, people, deployed):
    instance = _start(client, people)["id"]
    [task] = _fetch(client, people, variables=None)
    assert task["topicName"] == "credit-check" and task["workerId"] == "w1" and task["retries"] is None
    assert task["variables"]["requester"]["value"] == "somsri" and task["businessKey"].startswith("LOAN-")
    assert task["processDefinitionKey"] == "camunda_loan" and task["activityId"] == "Task_check"
    assert _fetch(client, people, worker="w2") == []  # locked by w1

    wrong = client.post(
        f"{ROOT}/external-task/{task['id']}/complete", headers=people["worker"], json={"workerId": "w2"}
    )
    assert wrong.status_code == 400 and wrong.json()["type"] == "BadUserRequestException"
    extended = client.post(
        f"{ROOT}/external-task/{task['id']}/extendLock",
        headers=people["worker"],
        json={"workerId": "w1", "newDuration": 5000},
    )
    assert extended.status_code == 204
    failed = client.post(
        f"{ROOT}/external-task/{task['id']}/failure",
        headers=people["worker"],
        json={
            "workerId": "w1",
            "errorMessage": "บริการเครดิตไม่ตอบ",
            "errorDetails": "Traceback: เชื่อมต่อไม่ได้",
            "retries": 2,
            "retryTimeout": 0,
        },
    )
    assert failed.status_code == 204
    [again] = _fetch(client, people, worker="w2")
    assert again["id"] == task["id"] and again["retries"] == 2 and again["errorMessage"] == "บริการเครดิตไม่ตอบ"
    details = client.get(f"{ROOT}/external-task/{task['id']}/errorDetails", headers=people["worker"])
    assert details.status_code == 200 and details.text == "Traceback: เชื่อมต่อไม่ได้"
    assert client.post(f"{ROOT}/external-task/{task['id']}/unlock", headers=people["worker"]).status_code == 204
    listed = client.get(
        f"{ROOT}/external-task", params={"topicName": "credit-check", "notLocked": "true"}, headers=people["worker"]
    )
    assert [t["id"] for t in listed.json()] == [task["id"]]

    [third] = _fetch(client, people, worker="w3")
    error = client.post(
        f"{ROOT}/external-task/{third['id']}/bpmnError",
        headers=people["worker"],
        json={
            "workerId": "w3",
            "errorCode": "REJECTED",
            "errorMessage": "ติดเครดิตบูโร",
            "variables": {"reason": {"value": "บูโร"}},
        },
    )
    assert error.status_code == 204, error.text
    [notify] = _fetch(client, people, topic="notify-rejection", worker="w3")
    assert notify["processInstanceId"] == instance and notify["variables"]["reason"]["value"] == "บูโร"
    forbidden = client.post(
        f"{ROOT}/external-task/fetchAndLock",
        headers=people["officer"],
        json={"workerId": "x", "topics": [{"topicName": "a", "lockDuration": 1}]},
    )
    assert forbidden.status_code == 403
    malformed = client.post(
        f"{ROOT}/external-task/fetchAndLock", headers=people["worker"], json={"workerId": "x", "topics": []}
    )
    assert malformed.status_code == 400 and malformed.json()["type"] == "InvalidRequestException"


def test_uncaught_bpmn_error_becomes_an_incident(client, people, deployed):
    _start(client, people)
    [task] = _fetch(client, people)
    error = client.post(
        f"{ROOT}/external-task/{task['id']}/bpmnError",
        headers=people["worker"],
        json={"workerId": "w1", "errorCode": "UNKNOWN_CODE", "errorMessage": "ไม่มีใครรับ"},
    )
    assert error.status_code == 204
    assert _fetch(client, people) == []
    incidents = client.get(f"{ROOT}/external-task", params={"noRetriesLeft": "true"}, headers=people["worker"]).json()
    assert [t["id"] for t in incidents] == [task["id"]] and "UNKNOWN_CODE" in incidents[0]["errorMessage"]


def test_a_bpmn_error_whose_follow_on_script_fails_opens_an_incident(client, people):
    """Issue 28: the BPMN error goes through the command executor, which records a process error as an incident
    (it answered "the administrators were told" and opened none)."""
    failing = re.sub(
        rb'<bpmn:serviceTask id="Task_notify"[^>]*>',
        b'<bpmn:scriptTask id="Task_notify" name="notify" scriptFormat="python">',
        LOAN,
    ).replace(
        b"<bpmn:outgoing>Flow_7</bpmn:outgoing>\n    </bpmn:serviceTask>",
        b"<bpmn:outgoing>Flow_7</bpmn:outgoing>\n      <bpmn:script>notified = reason + 1</bpmn:script>\n"
        b"    </bpmn:scriptTask>",
    )
    assert b"<bpmn:scriptTask" in failing and b"</bpmn:scriptTask>" in failing
    deployed = _modeler_deploy(client, people["designer"], [("camunda_loan.bpmn", failing)])
    assert deployed.status_code == 200, deployed.text
    instance = _start(client, people)["id"]
    [task] = _fetch(client, people)
    error = client.post(
        f"{ROOT}/external-task/{task['id']}/bpmnError",
        headers=people["worker"],
        json={"workerId": "w1", "errorCode": "REJECTED", "variables": {"reason": {"value": "บูโร"}}},
    )
    assert error.status_code == 400, error.text  # a process error, in Camunda's shape
    bearer = {"Authorization": f"Bearer {_secret(people['designer'])}"}  # who deployed it reads it
    listed = client.get("/api/v1/incidents", params={"instance_id": instance}, headers=bearer)
    assert listed.status_code == 200, listed.text
    [incident] = listed.json()["items"]
    assert incident["element_id"] == "Task_notify" and incident["instance_id"] == instance
    audit = client.get(f"/api/v1/process-instances/{instance}/audit?limit=50", headers=bearer).json()["items"]
    assert "external_task_bpmn_error" not in [e["type"] for e in audit]  # the command rolled back


def test_long_poll_returns_a_task_created_while_it_waits(client, people, deployed):
    found: list = []

    def poll() -> None:
        found.extend(_fetch(client, people, asyncResponseTimeout=20000))

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.3)  # let the fetch start waiting before the task exists
    instance = _start(client, people)["id"]
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert [t["processInstanceId"] for t in found] == [instance]
    assert _fetch(client, people, asyncResponseTimeout=200) == []  # nothing left: the poll times out empty


def test_v1_api_offers_the_same_bpmn_error_extend_lock_and_unlock(client, people, deployed):
    bearer = {"Authorization": f"Bearer {_secret(people['worker'])}"}
    instance = _start(client, people)["id"]
    fetch = {"worker_id": "v1", "max_tasks": 1, "topics": [{"name": "credit-check", "lock_duration_ms": 60000}]}
    [task] = client.post("/api/v1/external-tasks/fetch-and-lock", headers=bearer, json=fetch).json()
    extend = {"worker_id": "v1", "lock_duration_ms": 1000}
    assert (
        client.post(f"/api/v1/external-tasks/{task['id']}/extend-lock", headers=bearer, json=extend).status_code == 204
    )
    assert client.post(f"/api/v1/external-tasks/{task['id']}/unlock", headers=bearer).status_code == 204
    [again] = client.post("/api/v1/external-tasks/fetch-and-lock", headers=bearer, json=fetch).json()
    error = {"worker_id": "v1", "error_code": "REJECTED", "variables": {"reason": "หนี้ค้าง"}}
    caught = client.post(f"/api/v1/external-tasks/{again['id']}/bpmn-error", headers=bearer, json=error)
    assert caught.status_code == 200 and caught.json() == {"caught": True}
    view = client.get(f"/api/v1/process-instances/{instance}/audit?limit=50", headers=bearer).json()["items"]
    assert "external_task_bpmn_error" in [e["type"] for e in view]
    gone = client.post(f"/api/v1/external-tasks/{again['id']}/unlock", headers=bearer)
    assert gone.status_code == 409  # the task is closed: nothing to unlock
    assert client.post("/api/v1/external-tasks/nope/unlock", headers=bearer).status_code == 404


def test_personal_roles_cannot_be_granted(client, admin):
    response = client.post("/api/v1/users", headers=admin, json={"username": "mallory", "roles": ["user:kanya"]})
    assert response.status_code == 422
    assert "user:" in response.json()["errors"][0]["message"]


def test_candidate_starters_may_start_and_nobody_else(client, people, deployed):
    start = f"{ROOT}/process-definition/key/camunda_loan/start"
    by_user = client.post(start, headers=people["requester"], json={"businessKey": "SELF-1"})  # candidateStarterUsers
    assert by_user.status_code == 200, by_user.text
    by_group = client.post(start, headers=people["officer"], json={})  # candidateStarterGroups
    assert by_group.status_code == 200
    refused = client.post(start, headers=people["outsider"], json={})
    assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
    unknown = client.post(f"{ROOT}/process-definition/key/nope/start", headers=people["worker"], json={})
    assert unknown.status_code == 404
    duplicate = client.post(start, headers=people["requester"], json={"businessKey": "SELF-1"})
    assert duplicate.status_code == 409 and "SELF-1" in duplicate.json()["message"]


def test_waiting_fetches_wake_on_tasks_created_by_another_replica(services, settings):
    """A NOTIFY from another service process (here: a plain connection) wakes this process's waiters."""
    if services.db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite there is one service process")
    listener = wakeups.listen(settings.database_url)
    assert listener is not None

    async def wait_for_notify() -> bool:
        with wakeups.SIGNAL.waiting(["credit-check"]) as created:
            for _ in range(50):  # until the listener is connected: repeat the NOTIFY
                with services.db.write() as session:
                    wakeups.created(session, ["credit-check", "ตรวจเครดิต"])
                    session.info.clear()  # only the NOTIFY may wake us, not this process's own commit hook
                try:
                    await asyncio.wait_for(created.wait(), timeout=0.2)
                    return True
                except TimeoutError:
                    continue
        return False

    try:
        assert asyncio.run(wait_for_notify())
    finally:
        listener.stop()


def test_users_and_groups_are_mso_flow_users_and_roles(client, people):
    mine = client.get(f"{ROOT}/group", headers=people["officer"]).json()
    assert mine == [{"id": "loan_officers", "name": "loan_officers", "type": "WORKFLOW"}]
    colleagues = client.get(f"{ROOT}/user", params={"memberOfGroup": "loan_officers"}, headers=people["officer"])
    assert [u["id"] for u in colleagues.json()] == ["officer", "officer2"]
    count = client.get(f"{ROOT}/user/count", params={"memberOfGroup": "loan_officers"}, headers=people["worker"])
    assert count.json() == {"count": 2}
    assert client.get(f"{ROOT}/user/officer/profile", headers=people["officer"]).json()["id"] == "officer"
    other_role = client.get(f"{ROOT}/user", params={"memberOfGroup": "accounting"}, headers=people["officer"])
    assert other_role.status_code == 403 and other_role.json()["type"] == "AuthorizationException"
    assert client.get(f"{ROOT}/user/kanya/profile", headers=people["officer"]).status_code == 403
    assert client.get(f"{ROOT}/user/nobody/profile", headers=people["worker"]).status_code == 404
    everyone = client.get(f"{ROOT}/user", headers=people["worker"]).json()
    assert {"designer", "kanya", "somsri"} <= {u["id"] for u in everyone}


FORM = """<bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="approved" label="อนุมัติ" type="boolean" />
          <camunda:formField id="amount" label="amount" type="long" defaultValue="50000" />
          <camunda:formField id="startOn" label="startOn" type="date" />
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_2</bpmn:incoming>""".encode()


def test_generated_form_fields_take_camunda_typed_values(client, people):
    with_form = LOAN.replace(b"<bpmn:incoming>Flow_2</bpmn:incoming>", FORM, 1)
    assert _modeler_deploy(client, people["designer"], [("camunda_loan.bpmn", with_form)]).status_code == 200
    instance = _start(client, people)["id"]
    _pass_check(client, people, instance)
    task = _task(client, people, instance, "Task_approve")
    form = client.get(f"{ROOT}/task/{task['id']}/form-variables", headers=people["officer"]).json()
    assert form == {
        "approved": {"type": "Boolean", "value": None, "valueInfo": {}},
        "amount": {"type": "Long", "value": 50000, "valueInfo": {}},
        "startOn": {"type": "Date", "value": None, "valueInfo": {}},
    }
    wrong = client.post(
        f"{ROOT}/task/{task['id']}/complete",
        headers=people["officer"],
        json={"variables": {"approved": {"value": "yes", "type": "String"}}},
    )
    assert wrong.status_code == 400 and "approved" in wrong.json()["message"]
    done = client.post(
        f"{ROOT}/task/{task['id']}/submit-form",
        headers=people["officer"],
        json={
            "variables": {
                "approved": {"value": True, "type": "Boolean"},
                "amount": {"value": 75000, "type": "Long"},
                "startOn": {"value": "2027-01-04T00:00:00.000+0700", "type": "Date"},
            }
        },
    )
    assert done.status_code == 204, done.text
    variables = client.get(f"{ROOT}/process-instance/{instance}/variables", headers=people["worker"]).json()
    assert variables["startOn"] == {"type": "Date", "value": "2027-01-04T00:00:00.000+0700", "valueInfo": {}}
    assert variables["amount"]["value"] == 75000
