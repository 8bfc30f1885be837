"""What a step of the สารบรรณ process costs: the service over HTTP against the engine's own floor, same run.

The workload is `central_saraban` (bpmn/central/central_saraban.bpmn) along its 7 user tasks: start, then for
each task claim + complete (15 requests an instance): the path of the former bench/service_throughput.py, which this
replaces.

(a) floor     SpiffWorkflow 3.2 alone, 1 client: the parsed spec cached in memory, the state serialized without
              the spec exactly as engine/runtime.py does (`ProcessRuntime.load`/`dump`, sandboxed script
              engine), raw DB-API (sqlite3 / psycopg) on the same kind of database. start = engine start + INSERT
              instance + INSERT task row + COMMIT; claim = UPDATE task row + COMMIT; complete = deserialize the
              state text + engine step + serialize + UPDATE instance state (optimistic version) + UPDATE the
              done task row + INSERT the next task row + COMMIT. No SELECT: the floor keeps the state text.
(b) in-proc   the service layer's commands called in-process (services.instances.start / tasks.claim /
              tasks.complete, each answering ids and states, not the read views v1 answers with), 1 thread, no
              HTTP: separates the service layer's cost from HTTP's.
(c) service   `mso-flow serve` over HTTP (httpx clients on this machine), SQLite with 1 worker, PostgreSQL with
              2 and 4 workers, 1 / 8 / 16 concurrent clients; `--log-level info` (the default: one access line
              per request, text format).
(d) stack     the floor of the HTTP stack itself (bench/stack_floor.py), no database: a bare ASGI app, bare
              FastAPI with `async def` endpoints and with `def` endpoints (one thread hand-off, as the service's),
              each served by uvicorn exactly as `mso-flow serve` serves the service (1 worker, same options),
              answering the same 15 requests an instance with the service's own responses (same sizes), driven
              by the same client and measured the same way as (c). Shown in the first backend's table.

It reports instances/s, CPU ms per instance (floor and in-proc: this process; service: utime+stime of the
server's whole process tree from /proc, children included, minus its idle rate (background loops, measured once
every worker has started) times the run's duration), p50/p95 per request kind, SQL statements and
commits per request kind (a separate short pass with MSO_FLOW_SQL_STATS=1, read from the X-SQL-* headers, so
the timed runs carry no counter), the stored engine state per instance, and the ratios service / floor.

Pinning (`--pin on`, the default; `--pin off,on` runs both): the server's process tree (every uvicorn worker) runs
on one core and the HTTP clients on the other (sched_setaffinity, as `taskset -c` does: the server is spawned
while this process is on the server core, then this process moves to the client core; the report shows the
server tree's Cpus_allowed_list read from /proc). The floor and the in-process service layer run on the server
core. PostgreSQL's own backends are not pinned (they are not the service's processes).

Not covered: PostgreSQL's own server CPU (every CPU figure is the database client's side only), the HTTP
clients' CPU beyond a per-request figure (they share the 2 cores with the server, so high client counts
understate the service), other processes, timers, messages, gateways beyond this path, list/inbox queries,
web views, large variables, long instance histories, network latency (everything is on 127.0.0.1).

Quick check (under a minute):   python bench/step_cost.py
Full run (quiet machine):       python bench/step_cost.py --instances 200 --floor-instances 500 \\
                                    --write bench/results-step-cost.txt
The stack floors alone:         python bench/stack_floor.py
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import datetime
import os
import platform
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
import psycopg
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event, select

from mso_flow.engine.parsing import ParsedProcess, parse_document
from mso_flow.engine.runtime import ProcessRuntime
from mso_flow.engine.sandbox import create_script_engine
from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform.context import SYSTEM, Caller, Services
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.db import SQL_STATS_ENV, Database, counting_sql
from mso_flow.store.models import ProcessInstance

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import ROOT, live_service, postgres_database

# one master key for every service this benchmark runs, in-process or served: given as a value, so that no key
# file is written into the working directory and no worker creates one on first use
os.environ.setdefault("MSO_FLOW_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())

KEY = "central_saraban"
BPMN = ROOT / "bpmn/central/central_saraban.bpmn"


def without_documents(xml: bytes) -> bytes:
    """The process without its `file` form fields: step ๓'s required letter, step ๖'s scan (issue 26). The workload
    stays the one measured before documents existed, so this bench shows what a process without documents costs."""
    from lxml import etree

    root = etree.fromstring(xml)
    for field_ in root.iter("{http://camunda.org/schema/1.0/bpmn}formField"):
        if field_.get("type") == "file":
            field_.getparent().remove(field_)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


BPMN_XML = without_documents(BPMN.read_bytes())
CLERK, HEAD = "เจ้าหน้าที่งานสารบรรณ", "หัวหน้าฝ่ายสารบรรณ"
# the 7 steps of the manual's flowchart, routed through the supervisor (step ๕)
PATH: list[tuple[str, str, dict[str, Any]]] = [
    ("Task_receive", CLERK, {"subject": "ขอความอนุเคราะห์ข้อมูล", "speed": "urgent"}),
    ("Task_check", CLERK, {"documents_complete": True}),
    ("Task_register", CLERK, {}),
    ("Task_sort", CLERK, {"importance": "important"}),
    ("Task_review", HEAD, {"orders": "ดำเนินการ"}),
    ("Task_record", CLERK, {}),
    ("Task_send", CLERK, {}),
]
KINDS = ("start", "claim", "complete")
# the service runs as `mso-flow serve` does by default: one access log line per request (text), as in production
LOG_LEVEL = "info"
REQUESTS_PER_INSTANCE = 1 + 2 * len(PATH)
# (client core, server core) when pinned; None: the scheduler's choice
PIN: tuple[int, int] | None = None
ALL_CORES = frozenset(os.sched_getaffinity(0))


def pin_to_server_core() -> None:
    """This process on the server's core: what it spawns now inherits that core (or every core, unpinned)."""
    os.sched_setaffinity(0, {PIN[1]} if PIN else ALL_CORES)


