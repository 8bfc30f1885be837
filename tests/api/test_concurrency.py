"""Concurrent staff against the real service: several worker processes on one PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from tests.live import live_service, postgres_database

CLERK = "เจ้าหน้าที่งานสารบรรณ"
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with postgres_database() as url, live_service(url, tmp_path_factory.mktemp("live"), workers=4) as live:
        yield live


def _user(service, username, *roles):
    with service.client() as admin:
        response = admin.post("/api/v1/users", json={"username": username, "roles": list(roles)})
        assert response.status_code == 201, response.text
        return response.json()["token"]


def test_of_sixteen_concurrent_claims_exactly_one_wins(service):
    integrator = _user(service, "esaraban-c", "integrator")
    tokens = [_user(service, f"clerk-c{i}", CLERK) for i in range(16)]
    with service.client(integrator) as client:
        instance = client.post("/api/v1/process-definitions/central_saraban/start", json={}).json()
    task_id = instance["active_tasks"][0]["id"]
    barrier = Barrier(16)

    def claim(token):
        with service.client(token) as client:
            barrier.wait()
            return client.post(f"/api/v1/tasks/{task_id}/claim")

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(claim, tokens))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 15, [r.text for r in responses if r.status_code not in (200, 409)]
    winner = next(r for r in responses if r.status_code == 200).json()["assignee"]
    losers = [r.json() for r in responses if r.status_code == 409]
    assert all(body["assignee"] == winner for body in losers)
    with service.client() as admin:
        audit = admin.get(f"/api/v1/process-instances/{instance['id']}/audit").json()["items"]
        assert [e["actor"] for e in audit if e["type"] == "task_claimed"] == [winner]
        assert admin.get(f"/api/v1/tasks/{task_id}").json()["assignee"] == winner


def test_concurrent_completes_of_one_instance_do_not_lose_a_step(service):
    """Two clerks race to complete the same task: one completes, the other gets 409, the process moves once."""
    integrator = _user(service, "esaraban-d", "integrator")
    a, b = _user(service, "clerk-d1", CLERK), _user(service, "clerk-d2", CLERK)
    with service.client(integrator) as client:
        instances = [client.post("/api/v1/process-definitions/central_saraban/start", json={}).json() for _ in range(8)]
    barrier = Barrier(16)

    def complete(args):
        token, task_id = args
        with service.client(token) as client:
            barrier.wait()
            return client.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {"subject": "x"}})

    work = [(token, i["active_tasks"][0]["id"]) for i in instances for token in (a, b)]
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(complete, work))
    assert sorted(r.status_code for r in responses) == [200] * 8 + [409] * 8
    with service.client() as admin:
        for instance in instances:
            view = admin.get(f"/api/v1/process-instances/{instance['id']}").json()
            assert [t["element_id"] for t in view["active_tasks"]] == ["Task_check"]
            audit = admin.get(f"/api/v1/process-instances/{instance['id']}/audit").json()["items"]
            assert [e["type"] for e in audit].count("task_completed") == 1
            assert [e["seq"] for e in audit] == list(range(1, len(audit) + 1))


def test_concurrent_bulk_claims_are_all_or_nothing_and_never_overlap(service):
    """Twelve clerks each bulk-claim two neighbouring tasks of a ring at once: the winners' sets are disjoint,
    every loser holds nothing, and each task was claimed exactly once in its audit trail."""
    integrator = _user(service, "esaraban-e", "integrator")
    clerks = [(f"clerk-e{i}", _user(service, f"clerk-e{i}", CLERK)) for i in range(12)]
    with service.client(integrator) as client:
        started = [client.post("/api/v1/process-definitions/central_saraban/start", json={}).json() for _ in range(12)]
    task_ids = [i["active_tasks"][0]["id"] for i in started]
    barrier = Barrier(12)

    def bulk(i):
        _, token = clerks[i]
        with service.client(token) as client:
            barrier.wait()
            return client.post("/api/v1/tasks/claim", json={"task_ids": [task_ids[i], task_ids[(i + 1) % 12]]})

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(bulk, range(12)))
    assert {r.status_code for r in responses} <= {200, 409}
    winners = [i for i, r in enumerate(responses) if r.status_code == 200]
    assert winners, "at least one bulk claim succeeds"
    claimed = [t for i in winners for t in (task_ids[i], task_ids[(i + 1) % 12])]
    assert len(claimed) == len(set(claimed))  # no task in two winning sets
    with service.client() as admin:
        for i, (username, _) in enumerate(clerks):
            mine = {task_ids[i], task_ids[(i + 1) % 12]}
            held = {t for t in task_ids if admin.get(f"/api/v1/tasks/{t}").json()["assignee"] == username}
            assert held == (mine if i in winners else set())
        for instance, task_id in zip(started, task_ids, strict=True):
            audit = admin.get(f"/api/v1/process-instances/{instance['id']}/audit").json()["items"]
            claims = [e["actor"] for e in audit if e["type"] == "task_claimed"]
            assert len(claims) == (1 if task_id in claimed else 0)


def test_concurrent_assigns_of_one_task_are_serialised(service):
    """Eight supervisors reassign one task at once: every accepted assignment is in the audit trail, in order,
    the last one holds the task, and the audit chain verifies."""
    integrator = _user(service, "esaraban-f", "integrator")
    supervisors = [_user(service, f"head-f{i}", CLERK, "supervisor") for i in range(8)]
    targets = [f"clerk-f{i}" for i in range(8)]
    for username in targets:
        _user(service, username, CLERK)
    with service.client(integrator) as client:
        instance = client.post("/api/v1/process-definitions/central_saraban/start", json={}).json()
    task_id = instance["active_tasks"][0]["id"]
    barrier = Barrier(8)

    def assign(i):
        with service.client(supervisors[i]) as client:
            barrier.wait()
            return client.post(f"/api/v1/tasks/{task_id}/assignee", json={"username": targets[i]})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(assign, range(8)))
    assert {r.status_code for r in responses} <= {200, 409}
    accepted = sum(r.status_code == 200 for r in responses)
    assert accepted >= 1
    with service.client() as admin:
        audit = admin.get(f"/api/v1/process-instances/{instance['id']}/audit").json()["items"]
        assigned = [e for e in audit if e["type"] == "task_assigned"]
        assert len(assigned) == accepted
        assert admin.get(f"/api/v1/tasks/{task_id}").json()["assignee"] == assigned[-1]["data"]["assignee"]
        assert admin.get(f"/api/v1/process-instances/{instance['id']}/audit/verify").json()["ok"] is True
