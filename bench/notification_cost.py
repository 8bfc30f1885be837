"""What notifications cost the request path: p50/p95/p99 of `complete` with notifications on and off, in the same
run, against the live service (`mso-flow serve`, background loops on, a real SMTP relay: aiosmtpd on loopback).

The workload is a burst of task creations: `--clients` concurrent clients open สารบรรณ cases (start: the first
task; complete it as an admin, which claims and completes it: the second task, left open for the people of its
role) until `--tasks` tasks have been created, in phases that alternate

  off  the people of the process's roles are deactivated: the notification gate (services/notifications/
       audience.py) sees nobody who could be told, and no outbox row is written (the request path as before);
  on   `--people` clerks and heads of section hold the roles, each with an e-mail address (`immediate`): every
       new task writes one outbox row in its command, and the background loop of the same service process fans
       it out to them and mails each one through the relay while the burst goes on.

off, on, off, on …, so that both see the same machine; the admin who drives the burst holds none of the roles.
After each `on` phase the bench waits until every mail of it has reached the relay (reported as the drain time:
how far behind the burst the mails arrive).

Run:   python bench/notification_cost.py [--backends sqlite,postgresql] [--tasks 1000] [--rounds 2]
       python bench/notification_cost.py --write bench/results-notification-cost.txt
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import ROOT, LiveService, free_port, live_service, postgres_database

BPMN = ROOT / "bpmn/central/central_saraban.bpmn"
KEY = "central_saraban"
CLERK, HEAD = "เจ้าหน้าที่งานสารบรรณ", "หัวหน้าฝ่ายสารบรรณ"
STEPS: list[dict[str, Any]] = [{"subject": "ขอความอนุเคราะห์ข้อมูล", "speed": "urgent"}]
TASKS_PER_CASE = 1 + len(STEPS)


class Sink:
    """An SMTP relay that counts what it is given."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.count += 1
        return "250 OK"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def burst(url: str, token: str, tasks: int, clients: int, prefix: str) -> tuple[list[float], float]:
    """Cases until `tasks` tasks were created; the latencies of every complete, and the wall time."""
    cases = -(-tasks // TASKS_PER_CASE)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(cases):
        queue.put_nowait(number)
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            number = queue.get_nowait()
            body = {"business_key": f"{prefix}-{number}"}
            response = await client.post(f"/api/v1/process-definitions/{KEY}/start", json=body, headers=headers)
            response.raise_for_status()
            active = response.json()["active_tasks"]
            for variables in STEPS:
                began = time.perf_counter()
                done = await client.post(
                    f"/api/v1/tasks/{active[0]['id']}/complete", json={"variables": variables}, headers=headers
                )
                latencies.append(time.perf_counter() - began)
                done.raise_for_status()
                active = done.json()["instance"]["active_tasks"]

    began = time.perf_counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return latencies, time.perf_counter() - began


@contextmanager
def database(backend: str, work: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{work / 'mso_flow.db'}"
    else:
        with postgres_database() as url:
            yield url


def people(live: LiveService, count: int) -> list[str]:
    names = []
    with live.client() as admin:
        for number in range(count):
            name = f"person{number}"
            role = HEAD if number % 3 == 2 else CLERK
            body = {"username": name, "roles": [role], "email": f"{name}@example.go.th", "force": True}
            admin.post("/api/v1/users", json=body).raise_for_status()
            names.append(name)
    return names


def set_active(live: LiveService, names: list[str], active: bool) -> None:
    with live.client() as admin:
        for name in names:
            admin.patch(f"/api/v1/users/{name}", json={"active": active}).raise_for_status()
    time.sleep(6)  # the gate's cache of held roles lives 5 s in each worker


def run_backend(backend: str, args: argparse.Namespace, work: Path) -> list[str]:
    port = free_port()
    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=port)
    relay.start()
    bpmn_dir = work / f"bpmn-{uuid.uuid4().hex[:6]}" / "central"
    bpmn_dir.mkdir(parents=True)
    shutil.copy(BPMN, bpmn_dir)
    env = {
        "MSO_FLOW_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "MSO_FLOW_MAIL_FROM": "MSO Flow <noreply@example.go.th>",
        "MSO_FLOW_PUBLIC_URL": "https://flow.example.go.th",
    }
    workers = 1 if backend == "sqlite" else 2
    lines = [f"== {backend} ({workers} worker{'s' if workers > 1 else ''}, {args.clients} clients) =="]
    lines.append(
        f"{'phase':<8} {'tasks':>6} {'seconds':>8} {'tasks/s':>8} {'complete p50':>13} {'p95':>7} {'p99':>7}"
        f" {'mails':>6} {'drained after':>14}"
    )
    try:
        with (
            database(backend, work) as url,
            live_service(
                url, work, workers=workers, bpmn_dir=bpmn_dir.parent, extra_env=env, log_level="warning"
            ) as live,
        ):
            names = people(live, args.people)
            asyncio.run(burst(live.url, live.admin_token, 2 * TASKS_PER_CASE * workers, args.clients, "warm"))
            totals: dict[str, list[float]] = {"off": [], "on": []}
            for round_number in range(args.rounds):
                for phase in ("off", "on"):
                    set_active(live, names, phase == "on")
                    before = sink.count
                    latencies, seconds = asyncio.run(
                        burst(live.url, live.admin_token, args.tasks, args.clients, f"{phase}{round_number}")
                    )
                    ended = time.perf_counter()
                    drained = "-"
                    if phase == "on":
                        expected = _expected(live)
                        while sink.count < expected and time.perf_counter() - ended < 600:
                            time.sleep(0.2)
                        drained = f"{time.perf_counter() - ended:.1f} s"
                    totals[phase] += latencies
                    tasks = len(latencies) * TASKS_PER_CASE
                    figures = _figures(latencies)
                    lines.append(
                        f"{phase:<8} {tasks:>6} {seconds:>8.1f} {tasks / seconds:>8.1f} {figures}"
                        f" {sink.count - before:>6} {drained:>14}"
                    )
            for phase, latencies in totals.items():
                tasks = len(latencies) * TASKS_PER_CASE
                lines.append(f"{'all ' + phase:<8} {tasks:>6} {'':>8} {'':>8} {_figures(latencies)}")
            on95, off95 = pct(totals["on"], 0.95), pct(totals["off"], 0.95)
            lines.append(f"p95 of complete, on − off: {on95 - off95:+.1f} ms ({on95 / off95 - 1:+.0%})")
    finally:
        relay.stop()
    return lines


def _figures(latencies: list[float]) -> str:
    return f"{pct(latencies, 0.5):>13.1f} {pct(latencies, 0.95):>7.1f} {pct(latencies, 0.99):>7.1f}"


def _expected(live: LiveService) -> int:
    """Mails the service has queued so far (sent or not), from the admins' delivery list."""
    with live.client() as admin:
        return int(admin.get("/api/v1/notifications/deliveries?limit=1").json()["total"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--tasks", type=int, default=1000, help="task creations per phase")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--people", type=int, default=6, help="role holders with an address in the `on` phases")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    lines = [
        f"# bench/notification_cost.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.node()}"
        f"  {os.cpu_count()} cores  load average (1 min) at the start {load:.1f}",
        f"# python {' '.join(sys.argv)}",
        *(f"# {line}" if line else "#" for line in (__doc__ or "").split("\n\nRun:")[0].splitlines()),
        "",
        "latencies in ms, of every complete (each creates the next task: `tasks` counts starts and completes);",
        "mails = mails the relay received during the phase; drained after = until the last mail of the phase arrived",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            lines += ["", *run_backend(backend, args, Path(tmp))]
            print("\n".join(lines[-12:]), flush=True)
    lines.append(f"load average (1 min) at the end {os.getloadavg()[0]:.1f}")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