def pin_to_client_core() -> None:
    os.sched_setaffinity(0, {PIN[0]} if PIN else ALL_CORES)


def tree_affinity(root: int) -> str:
    """The distinct Cpus_allowed_list of `root` and its descendants (threads included), e.g. '1'."""
    seen: set[str] = set()
    for pid in tree_pids(root):
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                status = Path(f"/proc/{pid}/task/{task}/status").read_text()
                seen.add(status.split("Cpus_allowed_list:")[1].split()[0])
        except (OSError, IndexError):
            continue
    return "+".join(sorted(seen))


@dataclass
class Run:
    """One measured run: wall time, CPU, latencies and SQL counts per request kind, stored state sizes."""

    label: str
    seconds: float = 0.0
    cpu: float = 0.0  # of whoever runs the steps (this process, or the server's process tree net of idle)
    idle: float = 0.0  # the server's CPU seconds per second while idle (background loops), already subtracted
    client_cpu: float = 0.0
    instances: int = 0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    sql: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: {k: [] for k in KINDS})
    body_bytes: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in KINDS})  # responses over HTTP
    sizes: list[int] = field(default_factory=list)
    statements: dict[str, list[str]] = field(default_factory=dict)  # the SQL of the first request of each kind
    affinity: str = ""  # the server tree's cores (Cpus_allowed_list), the clients' after a slash

    @property
    def rate(self) -> float:
        return self.instances / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.instances * 1000 if self.instances else 0.0

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        began = time.perf_counter()
        yield
        self.latencies[kind].append(time.perf_counter() - began)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# ---------------------------------------------------------------- CPU of a process tree


def tree_pids(root: int) -> list[int]:
    """`root` and its live descendants."""
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(raw[raw.rfind(")") + 2 :].split()[1])].append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents[pid])
    return found


