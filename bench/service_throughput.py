"""Throughput of the สารบรรณ process: the service over HTTP against the in-process floor.

For each database (SQLite, PostgreSQL) this starts the real service (`mso-flow serve`), drives N instances of
`central_saraban` through its 7 steps (claim + complete each) with concurrent clients, then measures the floor:
the same steps in-process through the service layer (SpiffWorkflow plus the same database writes, no HTTP) on
a fresh database. It prints instances/s, steps/s, p50/p95 latency of claim and complete, the ratio
service / floor, and the stored engine state size.

    python bench/service_throughput.py --instances 300 --clients 16 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
from sqlalchemy import func, select

from mso_flow.services import definitions, instances, tasks, users
from mso_flow.services.context import SYSTEM, Caller, Services
from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.db import Database
from mso_flow.store.models import ProcessInstance
from mso_flow.testing.live import ROOT, live_service, postgres_database

KEY = "central_saraban"
CLERK, HEAD = "เจ้าหน้าที่งานสารบรรณ", "หัวหน้าฝ่ายสารบรรณ"
# the 7 steps of the manual's flowchart, routed through the supervisor (step ๕)
PATH = [
    ("Task_receive", CLERK, {"subject": "ขอความอนุเคราะห์ข้อมูล", "speed": "urgent"}),
    ("Task_check", CLERK, {"documents_complete": True}),
    ("Task_register", CLERK, {}),
    ("Task_sort", CLERK, {"importance": "important"}),
    ("Task_review", HEAD, {"orders": "ดำเนินการ"}),
    ("Task_record", CLERK, {}),
    ("Task_send", CLERK, {}),
]


@dataclass
class Run:
    seconds: float = 0.0
    client_cpu: float = 0.0
    instances: int = 0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"start": [], "claim": [], "complete": []})

    @property
    def steps(self) -> int:
        return self.instances * len(PATH)

    def line(self, label: str) -> str:
        return f"{label:<28} {self.instances / self.seconds:8.1f} instances/s {self.steps / self.seconds:9.1f} steps/s"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _drive(url: str, tokens: dict[str, str], count: int, clients: int, run: Run) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def timed(client: httpx.AsyncClient, kind: str, path: str, token: str, body: dict | None) -> dict:
        began = time.perf_counter()
        response = await client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        run.latencies[kind].append(time.perf_counter() - began)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{kind} {path}: {response.status_code} {response.text}")
        return response.json()

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                number = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            instance = await timed(
                client,
                "start",
                f"/api/v1/process-definitions/{KEY}/start",
                tokens["integrator"],
                {"business_key": f"bench-{number}"},
            )
            active = instance["active_tasks"]
            for element, role, variables in PATH:
                task = active[0]
                assert task["element_id"] == element, (task, element)
                await timed(client, "claim", f"/api/v1/tasks/{task['id']}/claim", tokens[role], None)
                done = await timed(
                    client, "complete", f"/api/v1/tasks/{task['id']}/complete", tokens[role], {"variables": variables}
                )
                active = done["instance"]["active_tasks"]
            run.instances += 1

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        run.seconds = time.perf_counter() - began
        run.client_cpu = time.process_time() - cpu


def service_run(database_url: str, count: int, clients: int, workers: int, log_dir: Path) -> tuple[Run, list[int]]:
    with live_service(database_url, log_dir, workers=workers) as live:
        tokens = {}
        with live.client() as admin:
            for name, roles in (("integrator", ["integrator"]), (CLERK, [CLERK]), (HEAD, [HEAD])):
                username = f"bench-{len(tokens)}"
                tokens[name] = admin.post("/api/v1/users", json={"username": username, "roles": roles}).json()["token"]
        asyncio.run(_drive(live.url, tokens, min(clients, count), clients, Run()))  # warm-up
        run = Run()
        asyncio.run(_drive(live.url, tokens, count, clients, run))
    database = Database(database_url)
    with database.read() as session:
        sizes = list(session.scalars(select(func.length(ProcessInstance.engine_state))))
    database.dispose()
    return run, sizes


def floor_run(database_url: str, count: int) -> Run:
    settings = Settings(database_url=database_url, bpmn_dir=ROOT / "bpmn")
    database = Database(database_url)
    migrate.upgrade(database.engine, settings.migrations_dir)
    services = Services(settings=settings, db=database)
    definitions.deploy(
        services, SYSTEM, [("central/central_saraban.bpmn", (ROOT / "bpmn/central/central_saraban.bpmn").read_bytes())]
    )
    callers = {
        "integrator": Caller("integrator", frozenset({"integrator"})),
        CLERK: Caller("clerk", frozenset({CLERK})),
        HEAD: Caller("head", frozenset({HEAD})),
    }
    users.ensure_user(services, "integrator", ["integrator"], "x")

    def one(number: int, run: Run) -> None:
        began = time.perf_counter()
        view = instances.start(services, callers["integrator"], KEY, f"floor-{number}", {})
        run.latencies["start"].append(time.perf_counter() - began)
        task_id = view.active_tasks[0].id
        for _element, role, variables in PATH:
            began = time.perf_counter()
            tasks.claim(services, callers[role], task_id)
            run.latencies["claim"].append(time.perf_counter() - began)
            began = time.perf_counter()
            _, view = tasks.complete(services, callers[role], task_id, variables)
            run.latencies["complete"].append(time.perf_counter() - began)
            task_id = view.active_tasks[0].id if view.active_tasks else ""
        run.instances += 1

    for i in range(min(20, count)):
        one(-1 - i, Run())  # warm-up
    run = Run()
    began = time.perf_counter()
    for i in range(count):
        one(i, run)
    run.seconds = time.perf_counter() - began
    database.dispose()
    return run


def report(label: str, service: Run, floor: Run, sizes: list[int], clients: int, workers: int) -> str:
    lines = [
        f"== {label}: {service.instances} instances x {len(PATH)} steps, {clients} clients, {workers} workers ==",
        service.line("service (HTTP)"),
        floor.line("floor (in-process, 1 thread)"),
        f"{'ratio service / floor':<28} {service.instances / service.seconds / (floor.instances / floor.seconds):8.0%}",
    ]
    requests = sum(len(v) for v in service.latencies.values())
    lines.append(f"{'client CPU per request':<28} {service.client_cpu / requests * 1000:8.2f} ms (same machine)")
    for kind in ("start", "claim", "complete"):
        times = service.latencies[kind]
        lines.append(
            f"{kind:<9} p50 {pct(times, 0.5):6.1f} ms  p95 {pct(times, 0.95):6.1f} ms"
            f"   (floor p50 {pct(floor.latencies[kind], 0.5):5.2f} ms)"
        )
    lines.append(
        f"stored engine state: mean {statistics.mean(sizes) / 1024:.1f} KiB, max {max(sizes) / 1024:.1f} KiB "
        f"(completed 7-step instances)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    with TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.db in ("sqlite", "both"):
            service, sizes = service_run(
                f"sqlite:///{tmp_path / 'service.db'}", args.instances, args.clients, args.workers, tmp_path
            )
            floor = floor_run(f"sqlite:///{tmp_path / 'floor.db'}", args.instances)
            print(report("SQLite", service, floor, sizes, args.clients, args.workers), flush=True)
        if args.db in ("postgresql", "both"):
            with postgres_database() as url:
                service, sizes = service_run(url, args.instances, args.clients, args.workers, tmp_path)
            with postgres_database() as url:
                floor = floor_run(url, args.instances)
            print(report("PostgreSQL", service, floor, sizes, args.clients, args.workers), flush=True)


if __name__ == "__main__":
    main()
