"""Integrators and time against two real service processes (two workers each) on one PostgreSQL: timers fire
once across all schedulers and across a restart, webhooks reach a receiver that was down, messages reach the
right instance through either service, external-task workers share topics and expired locks retry."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.live import LiveService, free_port, live_service, postgres_database
from tests.receiver import Receiver

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "integration.bpmn"
ENV = {
    "MSO_FLOW_SCHEDULER_INTERVAL_SECONDS": "0.2",
    "MSO_FLOW_WEBHOOK_BACKOFF_SECONDS": "0.5",
    "MSO_FLOW_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
    "MSO_FLOW_WEBHOOK_BREAKER_COOLDOWN_SECONDS": "1",  # the dead receiver comes back: try it again soon
    "MSO_FLOW_MIN_TIMER_INTERVAL_SECONDS": "1",  # the cycle below repeats every five seconds so the test sees it
}
SECRET = "secret-of-the-complaints-portal"
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def bpmn_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bpmn")
    shutil.copy(FIXTURE, directory / FIXTURE.name)
    cycle = (FIXTURE.parent / "start_timers.bpmn").read_bytes().replace(b"R2/PT1M", b"R2/PT5S")  # > start-up time
    (directory / "start_timers.bpmn").write_bytes(cycle)
    return directory


@pytest.fixture(scope="module")
def services(tmp_path_factory, bpmn_dir):
    logs = tmp_path_factory.mktemp("live")
    with (
        postgres_database() as url,
        live_service(url, logs, workers=2, bpmn_dir=bpmn_dir, extra_env=ENV) as a,
        live_service(
            url, logs, workers=2, bpmn_dir=bpmn_dir, extra_env={**ENV, "MSO_FLOW_ADMIN_TOKEN": a.admin_token}
        ) as b,
    ):
        yield a, b


def _integrator(service: LiveService, name: str) -> str:
    with service.client() as admin:
        response = admin.post("/api/v1/users", json={"username": name, "roles": ["integrator"]})
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


def _wait_for(check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def _audit(service: LiveService, instance_id: str) -> list[dict]:
    with service.client() as admin:
        return admin.get(f"/api/v1/process-instances/{instance_id}/audit?limit=200").json()["items"]


def test_every_timer_fires_once_with_four_schedulers(services):
    a, b = services
    token = _integrator(a, "timer-starter")
    with a.client(token) as client:
        ids = [client.post("/api/v1/process-definitions/it_timers/start", json={}).json()["id"] for _ in range(12)]

    def reminded(instance_id: str) -> bool:
        return any(e["type"] == "timer_fired" for e in _audit(b, instance_id))

    _wait_for(lambda: all(reminded(i) for i in ids))
    time.sleep(1.0)  # give a doubled firing the chance to show
    for instance_id in ids:
        events = _audit(a, instance_id)
        assert [e["element_id"] for e in events if e["type"] == "timer_fired"] == ["Boundary_remind"]
        created = [e["element_id"] for e in events if e["type"] == "task_created"]
        assert Counter(created) == {"Task_visit": 1, "Task_remind": 1}


def test_timer_start_events_start_exactly_one_instance_per_firing_with_four_schedulers(services):
    a, _ = services

    def count(key: str) -> int:
        with a.client() as admin:
            return int(admin.get(f"/api/v1/process-instances?key={key}").json()["total"])

    _wait_for(lambda: count("it_cycle") == 2, seconds=40)
    time.sleep(6)  # a third repetition, or a doubled firing, would show by now
    assert count("it_cycle") == 2 and count("it_date") == 1


def test_messages_reach_the_right_instance_through_either_service(services):
    a, b = services
    token = _integrator(a, "portal")
    with a.client(token) as via_a, b.client(token) as via_b:
        started = [
            via_a.post("/api/v1/messages", json={"name": "case_opened", "business_key": f"C-{i}"}) for i in range(4)
        ]
        assert all(r.status_code == 200 and r.json()["started"] for r in started)
        ids = [r.json()["instance_id"] for r in started]
        assert via_b.post("/api/v1/messages", json={"name": "case_opened", "business_key": "C-2"}).status_code == 409
        withdrawn = via_b.post("/api/v1/messages", json={"name": "docs_arrived", "business_key": "C-2"})
        assert withdrawn.status_code == 404  # C-2 is still at its first task
    with a.client() as admin:
        states = [admin.get(f"/api/v1/process-instances/{i}").json()["active_tasks"][0]["element_id"] for i in ids]
        assert states == ["Task_review"] * 4


def test_webhook_events_reach_a_receiver_that_was_down(services):
    _, b = services
    token = _integrator(b, "hook-owner")
    receiver = Receiver(free_port())
    with b.client(token) as client:
        hook = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["*"], "secret": SECRET}).json()
        time.sleep(1.2)  # other service processes see a new subscription within a second (their cache's TTL)
        ids = [client.post("/api/v1/process-definitions/it_external/start", json={}).json()["id"] for _ in range(3)]

        def attempted() -> bool:
            items = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?limit=100").json()["items"]
            return any(d["attempts"] >= 2 for d in items)

        _wait_for(attempted)  # the receiver is down: the head of the sequence failed twice, the rest wait behind
        receiver.start()
        try:

            def delivered() -> bool:
                items = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?limit=100").json()["items"]
                return all(d["state"] == "delivered" for d in items)

            _wait_for(delivered, 30)
            outbox = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?limit=100").json()["items"]
        finally:
            receiver.stop()
        client.delete(f"/api/v1/webhooks/{hook['id']}")
    received = Counter(headers["x-mso-delivery"] for headers, _ in receiver.received)
    assert set(received) == {d["id"] for d in outbox}
    assert max(received.values()) == 1
    for headers, body in receiver.received:
        signed = headers["x-mso-timestamp"].encode() + b"." + body
        assert headers["x-mso-signature"] == "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    per_instance = Counter(e["process_instance_id"] for e in receiver.events() if e["event"] == "instance.started")
    assert per_instance == dict.fromkeys(ids, 1)
    created = [e for e in receiver.events() if e["event"] == "external_task.created"]
    assert sorted(e["process_instance_id"] for e in created) == sorted(ids)


def test_workers_on_both_services_complete_each_external_task_once(services):
    a, b = services
    token = _integrator(a, "finance")
    with a.client(token) as client:
        ids = [client.post("/api/v1/process-definitions/it_external/start", json={}).json()["id"] for _ in range(10)]
        # a worker that dies holding two tasks: its locks expire and others take the tasks over
        dead = client.post(
            "/api/v1/external-tasks/fetch-and-lock",
            json={"worker_id": "dead", "topics": [{"name": "payment", "lock_duration_ms": 1500}], "max_tasks": 2},
        ).json()
        assert len(dead) == 2

    def all_done() -> bool:
        with a.client() as admin:
            listed = admin.get("/api/v1/process-instances?key=it_external&limit=100").json()["items"]
        return all(i["active_tasks"] for i in listed)  # no instance waits for the finance system

    def work(args: tuple[LiveService, str]) -> list[str]:
        service, worker = args
        done: list[str] = []
        topics = [{"name": "payment", "lock_duration_ms": 10_000}]
        with service.client(token) as client:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                body = {"worker_id": worker, "topics": topics, "max_tasks": 2}
                locked = client.post("/api/v1/external-tasks/fetch-and-lock", json=body).json()
                for task in locked:
                    response = client.post(
                        f"/api/v1/external-tasks/{task['id']}/complete",
                        json={"worker_id": worker, "variables": {"paid_by": worker}},
                    )
                    assert response.status_code == 204, response.text
                    done.append(task["process_instance_id"])
                if not locked:
                    if all_done():
                        break
                    time.sleep(0.2)
        return done

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, [(a, "wa1"), (a, "wa2"), (b, "wb1"), (b, "wb2")]))
    completed = Counter(i for done in results for i in done)
    assert max(completed.values()) == 1  # no task completed twice (older instances of other tests may join)
    assert set(ids) <= set(completed)
    assert {d["process_instance_id"] for d in dead} <= set(completed)
    with a.client() as admin:
        for instance_id in ids:
            instance = admin.get(f"/api/v1/process-instances/{instance_id}").json()
            assert [t["element_id"] for t in instance["active_tasks"]] == ["Task_check"]
            assert instance["variables"]["paid_by"] in {"wa1", "wa2", "wb1", "wb2"}


def test_timers_due_while_the_service_was_down_fire_once_after_restart(tmp_path_factory, bpmn_dir):
    logs = tmp_path_factory.mktemp("restart")
    with postgres_database() as url:
        with live_service(url, logs, workers=1, bpmn_dir=bpmn_dir, extra_env=ENV) as first:
            token = _integrator(first, "restart-starter")
            admin_token = first.admin_token
            with first.client(token) as client:
                ids = [
                    client.post("/api/v1/process-definitions/it_timers/start", json={}).json()["id"] for _ in range(3)
                ]
        time.sleep(2.5)  # every visit timer falls due while no service runs
        env = {**ENV, "MSO_FLOW_ADMIN_TOKEN": admin_token}
        with live_service(url, logs, workers=2, bpmn_dir=bpmn_dir, extra_env=env) as second:
            _wait_for(lambda: all(any(e["type"] == "timer_fired" for e in _audit(second, i)) for i in ids))
            time.sleep(1.0)
            for instance_id in ids:
                fired = [e for e in _audit(second, instance_id) if e["type"] == "timer_fired"]
                assert [e["element_id"] for e in fired] == ["Boundary_remind"]