def tree_cpu(root: int) -> float:
    """utime + stime (+ reaped children's) in seconds of `root` and all its live descendants."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    children: dict[int, list[int]] = defaultdict(list)
    for pid, ppid in parents.items():
        children[ppid].append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(children[pid])
    return total / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- (a) the floor: SpiffWorkflow + raw DB-API

FLOOR_SCHEMA = [
    "CREATE TABLE floor_instance (id VARCHAR(36) PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL)",
    "CREATE TABLE floor_task (id VARCHAR(36) PRIMARY KEY, instance_id VARCHAR(36) NOT NULL, "
    "assignee VARCHAR(64), state VARCHAR(16) NOT NULL)",
]

INSERT_TASK = "INSERT INTO floor_task (id, instance_id, state) VALUES (?, ?, 'ready')"


class FloorDb:
    """One DB-API connection, counting its statements and commits per request kind."""

    def __init__(self, backend: str, target: str):
        self.backend = backend
        if backend == "sqlite":
            self.conn: Any = sqlite3.connect(target, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.mark = "?"
        else:
            self.conn = psycopg.connect(target.replace("+psycopg", ""))
            self.mark = "%s"
        self.statements = self.commits = 0
        with self.transaction():
            for ddl in FLOOR_SCHEMA:
                self.execute(ddl)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.backend == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")
        yield
        self.conn.commit()
        self.commits += 1

    def execute(self, sql: str, *params: Any) -> None:
        self.conn.execute(sql.replace("?", self.mark), params)
        self.statements += 1

    def counts(self) -> tuple[int, int]:
        return self.statements, self.commits

    def states(self) -> list[int]:
        return [len(row[0].encode()) for row in self.conn.execute("SELECT state FROM floor_instance").fetchall()]


def parsed_process() -> ParsedProcess:
    return next(p for p in parse_document(BPMN_XML, "central/central_saraban.bpmn") if p.definition.key == KEY)


def floor_run(backend: str, target: str, count: int, warmup: int) -> Run:
    process, runtime, db = parsed_process(), ProcessRuntime(), FloorDb(backend, target)

    def ready(workflow: BpmnWorkflow) -> str:
        tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
        return str(tasks[0].id) if tasks else ""

    def counted(run: Run, kind: str, action: Callable[[], None]) -> None:
        before = db.counts()
        with run.timed(kind):
            action()
        after = db.counts()
        run.sql[kind].append((after[0] - before[0], after[1] - before[1]))

    def one(run: Run) -> None:
        instance_id = str(uuid.uuid4())
        current: dict[str, Any] = {"task": "", "state": "", "version": 1}

        def start() -> None:
            workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=create_script_engine())
            workflow.do_engine_steps()
            current["task"] = ready(workflow)
            current["state"] = state = runtime.dump(workflow)
            with db.transaction():
                db.execute("INSERT INTO floor_instance (id, version, state) VALUES (?, 1, ?)", instance_id, state)
                db.execute(INSERT_TASK, current["task"], instance_id)

        counted(run, "start", start)
        for _element, _role, variables in PATH:

            def claim() -> None:
                with db.transaction():
                    db.execute("UPDATE floor_task SET assignee = ? WHERE id = ?", "clerk", current["task"])

            def complete(variables: dict[str, Any] = variables) -> None:
                workflow = runtime.load(process, current["state"])  # from its text, as a service loads it
                task = workflow.get_task_from_id(uuid.UUID(current["task"]))
                task.set_data(**variables)
                task.run()
                workflow.do_engine_steps()
                done, current["task"] = current["task"], ready(workflow)
                current["state"] = state = runtime.dump(workflow)
                with db.transaction():
                    db.execute(
                        "UPDATE floor_instance SET state = ?, version = ? WHERE id = ? AND version = ?",
                        state,
                        current["version"] + 1,
                        instance_id,
                        current["version"],
                    )
                    db.execute("UPDATE floor_task SET state = 'completed' WHERE id = ?", done)
                    if current["task"]:
                        db.execute(INSERT_TASK, current["task"], instance_id)
                current["version"] += 1

            counted(run, "claim", claim)
            counted(run, "complete", complete)
        run.instances += 1

    for _ in range(warmup):
        one(Run("warm-up"))
    run = Run(f"floor {backend}")
    began, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        one(run)
    run.seconds, run.cpu = time.perf_counter() - began, time.process_time() - cpu
    run.sizes = db.states()
    db.conn.close()
    return run


# ---------------------------------------------------------------- (b) the service layer in-process


def inproc_run(
    database_url: str,
    count: int,
    warmup: int,
    show_sql: bool = False,
    profiler: cProfile.Profile | None = None,
    counted: int = 3,
) -> Run:
    """The service layer in-process; `profiler`, if given, runs during the timed loop only.

    SQL statements and commits are counted in a separate pass of `counted` instances through a `Database` of their
    own (with MSO_FLOW_SQL_STATS=1: listeners on its engine), as the HTTP runs count them in a separate server: an
    engine with connection event listeners dispatches them on every statement (≈ 10 µs each), so the timed loop
    runs on an engine without them, as a served process does."""
    # the audit signing key beside this run's files, not in the working directory
    key_file = Path(tempfile.gettempdir()) / f"mso-flow-bench-audit-{os.getpid()}.pem"
    settings = Settings(database_url=database_url, bpmn_dir=ROOT / "bpmn", audit_signing_key_file=key_file)
    callers = {CLERK: Caller("clerk", frozenset({CLERK})), HEAD: Caller("head", frozenset({HEAD}))}
    integrator = Caller("integrator", frozenset({"integrator"}))

    def services_of(database: Database) -> Services:
        return Services(settings=settings, db=database)

    timed_db = Database(database_url)
    migrate.upgrade(timed_db.engine, settings.migrations_dir)
    services = services_of(timed_db)
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", BPMN_XML)])
    users.ensure_user(services, "integrator", ["integrator"], "x")
    os.environ[SQL_STATS_ENV] = "1"
    try:
        counted_db = Database(database_url)  # this engine counts (the timed one does not)
    finally:
        del os.environ[SQL_STATS_ENV]
    capture: list[str] | None = None

    @event.listens_for(counted_db.engine, "before_cursor_execute")
    def _capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if capture is not None:
            capture.append(" ".join(statement.split()))

    def call(run: Run, kind: str, action: Callable[[], Any], counting: bool) -> Any:
        nonlocal capture
        if not counting:
            with run.timed(kind):
                return action()
        capture = [] if show_sql and kind not in run.statements else None
        with counting_sql() as counts:
            result = action()
        run.sql[kind].append((counts.statements, counts.commits))
        if capture is not None:
            run.statements[kind], capture = capture, None
        return result

    def one(services: Services, number: int, run: Run, counting: bool = False) -> None:
        start = lambda: instances.start(services, integrator, KEY, f"inproc-{number}", {})  # noqa: E731
        view = call(run, "start", start, counting)
        task_id = view.active_tasks[0].id
        for _element, role, variables in PATH:
            call(run, "claim", lambda: tasks.claim(services, callers[role], task_id), counting)  # noqa: B023
            done = call(
                run,
                "complete",
                lambda: tasks.complete(services, callers[role], task_id, variables),  # noqa: B023
                counting,
            )
            task_id = done.open_task_ids[0] if done.open_task_ids else ""
        run.instances += 1

    for i in range(warmup):
        one(services, -1 - i, Run("warm-up"))
    run = Run("in-process service layer")
    counter = services_of(counted_db)
    one(counter, -999, Run("warm-up"))  # its own caches (definitions, spec) filled before it counts
    for i in range(counted):
        one(counter, -1000 - i, run, counting=True)
    run.instances = 0
    began, cpu = time.perf_counter(), time.process_time()
    with profiler or nullcontext():
        for i in range(count):
            one(services, i, run)
    run.seconds, run.cpu = time.perf_counter() - began, time.process_time() - cpu
    run.sizes = service_state_sizes(database_url)
    counted_db.dispose()
    timed_db.dispose()
    key_file.unlink(missing_ok=True)
    return run


def service_state_sizes(database_url: str) -> list[int]:
    database = Database(database_url)
    with database.read() as session:
        sizes = [len(s.encode()) for s in session.scalars(select(ProcessInstance.engine_state))]
    database.dispose()
    return sizes


# ---------------------------------------------------------------- (c) the service over HTTP


async def drive(url: str, tokens: dict[str, str], count: int, clients: int, run: Run, prefix: str) -> None:
    """`count` instances through the 7 steps with `clients` concurrent clients."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    # idle connections are dropped well before uvicorn's keep-alive timeout (5 s): a client starved of CPU on a
    # loaded machine would otherwise send on a connection the server is closing (httpx.ReadError)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=1.0)

    async def post(client: httpx.AsyncClient, kind: str, path: str, token: str, body: dict | None) -> dict:
        began = time.perf_counter()
        response = await client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        run.latencies[kind].append(time.perf_counter() - began)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{kind} {path}: {response.status_code} {response.text}")
        run.body_bytes[kind].append(len(response.content))
        if "x-sql-statements" in response.headers:
            run.sql[kind].append((int(response.headers["x-sql-statements"]), int(response.headers["x-sql-commits"])))
        return response.json()  # type: ignore[no-any-return]

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                number = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            body = {"business_key": f"{prefix}-{number}"}
            instance = await post(client, "start", f"/api/v1/process-definitions/{KEY}/start", tokens["start"], body)
            active = instance["active_tasks"]
            for element, role, variables in PATH:
                task = active[0]
                assert task["element_id"] == element, (task, element)
                await post(client, "claim", f"/api/v1/tasks/{task['id']}/claim", tokens[role], None)
                done = await post(
                    client, "complete", f"/api/v1/tasks/{task['id']}/complete", tokens[role], {"variables": variables}
                )
                active = done["instance"]["active_tasks"]
            run.instances += 1

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))


