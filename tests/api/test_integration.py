"""Integrators and time, in one service process: messages, timers, the webhook outbox and external tasks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest

from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.integrations import timers
from mso_flow.services.integrations.webhook_delivery import deliver_due
from mso_flow.services.platform.context import SYSTEM
from tests.clock import ManualClock
from tests.live import free_port
from tests.receiver import Receiver

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "integration.bpmn"
STAFF, SUPERVISOR, FINANCE = "เจ้าหน้าที่", "ผู้อำนวยการกอง", "เจ้าหน้าที่การเงิน"


@pytest.fixture
def deployed(services):
    definitions.deploy(services, SYSTEM, [("integration.bpmn", FIXTURE.read_bytes())])


@pytest.fixture
def integrator(make_user, deployed):
    return make_user("eservice", "integrator")


def _open_tasks(client, instance_id, headers):
    body = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).json()
    return sorted(t["element_id"] for t in body["active_tasks"])


def _audit_types(client, instance_id, headers):
    items = client.get(f"/api/v1/process-instances/{instance_id}/audit?limit=200", headers=headers).json()["items"]
    return [e["type"] for e in items]


def _complete(client, task_element, instance_id, headers, variables=None):
    task = next(
        t
        for t in client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).json()["active_tasks"]
        if t["element_id"] == task_element
    )
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).status_code == 200
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"variables": variables or {}})
    assert response.status_code == 200, response.text


def test_messages_start_and_advance_exactly_the_right_instance(client, integrator, make_user, admin):
    staff = make_user("somchai", STAFF)
    send = lambda body: client.post("/api/v1/messages", headers=integrator, json=body)  # noqa: E731

    started = send({"name": "case_opened", "business_key": "HOT-1", "variables": {"caller": "นางสมศรี"}})
    assert started.status_code == 200 and started.json()["started"] is True
    first = started.json()["instance_id"]
    other = send({"name": "case_opened", "business_key": "HOT-2"}).json()["instance_id"]
    assert other != first
    # a duplicate start while HOT-1 runs names the running instance
    duplicate = send({"name": "case_opened", "business_key": "HOT-1"})
    assert duplicate.status_code == 409 and duplicate.json()["instance_id"] == first
    # nobody waits for docs yet
    early = send({"name": "docs_arrived", "business_key": "HOT-1"})
    assert early.status_code == 404 and early.headers["content-type"].startswith("application/problem+json")

    _complete(client, "Task_review", first, staff)
    docs = send({"name": "docs_arrived", "business_key": "HOT-1", "variables": {"pages": 3}})
    assert docs.json() == {"instance_id": first, "started": False}
    payment = send({"name": "payment_done", "process_instance_id": first, "variables": {"amount": 1500}})
    assert payment.status_code == 200 and payment.json()["instance_id"] == first
    instance = client.get(f"/api/v1/process-instances/{first}", headers=admin).json()
    assert instance["variables"] | {} == {"caller": "นางสมศรี", "pages": 3, "amount": 1500} | instance["variables"]
    assert [t["element_id"] for t in instance["active_tasks"]] == ["Task_close"]
    # the other instance did not move
    assert _open_tasks(client, other, admin) == ["Task_review"]

    # a boundary message interrupts the open task and ends the instance on its own path
    withdrawn = send({"name": "case_withdrawn", "business_key": "HOT-1"})
    assert withdrawn.status_code == 200
    instance = client.get(f"/api/v1/process-instances/{first}", headers=admin).json()
    assert instance["state"] == "completed" and instance["active_tasks"] == []
    types = _audit_types(client, first, admin)
    assert types.count("message_correlated") == 3 and "task_cancelled" in types
    assert send({"name": "case_withdrawn", "business_key": "HOT-1"}).status_code == 404


def test_message_misuse_gets_precise_answers(client, integrator, make_user):
    staff = make_user("somchai", STAFF)
    assert (
        client.post("/api/v1/messages", headers=staff, json={"name": "case_opened", "business_key": "X"}).status_code
        == 403
    )
    missing = client.post("/api/v1/messages", headers=integrator, json={"name": "case_opened"})
    assert missing.status_code == 422 and missing.json()["type"].endswith("correlation_required")
    unknown = client.post("/api/v1/messages", headers=integrator, json={"name": "nobody_listens", "business_key": "X"})
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("no_message_receiver")
    bad = client.post(
        "/api/v1/messages",
        headers=integrator,
        json={"name": "case_opened", "business_key": "X", "variables": {"1x": 1}},
    )
    assert bad.status_code == 422
    listed = client.get("/api/v1/process-instances?key=it_messages", headers=integrator).json()
    assert listed["total"] == 0  # nothing was started by the rejected messages


def test_timers_fire_once_escalate_and_interrupt(client, services, integrator, make_user, admin):
    staff = make_user("somchai", STAFF)
    boss = make_user("director", SUPERVISOR)
    instance_id = client.post("/api/v1/process-definitions/it_timers/start", headers=integrator, json={}).json()["id"]
    assert timers.fire_due(services) == 0  # nothing is due yet
    time.sleep(2.1)
    assert timers.fire_due(services) == 1
    assert timers.fire_due(services) == 0  # fired exactly once
    # non-interrupting: the visit stays open, the supervisor gets a follow-up task
    assert _open_tasks(client, instance_id, admin) == ["Task_remind", "Task_visit"]
    inbox = client.get("/api/v1/tasks", headers=boss).json()["items"]
    assert [t["name"] for t in inbox] == ["ติดตามการลงพื้นที่"]

    _complete(client, "Task_visit", instance_id, staff)
    assert _open_tasks(client, instance_id, admin) == ["Task_remind"]  # waiting on the intermediate timer
    time.sleep(1.1)
    assert timers.fire_due(services) == 1
    assert _open_tasks(client, instance_id, admin) == ["Task_remind", "Task_report"]
    time.sleep(2.1)
    assert timers.fire_due(services) == 1
    # interrupting: the late report is cancelled and escalated
    assert _open_tasks(client, instance_id, admin) == ["Task_escalate", "Task_remind"]
    types = _audit_types(client, instance_id, admin)
    assert types.count("timer_fired") == 3
    assert types[-3:] == ["timer_fired", "task_cancelled", "task_created"]


def test_a_timer_of_a_finished_instance_never_fires(client, services, integrator, admin):
    instance_id = client.post("/api/v1/process-definitions/it_timers/start", headers=integrator, json={}).json()["id"]
    cancel = client.post(f"/api/v1/process-instances/{instance_id}/cancel", headers=admin, json={"reason": "ทดสอบ"})
    assert cancel.status_code == 200
    time.sleep(2.1)
    assert timers.fire_due(services) == 0
    assert "timer_fired" not in _audit_types(client, instance_id, admin)


def test_webhooks_reach_a_receiver_that_was_down_signed_with_a_stable_delivery_id(client, services, integrator, admin):
    services.settings.webhook_backoff_seconds = 0.2
    services.settings.webhook_allowed_networks = "127.0.0.1/32"
    receiver = Receiver(free_port())  # not listening yet
    secret = "s3cret-of-the-eservice"
    created = client.post(
        "/api/v1/webhooks",
        headers=integrator,
        json={"url": receiver.url, "events": ["instance.started", "task.created"], "secret": secret},
    )
    assert created.status_code == 201 and "secret" not in created.json()
    hook = created.json()["id"]
    instance_id = client.post("/api/v1/process-definitions/it_timers/start", headers=integrator, json={}).json()["id"]
    # recorded with the start, before any delivery
    outbox = client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=integrator).json()["items"]
    assert [d["event"] for d in outbox] == ["instance.started", "task.created"]
    assert {d["state"] for d in outbox} == {"pending"}

    assert deliver_due(services) == 0  # the receiver is down
    failed = client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=integrator).json()["items"]
    # the first failure ends the subscription's sequence: the second delivery waits behind it, unattempted
    assert [(d["attempts"], d["last_error"]) for d in failed] == [(1, "refused"), (0, None)]
    receiver.start()
    try:
        time.sleep(0.3)
        assert deliver_due(services) == 2
        assert deliver_due(services) == 0
    finally:
        receiver.stop()
    done = client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=integrator).json()["items"]
    assert {d["state"] for d in done} == {"delivered"} and [d["attempts"] for d in done] == [2, 1]
    assert sorted(h["x-mso-delivery"] for h, _ in receiver.received) == sorted(d["id"] for d in done)
    for headers, body in receiver.received:
        signed = headers["x-mso-timestamp"].encode() + b"." + body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        assert headers["x-mso-signature"] == expected
        assert headers["x-mso-event"] == json.loads(body)["event"]
    started = next(e for e in receiver.events() if e["event"] == "instance.started")
    assert started["process_instance_id"] == instance_id and started["definition_key"] == "it_timers"
    task = next(e for e in receiver.events() if e["event"] == "task.created")
    assert task["data"]["name"] == "ลงพื้นที่"

    assert client.delete(f"/api/v1/webhooks/{hook}", headers=integrator).status_code == 204
    assert client.get("/api/v1/webhooks", headers=integrator).json()["items"] == []
    assert client.delete(f"/api/v1/webhooks/{hook}", headers=integrator).status_code == 404


def test_webhook_misuse(client, integrator, make_user):
    staff = make_user("somchai", STAFF)
    body = {"url": "http://127.0.0.1:9/hook", "events": ["task.created"], "secret": "0123456789abcdef"}
    assert client.post("/api/v1/webhooks", headers=staff, json=body).status_code == 403
    unknown = client.post("/api/v1/webhooks", headers=integrator, json=body | {"events": ["task.eaten"]})
    assert unknown.status_code == 422 and "task.eaten" in unknown.json()["detail"]
    assert client.post("/api/v1/webhooks", headers=integrator, json=body | {"url": "not a url"}).status_code == 422
    assert client.get("/api/v1/webhooks", headers=integrator).json()["total"] == 0


def _fetch(client, headers, worker, lock_ms=60_000):
    response = client.post(
        "/api/v1/external-tasks/fetch-and-lock",
        headers=headers,
        json={"worker_id": worker, "topics": [{"name": "payment", "lock_duration_ms": lock_ms}], "max_tasks": 5},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_external_tasks_lock_fail_retry_expire_and_complete(client, integrator, make_user, admin):
    instance_id = client.post(
        "/api/v1/process-definitions/it_external/start", headers=integrator, json={"variables": {"amount": 1500}}
    ).json()["id"]
    assert _open_tasks(client, instance_id, admin) == []  # waiting for the finance system

    [task] = _fetch(client, integrator, "w1")
    assert task["topic"] == "payment" and task["variables"] == {"amount": 1500} and task["worker_id"] == "w1"
    assert _fetch(client, integrator, "w2") == []  # locked by w1
    url = f"/api/v1/external-tasks/{task['id']}"
    stolen = client.post(f"{url}/complete", headers=integrator, json={"worker_id": "w2"})
    assert stolen.status_code == 409 and stolen.json()["type"].endswith("external_task_not_locked")

    failed = client.post(
        f"{url}/failure", headers=integrator, json={"worker_id": "w1", "error_message": "timeout", "retries": 2}
    )
    assert failed.status_code == 200 and failed.json()["retries"] == 2 and failed.json()["worker_id"] is None
    [again] = _fetch(client, integrator, "w2", lock_ms=300)  # retry timeout 0: fetchable at once
    assert again["id"] == task["id"] and again["retries"] == 2
    time.sleep(0.4)  # w2's lock expires
    [third] = _fetch(client, integrator, "w1")
    assert third["id"] == task["id"]
    late = client.post(f"{url}/complete", headers=integrator, json={"worker_id": "w2"})
    assert late.status_code == 409

    done = client.post(f"{url}/complete", headers=integrator, json={"worker_id": "w1", "variables": {"paid": True}})
    assert done.status_code == 204
    assert _open_tasks(client, instance_id, admin) == ["Task_check"]
    variables = client.get(f"/api/v1/process-instances/{instance_id}", headers=admin).json()["variables"]
    assert variables == {"amount": 1500, "paid": True}
    assert client.post(f"{url}/complete", headers=integrator, json={"worker_id": "w1"}).status_code == 409
    types = _audit_types(client, instance_id, admin)
    assert types.count("external_task_failed") == 1 and types.count("external_task_completed") == 1


def test_an_external_task_out_of_retries_is_an_incident_no_worker_fetches(client, integrator, make_user, admin):
    staff = make_user("somchai", FINANCE)
    client.post("/api/v1/process-definitions/it_external/start", headers=integrator, json={})
    [task] = _fetch(client, integrator, "w1")
    url = f"/api/v1/external-tasks/{task['id']}"
    assert client.post(f"{url}/complete", headers=staff, json={"worker_id": "w1"}).status_code == 403
    incident = client.post(
        f"{url}/failure", headers=integrator, json={"worker_id": "w1", "error_message": "ระบบการเงินปิด", "retries": 0}
    )
    assert incident.status_code == 200 and incident.json()["error_message"] == "ระบบการเงินปิด"
    assert _fetch(client, integrator, "w2") == []
    [opened] = client.get("/api/v1/incidents", headers=admin, params={"state": "open"}).json()["items"]
    assert opened["kind"] == "external_task" and "ระบบการเงินปิด" in opened["message_en"]
    retried = client.post(f"/api/v1/incidents/{opened['id']}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json()["state"] == "resolved"
    [again] = _fetch(client, integrator, "w2")  # one more attempt after the administrator's retry
    assert again["id"] == task["id"]
    assert (
        client.post("/api/v1/external-tasks/nope/complete", headers=integrator, json={"worker_id": "w1"}).status_code
        == 404
    )


START_TIMERS = FIXTURE.parent / "start_timers.bpmn"


def _instances(client, key, headers):
    return client.get(f"/api/v1/process-instances?key={key}", headers=headers).json()["items"]


def test_timer_start_events_start_one_instance_per_firing(client, services, admin):
    services.clock = clock = ManualClock()
    definitions.deploy(services, SYSTEM, [("start_timers.bpmn", START_TIMERS.read_bytes())])
    # a date already past fires at the first round; a cycle of two fires after one and after two minutes
    assert timers.fire_due(services) == 1
    [dated] = _instances(client, "it_date", admin)
    assert dated["started_by"] == "timer" and [t["element_id"] for t in dated["active_tasks"]] == ["Task_it_date"]
    assert _instances(client, "it_cycle", admin) == []
    clock.advance(61)
    assert timers.fire_due(services) == 1
    clock.advance(61)
    assert timers.fire_due(services) == 1
    clock.advance(61)
    assert timers.fire_due(services) == 0  # R2: two repetitions only
    cycle = _instances(client, "it_cycle", admin)
    assert len(cycle) == 2 and all(len(i["active_tasks"]) == 1 for i in cycle)
    assert len(_instances(client, "it_date", admin)) == 1  # a date fires once


def test_a_new_version_replaces_the_start_timers_of_the_old(client, services, admin):
    services.clock = clock = ManualClock()
    definitions.deploy(services, SYSTEM, [("start_timers.bpmn", START_TIMERS.read_bytes())])
    changed = START_TIMERS.read_bytes().replace(b"R2/PT1M", b"R1/PT2M")
    definitions.deploy(services, SYSTEM, [("start_timers.bpmn", changed)])
    timers.fire_due(services)  # the dated process (version 2 now) starts once
    clock.advance(61)
    assert timers.fire_due(services) == 0  # version 1's one-minute cycle was cancelled
    clock.advance(61)
    assert timers.fire_due(services) == 1
    [instance] = _instances(client, "it_cycle", admin)
    assert instance["definition_version"] == 2
    assert len(_instances(client, "it_date", admin)) == 1
