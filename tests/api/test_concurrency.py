"""Concurrent staff against the real service: several worker processes on one PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from mso_flow.testing.live import live_service, postgres_database

CLERK = "เจ้าหน้าที่งานสารบรรณ"
pytestmark = pytest.mark.slow


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