def settle(pid: int, workers: int, limit: float = 60.0) -> float:
    """Wait until every worker has started (the first one answering /health does not mean all have), then
    return the server's idle CPU rate (background loops polling), in CPU seconds per second."""
    deadline = time.monotonic() + limit
    rate = 0.0
    while time.monotonic() < deadline:
        before = tree_cpu(pid)
        time.sleep(1.0)
        rate = tree_cpu(pid) - before
        if rate <= 0.015 * workers + 0.01:
            break
    return rate


def pinning(server: int) -> str:
    return f"server {tree_affinity(server)} / client {'+'.join(map(str, sorted(os.sched_getaffinity(0))))}"


def service_runs(
    backend: str, database_url: str, workers: int, clients: list[int], count: int, warmup: int, tmp: Path, stats: bool
) -> list[Run]:
    """One server; one timed run per client count (or, with `stats`, one counted 1-client run)."""
    bpmn_dir = tmp / f"bpmn-{uuid.uuid4().hex[:6]}"  # only this process: the server starts in seconds
    (bpmn_dir / "central").mkdir(parents=True)
    (bpmn_dir / "central" / BPMN.name).write_bytes(BPMN_XML)
    env = {SQL_STATS_ENV: "1" if stats else "0"}
    runs = []
    pin_to_server_core()
    with live_service(
        database_url, tmp, workers=workers, bpmn_dir=bpmn_dir, extra_env=env, log_level=LOG_LEVEL
    ) as live:
        pin_to_client_core()
        tokens: dict[str, str] = {}
        with live.client() as admin:
            for name, roles in (("start", ["integrator"]), (CLERK, [CLERK]), (HEAD, [HEAD])):
                username = f"bench-{len(tokens)}"
                response = admin.post("/api/v1/users", json={"username": username, "roles": roles})
                response.raise_for_status()
                tokens[name] = response.json()["token"]
        # warm every worker process: parse and cache the spec, fill pools and token caches
        asyncio.run(drive(live.url, tokens, max(warmup, 2 * workers), max(clients), Run("warm-up"), "warm"))
        idle = settle(live.process.pid, workers)
        for n in clients:
            label = f"{backend} {workers}w {n}c" + (" pinned" if PIN else "") + (" (SQL counted)" if stats else "")
            run = Run(label, idle=idle, affinity=pinning(live.process.pid))
            began, cpu, client_cpu = time.perf_counter(), tree_cpu(live.process.pid), time.process_time()
            asyncio.run(drive(live.url, tokens, count, n, run, f"run{n}"))
            run.seconds = time.perf_counter() - began
            run.cpu = tree_cpu(live.process.pid) - cpu - idle * run.seconds
            run.client_cpu = time.process_time() - client_cpu
            runs.append(run)
    sizes = service_state_sizes(database_url)
    for run in runs:
        run.sizes = sizes
    return runs


