"""Issue 24, item 8, against the running service (`mso-flow serve`, one worker, SQLite): a condition whose single
built-in call loops or allocates in C ends as a limit incident within its budget, `/health` answers all along,
the worker does not grow, and the evaluator that ran it had its address space capped by the kernel and none of
the service's environment (tokens, keys)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.factory import approval
from tests.live import live_service

pytestmark = pytest.mark.slow
MEBIBYTE = 1024 * 1024
CONDITIONS = {
    "c_max": ("max([[0] * 1000000] * amount + [[1]]) == [1]", 100_000),  # loops in C for minutes
    "c_sum": ("len(sum([[0] * 1000000] * amount, [])) > 0", 200),  # builds 1.6 GB in C
}


def _status(pid: int) -> dict[str, int]:
    """The memory lines of /proc/<pid>/status, in bytes."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {k: int(v.split()[0]) * 1024 for k, v in fields.items() if k in ("VmRSS", "VmHWM", "VmSize")}


def _children(pid: int) -> list[int]:
    return [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]


def _address_space_cap(pid: int) -> int | None:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            soft = line.split()[3]
            return None if soft == "unlimited" else int(soft)
    return None


def _complete_watching(staff, admin, pool, task_id: str, k: int, worker: int):
    """Complete the task with `amount` = k while asking /health: (response, seconds it took, /health latencies,
    how far the worker's resident memory peaked above where it was)."""
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # the worker's peak memory starts here
    before = _status(worker)["VmRSS"]
    started = time.monotonic()
    pending = pool.submit(staff.post, f"/api/v1/tasks/{task_id}/complete", json={"variables": {"amount": k}})
    health_seconds = []
    while not pending.done():
        asked = time.monotonic()
        assert admin.get("/health").status_code == 200
        health_seconds.append(time.monotonic() - asked)
        time.sleep(0.05)
    response = pending.result()
    return response, time.monotonic() - started, health_seconds, _status(worker)["VmHWM"] - before


def test_c_level_amplifiers_end_as_incidents_while_the_worker_answers_and_stays_small(tmp_path):
    bpmn = tmp_path / "bpmn"
    bpmn.mkdir()
    for key, (condition, _) in CONDITIONS.items():
        (bpmn / f"{key}.bpmn").write_bytes(approval(key=key, condition=condition))
    with live_service(f"sqlite:///{tmp_path / 'flow.db'}", tmp_path, workers=1, bpmn_dir=bpmn) as live:
        with live.client() as admin:
            created = admin.post("/api/v1/users", json={"username": "staff1", "roles": ["เจ้าหน้าที่"], "force": True})
            assert created.status_code == 201, created.text
        worker = live.process.pid
        with live.client(created.json()["token"]) as staff, live.client() as admin, ThreadPoolExecutor(1) as pool:
            for key, (_, k) in CONDITIONS.items():
                instance = staff.post(f"/api/v1/process-definitions/{key}/start", json={}).json()
                task_id = instance["active_tasks"][0]["id"]
                response, took, health_seconds, grown = _complete_watching(staff, admin, pool, task_id, k, worker)
                assert response.status_code == 422, response.text
                incident = admin.get(f"/api/v1/incidents/{response.json()['incident_id']}").json()
                assert incident["kind"] == "limit" and "budget exceeded" in incident["message_en"]
                # the budget is 1 s of CPU and 2 s of wall-clock time (+1 s grace); unbounded, each runs for minutes
                assert took < 30, f"{key}: {took:.1f} s"
                assert max(health_seconds) < 2.0, health_seconds
                assert grown < 64 * MEBIBYTE, f"{key}: the worker grew by {grown / MEBIBYTE:.0f} MiB"
            instance = staff.post("/api/v1/process-definitions/c_max/start", json={}).json()
            done = staff.post(
                f"/api/v1/tasks/{instance['active_tasks'][0]['id']}/complete", json={"variables": {"amount": 1}}
            )
            assert done.status_code == 200, done.text  # the same condition, with a small list, evaluates as ever
            evaluators = [c for c in _children(worker) if b"isolation" in Path(f"/proc/{c}/cmdline").read_bytes()]
            assert evaluators, "no evaluator process under the worker"
            for evaluator in evaluators:
                cap = _address_space_cap(evaluator)
                assert cap is not None and cap - _status(evaluator)["VmSize"] <= 256 * MEBIBYTE
                assert b"MSO_FLOW_" not in Path(f"/proc/{evaluator}/environ").read_bytes()  # no token, no key
