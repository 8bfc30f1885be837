"""Does a long engine step or a slow SQLite writer stall other requests? (issue 31's event-loop question)

Claim and complete are `def` endpoints: FastAPI runs each in the thread pool, so the event loop keeps answering
while a step runs (the engine's evaluations run in evaluator processes, the thread waits on a pipe without the
GIL) or while a write waits for SQLite's lock. Were they `async def`, the loop itself would run the step and
wait for the lock, and every other request of that worker would wait with it. This measures the service as it
is: `mso-flow serve`, SQLite, 1 worker, and while

  (idle)    nothing else runs,
  (step)    a complete runs a script task that takes about `--step-seconds` of CPU (in an evaluator process),
  (writer)  another process holds SQLite's write lock (BEGIN IMMEDIATE … COMMIT) for `--hold` seconds at a time,

one client asks GET /health every 20 ms and another claims a task of another instance every 100 ms (and gives
it back). It prints p50/p95/max of each. /health must stay near its idle figure in every scenario; a claim is a
write, so it queues behind the step's transaction (SQLite has one writer: `Database.write` holds the process's
writer lock for the whole command) or the foreign writer, whatever the endpoint style.

The cost side of the question is in bench/step_cost.py's stack floors: FastAPI `async def` vs `def` endpoints
(one thread hand-off a request).

    python bench/event_loop.py --write bench/results-event-loop.txt
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

from tests.live import live_service

KEY = "slow_step"
ROLE = "bench_staff"


def bpmn(iterations: int) -> str:
    script = f"total = 0\nfor i in range({iterations}):\n    total = total + i % 7\n"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_slow" targetNamespace="http://bench">
  <bpmn:process id="{KEY}" name="ขั้นตอนยาว (bench)" isExecutable="true" camunda:candidateStarterGroups="{ROLE}">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_go" name="เริ่มงานยาว" camunda:candidateGroups="{ROLE}">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="Script_long" name="คำนวณนาน" scriptFormat="python">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="Task_after" name="หลังงานยาว" camunda:candidateGroups="{ROLE}">
      <bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Task_go" />
    <bpmn:sequenceFlow id="F2" sourceRef="Task_go" targetRef="Script_long" />
    <bpmn:sequenceFlow id="F3" sourceRef="Script_long" targetRef="Task_after" />
    <bpmn:sequenceFlow id="F4" sourceRef="Task_after" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def probe(url: str, token: str, spare: list[str], stop: asyncio.Event) -> tuple[list[float], list[float]]:
    """/health every 20 ms and a claim + unclaim of a spare task every 100 ms until `stop`."""
    health: list[float] = []
    claims: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def healths(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            began = time.perf_counter()
            (await client.get("/health")).raise_for_status()
            health.append(time.perf_counter() - began)
            await asyncio.sleep(0.02)

    async def claimer(client: httpx.AsyncClient) -> None:
        n = 0
        while not stop.is_set():
            task = spare[n % len(spare)]
            n += 1
            began = time.perf_counter()
            (await client.post(f"/api/v1/tasks/{task}/claim", headers=headers)).raise_for_status()
            claims.append(time.perf_counter() - began)
            (await client.post(f"/api/v1/tasks/{task}/unclaim", headers=headers)).raise_for_status()
            await asyncio.sleep(0.1)

    async with httpx.AsyncClient(base_url=url, timeout=120) as a, httpx.AsyncClient(base_url=url, timeout=120) as b:
        await asyncio.gather(healths(a), claimer(b))
    return health, claims


def scenario(url: str, token: str, spare: list[str], busy: threading.Thread | None, seconds: float) -> list[str]:
    stop = asyncio.Event()

    async def run() -> tuple[list[float], list[float], float]:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(probe(url, token, spare, stop))
        began = time.perf_counter()
        if busy is not None:
            busy.start()
            await loop.run_in_executor(None, busy.join)
        else:
            await asyncio.sleep(seconds)
        took = time.perf_counter() - began
        stop.set()
        health, claims = await task
        return health, claims, took

    health, claims, took = asyncio.run(run())
    return [
        f"{len(health):6d} {pct(health, 0.5):8.1f} {pct(health, 0.95):8.1f} {max(health) * 1000:8.1f}   "
        f"{len(claims):6d} {pct(claims, 0.5):8.1f} {pct(claims, 0.95):8.1f} {max(claims) * 1000:8.1f}   {took:6.1f}"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--iterations",
        type=int,
        default=300_000,
        help="loop of the long script task (≈ 1.4 s here; 600 000 exceeds an evaluation's CPU limit)",
    )
    parser.add_argument("--steps", type=int, default=8, help="long steps in a row (scenario step)")
    parser.add_argument("--hold", type=float, default=1.0, help="seconds the foreign writer holds the lock")
    parser.add_argument("--holds", type=int, default=4, help="times it does (scenario writer)")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    lines = [
        f"# bench/event_loop.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {os.cpu_count()} cores  "
        f"load average (1 min) {os.getloadavg()[0]:.1f}",
        f"# python {' '.join(sys.argv)}",
        *(f"# {line}" if line else "#" for line in (__doc__ or "").splitlines()),
        "",
    ]
    with TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "bpmn").mkdir()
        (tmp / "bpmn" / "slow_step.bpmn").write_text(bpmn(args.iterations))
        db_file = tmp / "loop.db"
        with live_service(f"sqlite:///{db_file}", tmp, workers=1, bpmn_dir=tmp / "bpmn", log_level="info") as live:
            with live.client() as admin:
                token = admin.post("/api/v1/users", json={"username": "bench", "roles": [ROLE]}).raise_for_status()
                token = token.json()["token"]
            with live.client(token, timeout=300) as client:

                def started() -> str:
                    body = {"business_key": f"b-{time.monotonic_ns()}"}
                    view = client.post(f"/api/v1/process-definitions/{KEY}/start", json=body).raise_for_status()
                    return str(view.json()["active_tasks"][0]["id"])

                spare = [started() for _ in range(4)]
                long_ones = [started() for _ in range(args.steps + 1)]

                # one long step alone first: what it takes
                def complete(task: str) -> None:
                    response = client.post(f"/api/v1/tasks/{task}/complete", json={"variables": {}})
                    if response.status_code != 200:
                        raise RuntimeError(f"complete: {response.status_code} {response.text}")

                began = time.perf_counter()
                complete(long_ones[0])
                alone = time.perf_counter() - began

                failed: list[str] = []

                def long_steps() -> None:
                    for task in long_ones[1:]:
                        try:
                            complete(task)
                        except RuntimeError as err:  # reported below: the scenario is then not what it claims
                            failed.append(str(err)[:200])

                def foreign_writer() -> None:
                    conn = sqlite3.connect(db_file, isolation_level=None, timeout=60)
                    for _ in range(args.holds):
                        conn.execute("BEGIN IMMEDIATE")
                        time.sleep(args.hold)
                        conn.execute("COMMIT")
                        time.sleep(0.2)
                    conn.close()

                lines.append(f"one long step alone (complete with the script task): {alone * 1000:.0f} ms")
                lines.append("")
                lines.append(
                    f"{'scenario':<44} {'/health':>6} {'p50':>8} {'p95':>8} {'max':>8}   "
                    f"{'claims':>6} {'p50':>8} {'p95':>8} {'max':>8}   {'s':>6}"
                )
                rows = [
                    ("idle", None, 4.0),
                    (f"step: {args.steps} long completes in a row", threading.Thread(target=long_steps), 0),
                    (
                        f"writer: SQLite write lock held {args.hold:.1f} s x {args.holds}",
                        threading.Thread(target=foreign_writer),
                        0,
                    ),
                ]
                for label, busy, seconds in rows:
                    result = scenario(live.url, token, spare, busy, seconds)
                    lines.append(f"{label:<44} {result[0]}")
                    print(lines[-1], flush=True)
                if failed:
                    lines.append(f"!! {len(failed)} long step(s) failed: {failed[0]}")
    lines.append("(latencies in ms; 's' = the scenario's wall time)")
    text = "\n".join(lines)
    print(text)
    if args.write:
        args.write.write_text(text + "\n")


if __name__ == "__main__":
    main()