# ---------------------------------------------------------------- report


def sql_text(run: Run) -> str:
    parts = []
    for kind in KINDS:
        counts = run.sql[kind]
        if counts:
            statements = statistics.mean(c[0] for c in counts)
            commits = statistics.mean(c[1] for c in counts)
            parts.append(f"{kind} {statements:.1f}/{commits:.1f}")
    return ", ".join(parts) if parts else "-"


def run_line(run: Run, floor: Run | None) -> str:
    requests = run.instances * REQUESTS_PER_INSTANCE
    lat = "  ".join(f"{pct(run.latencies[k], 0.5):6.1f}/{pct(run.latencies[k], 0.95):6.1f}" for k in KINDS)
    ratio = ""
    if floor and floor.rate and run.cpu_ms:
        ratio = f"  {run.rate / floor.rate:5.0%} {run.cpu_ms / floor.cpu_ms:6.1f}x"
    client = f"{run.client_cpu / requests * 1000:5.2f}" if run.client_cpu else "    -"
    per_request = run.cpu_ms / REQUESTS_PER_INSTANCE
    figures = f"{run.instances:5d} {run.rate:8.1f} {run.cpu_ms:8.1f} {per_request:7.2f} {client}"
    return f"{run.label:<34} {figures}  {lat}{ratio}"


HEADER = (
    f"{'run':<34} {'inst':>5} {'inst/s':>8} {'CPUms/i':>8} {'ms/req':>7} {'cli':>5}  "
    f"{'start p50/p95':>13}  {'claim p50/p95':>13}  {'compl p50/p95':>13}  {'vs floor: inst/s  CPU'}"
)


def budget(floor: Run | None, runs: list[Run]) -> list[str]:
    """One instance with 1 client, side by side: what the engine, the bare HTTP stack and the service layer cost,
    and what that permits over HTTP (service layer + the FastAPI `def` floor is the least the service can cost
    with this stack, whatever its own HTTP code does)."""
    by_label = {run.label: run for run in runs if "SQL counted" not in run.label}
    layer = by_label.get("in-process service layer")
    stack = {
        kind: by_label.get(f"stack floor: {kind} 1c pinned") or by_label.get(f"stack floor: {kind} 1c")
        for kind in ("asgi", "fastapi", "fastapi-sync")
    }
    services = [
        run
        for label, run in by_label.items()
        if label.endswith((" 1c", " 1c pinned")) and not label.startswith("stack")
    ]
    if not (floor and layer and services):
        return []
    lines = ["budget of one instance with 1 client (CPU ms per instance; instances/s; share of the floor's rate):"]

    def row(name: str, run: Run) -> None:
        lines.append(f"  {name:<52} {run.cpu_ms:7.1f} ms {run.rate:7.1f}/s {run.rate / floor.rate:5.0%}")

    row("engine floor: SpiffWorkflow + raw SQL, no HTTP", floor)
    for kind, run in stack.items():
        if run:
            row(f"HTTP stack floor, no database: {kind}", run)
    row("service layer in-process, no HTTP", layer)
    for run in services:
        row(f"service over HTTP: {run.label}", run)
        lines.append(f"    HTTP over the service layer: {run.cpu_ms - layer.cpu_ms:.1f} ms per instance")
    sync = stack.get("fastapi-sync")
    if sync:
        least = layer.cpu_ms + sync.cpu_ms
        lines.append(
            f"  least the service can cost over this stack (service layer + FastAPI def floor): {least:.1f} ms; "
            f"the service's own HTTP code above that: {services[0].cpu_ms - least:.1f} ms"
        )
    lines.append("  issue 31's targets (CPU per instance, this run):")
    lines.append(f"    service layer in-process / engine floor: {layer.cpu_ms / floor.cpu_ms:4.1f}x (target <= 2x)")
    for run in services:
        ratio = run.cpu_ms / floor.cpu_ms
        lines.append(f"    over HTTP / engine floor, {run.label}: {ratio:4.1f}x (target <= 3x)")
        if sync:
            above = run.cpu_ms - layer.cpu_ms
            lines.append(
                f"    over HTTP above the service layer, {run.label}: {above:.1f} ms "
                f"(target <= the FastAPI def floor, {sync.cpu_ms:.1f} ms)"
            )
    fastest = max((run for run in stack.values() if run), key=lambda run: run.rate, default=None)
    if fastest:
        lines.append(
            f"  most instances/s one client of this kind reaches against a bare server: {fastest.rate:.1f}/s "
            f"({fastest.rate / floor.rate:.0%} of the engine floor's)"
        )
    return lines


def report(args: argparse.Namespace, floors: dict[str, Run], others: dict[str, list[Run]]) -> str:
    doc = (__doc__ or "").split("\n\nQuick check")[0]
    load = os.getloadavg()
    lines = [
        f"# bench/step_cost.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.node()}  "
        f"{os.cpu_count()} cores  load average (1 min) at the start {args.load_at_start:.1f}, end {load[0]:.1f}",
        f"# python {' '.join(sys.argv)}",
        *(f"# {line}" if line else "#" for line in doc.splitlines()),
        "",
        "CPUms/i = CPU ms per instance (15 requests); ms/req = the same per request; cli = client CPU ms per request;",
        "latencies in ms; 'vs floor' = instances/s as a share of the floor's, CPU per instance as a multiple of it.",
    ]
    for backend in args.backends:
        floor = floors.get(backend)
        lines += ["", f"== {backend} ==", HEADER]
        for run in ([floor] if floor else []) + others.get(backend, []):
            lines.append(run_line(run, floor if run is not floor else None))
        lines += budget(floor, others.get(backend, []))
        lines.append("SQL statements/commits per request (mean):")
        for run in ([floor] if floor else []) + others.get(backend, []):
            if any(run.sql.values()):
                lines.append(f"  {run.label:<32} {sql_text(run)}")
        for run in others.get(backend, []):
            for kind, statements in run.statements.items():
                lines.append(f"  SQL of the first {kind} of the {run.label} (BEGIN included, COMMIT not):")
                lines += [f"    {sql[:150]}" for sql in statements]
        sizes = [run for run in others.get(backend, []) if any(run.body_bytes.values())]
        if sizes:
            lines.append("response bytes per request (mean):")
            for run in sizes:
                means = ", ".join(
                    f"{kind} {statistics.mean(run.body_bytes[kind]):.0f}" for kind in KINDS if run.body_bytes[kind]
                )
                lines.append(f"  {run.label:<32} {means}")
        idle = {
            run.label.replace(" pinned", "").rsplit(" ", 1)[0] + (" pinned" if "pinned" in run.label else ""): run.idle
            for run in others.get(backend, [])
            if run.idle and "SQL counted" not in run.label
        }
        if idle:
            rates = ", ".join(f"{label} {rate * 1000:.0f}" for label, rate in idle.items())
            lines.append(f"server idle CPU (ms/s, subtracted above): {rates}")
        pinned = [run for run in others.get(backend, []) if run.affinity]
        if pinned:
            lines.append("cores of each HTTP run (Cpus_allowed_list of the server's process tree, read from /proc):")
            lines += [f"  {run.label:<40} {run.affinity}" for run in pinned]
        lines.append("stored engine state per instance, UTF-8 bytes (all runs of one server share its database):")
        seen: set[int] = set()
        for run in ([floor] if floor else []) + others.get(backend, []):
            if run.sizes and id(run.sizes) not in seen:
                seen.add(id(run.sizes))
                lines.append(f"  {run.label:<32} mean {statistics.mean(run.sizes):7.0f}  max {max(run.sizes):7d}")
    return "\n".join(lines)


def main() -> None:
    sys.modules.setdefault("step_cost", sys.modules[__name__])  # bench/stack_floor.py shares this run's PIN
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma list of sqlite, postgresql")
    parser.add_argument("--clients", default="1,8,16", help="comma list of concurrent HTTP clients")
    parser.add_argument("--sqlite-workers", default="1", help="comma list of server processes on SQLite")
    parser.add_argument("--pg-workers", default="2,4", help="comma list of server processes on PostgreSQL")
    parser.add_argument("--instances", type=int, default=16, help="instances per HTTP run")
    parser.add_argument("--floor-instances", type=int, default=50, help="instances of the floor and in-proc runs")
    parser.add_argument("--stats-instances", type=int, default=3, help="instances of the SQL-counting pass (0: none)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma list of parts to skip: floor, inproc, stack, service")
    parser.add_argument("--stack-floors", default="asgi,fastapi,fastapi-sync", help="bench/stack_floor.py floors")
    parser.add_argument("--stack-clients", default="1", help="comma list of concurrent clients of the stack floors")
    parser.add_argument("--show-sql", action="store_true", help="list the SQL of one in-process request per kind")
    parser.add_argument("--pin", default="on", help="comma list of off, on: server and clients on separate cores")
    parser.add_argument("--write", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    args.load_at_start = os.getloadavg()[0]
    args.backends = [b for b in args.backends.split(",") if b]
    pins = [p == "on" for p in args.pin.split(",") if p]
    cores = sorted(ALL_CORES)
    pinned_cores = (cores[0], cores[-1]) if len(cores) > 1 else None
    clients = [int(c) for c in args.clients.split(",") if c]
    skip = set(args.skip.split(","))
    workers = {
        "sqlite": [int(w) for w in args.sqlite_workers.split(",") if w],
        "postgresql": [int(w) for w in args.pg_workers.split(",") if w],
    }
    floors: dict[str, Run] = {}
    others: dict[str, list[Run]] = defaultdict(list)

    @contextmanager
    def database(backend: str, tmp: Path) -> Iterator[str]:
        if backend == "sqlite":
            yield f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
        else:
            with postgres_database() as url:
                yield url

    global PIN
    with TemporaryDirectory() as name:
        tmp = Path(name)
        for backend in args.backends:
            PIN = pinned_cores if any(pins) else None
            pin_to_server_core()  # the floor and the in-process layer run where the server will
            if "floor" not in skip:
                with database(backend, tmp) as url:
                    target = url.removeprefix("sqlite:///")
                    floors[backend] = floor_run(backend, target, args.floor_instances, args.warmup)
                print(run_line(floors[backend], None), flush=True)
            floor = floors.get(backend)
            if "inproc" not in skip:
                with database(backend, tmp) as url:
                    others[backend].append(inproc_run(url, args.floor_instances, args.warmup, args.show_sql))
                print(run_line(others[backend][-1], floor), flush=True)
            for pin in pins:
                PIN = pinned_cores if pin else None
                if "stack" not in skip and backend == args.backends[0]:
                    from stack_floor import stack_runs

                    for kind in [k for k in args.stack_floors.split(",") if k]:
                        stack_clients = [int(c) for c in args.stack_clients.split(",") if c]
                        runs = stack_runs(kind, stack_clients, args.instances, args.warmup, tmp)
                        for run in runs:
                            print(run_line(run, floor), flush=True)
                        others[backend] += runs
                if "service" in skip:
                    continue
                for count in workers[backend]:
                    with database(backend, tmp) as url:
                        runs = service_runs(backend, url, count, clients, args.instances, args.warmup, tmp, stats=False)
                    for run in runs:
                        print(run_line(run, floor), flush=True)
                    others[backend] += runs
            if args.stats_instances and "service" not in skip:
                PIN = pinned_cores if pins[-1] else None
                with database(backend, tmp) as url:
                    runs = service_runs(backend, url, 1, [1], args.stats_instances, 1, tmp, stats=True)
                others[backend] += runs
    PIN = None
    pin_to_client_core()
    text = report(args, floors, others)
    print(text)
    if args.write:
        args.write.write_text(text + "\n")


if __name__ == "__main__":
    main()
