"""What notifications cost the request path: p50/p95/p99 of `complete` and the server's CPU per request, with
notifications on and off in the same run, against the live service (`mso-flow serve`, background work on, a real
SMTP relay: aiosmtpd on loopback), on SQLite and PostgreSQL with 1 and 2 web workers.

The workload is a burst of task creations in a real process, legal_admin_case_defense: `--clients` concurrent
clients, all signed in as one staff user who holds the first lane's role (หัวหน้าฝ่ายบริหารงานทั่วไป), open cases
(start: the first task, Task_receive) and complete that task (which claims it: the second task, Task_assign, in
the lane ผู้อำนวยการกองกฎหมาย, is left open) until `--tasks` tasks have been created, in phases that alternate

  off  the people of ผู้อำนวยการกองกฎหมาย are deactivated: the notification gate (services/notifications/
       audience.py) sees nobody who could be told of Task_assign, and `complete` writes no outbox row;
  on   `--people` of them are active, each with an e-mail address (`immediate`): every complete writes one outbox
       row, and the service's background work fans it out to them and mails each one through the relay while the
       burst goes on.

off, on, off, on …, so that both see the same machine. The start's Task_receive is held by the driver alone (who
is never told of their own act), the same in both phases. After each `on` phase the bench waits until every mail
of it has reached the relay (the drain time: how far behind the burst the mails arrive), and checks that no mail
arrived twice (by Message-ID: a mail sent again is the same row, the same id). The relay runs in a process of its
own (in the bench's process it would hold the clients' interpreter lock while it takes mail).

CPU is read from /proc (utime + stime) of every process of the service: `web` is the processes that serve
requests (the uvicorn parent and its workers), `bg` a dedicated background process if the service runs one
(`mso-flow worker`); per request = CPU of the phase (burst and drain) / requests of the burst (starts and
completes).

Run:   python bench/notification_cost.py [--backends sqlite,postgresql] [--workers 1,2] [--tasks 1000] [--rounds 1]
       python bench/notification_cost.py --write bench/results-notification-cost.txt
       python bench/notification_cost.py --profile /tmp/prof   (py-spy record of the service, each phase and its drain)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import multiprocessing
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
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

BPMN = ROOT / "bpmn/legal/legal_admin_case_defense.bpmn"
KEY = "legal_admin_case_defense"
DRIVER_ROLE, TOLD_ROLE = "หัวหน้าฝ่ายบริหารงานทั่วไป", "ผู้อำนวยการกองกฎหมาย"
VARIABLES: dict[str, Any] = {"source_type": "memo", "case_title": "คดีทดสอบภาระของการแจ้งเตือน"}
TASKS_PER_CASE = 2
TICK = os.sysconf("SC_CLK_TCK")


MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>]+>)", re.MULTILINE | re.IGNORECASE)


class Sink:
    """An SMTP relay (aiosmtpd) in a process of its own, so that taking 2,000 mails shares no interpreter lock with
    the clients whose latencies are measured; it counts the mails, and the mails whose Message-ID came before."""

    def __init__(self, port: int) -> None:
        self._count = multiprocessing.Value("i", 0)
        self._twice = multiprocessing.Value("i", 0)
        self._stop = multiprocessing.Event()
        ready = multiprocessing.Event()
        self._process = multiprocessing.Process(
            target=_relay, args=(port, self._count, self._twice, ready, self._stop), daemon=True
        )
        self._process.start()
        if not ready.wait(30):
            raise RuntimeError("the SMTP relay did not start")

    @property
    def count(self) -> int:
        return int(self._count.value)

    def twice(self) -> int:
        return int(self._twice.value)

    def stop(self) -> None:
        self._stop.set()
        self._process.join(10)


def _relay(port: int, count: Any, twice: Any, ready: Any, stop: Any) -> None:
    seen: set[bytes] = set()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            found = MESSAGE_ID.search(envelope.original_content or envelope.content)
            key = found.group(1) if found else b"-"
            with count.get_lock():
                count.value += 1
                if key in seen:
                    twice.value += 1
                seen.add(key)
            return "250 OK"

    relay = Controller(Handler(), hostname="127.0.0.1", port=port)
    relay.start()
    ready.set()
    stop.wait()
    relay.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def burst(url: str, token: str, tasks: int, clients: int, prefix: str) -> tuple[list[float], float]:
    """Cases until `tasks` tasks were created; the latencies of every complete, and the wall time."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(-(-tasks // TASKS_PER_CASE)):
        queue.put_nowait(number)
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            number = queue.get_nowait()
            body = {"business_key": f"{prefix}-{number}"}
            response = await client.post(f"/api/v1/process-definitions/{KEY}/start", json=body, headers=headers)
            response.raise_for_status()
            task = response.json()["active_tasks"][0]["id"]
            began = time.perf_counter()
            done = await client.post(f"/api/v1/tasks/{task}/complete", json={"variables": VARIABLES}, headers=headers)
            latencies.append(time.perf_counter() - began)
            if done.status_code != 200:
                raise RuntimeError(f"complete: {done.status_code} {done.text[:300]}")

    began = time.perf_counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return latencies, time.perf_counter() - began


@contextmanager
def database(backend: str, work: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{work / f'mso_flow-{uuid.uuid4().hex[:6]}.db'}"
    else:
        with postgres_database() as url:
            yield url


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def is_background(pid: int) -> bool:
    try:
        return b"\0worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of the service's processes: `web` (serving requests) and `bg` (a background process)."""
    totals = {"web": 0.0, "bg": 0.0}
    for process in descendants(pid):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z":
            continue
        seconds = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        totals["bg" if is_background(process) else "web"] += seconds
    return totals


def staff(live: LiveService, people: int) -> tuple[str, list[str]]:
    """The driver's token, and the names of the people told in the `on` phases."""
    with live.client() as admin:
        body = {"username": "driver", "roles": [DRIVER_ROLE], "force": True}
        created = admin.post("/api/v1/users", json=body)
        created.raise_for_status()
        names = []
        for number in range(people):
            name = f"director{number}"
            body = {"username": name, "roles": [TOLD_ROLE], "email": f"{name}@example.go.th", "force": True}
            admin.post("/api/v1/users", json=body).raise_for_status()
            names.append(name)
    return str(created.json()["token"]), names


def set_active(live: LiveService, names: list[str], active: bool) -> None:
    with live.client() as admin:
        for name in names:
            admin.patch(f"/api/v1/users/{name}", json={"active": active}).raise_for_status()
    time.sleep(6)  # the gate's cache of held roles lives 5 s in each process


@contextmanager
def profiled(live: LiveService, directory: Path | None, name: str) -> Iterator[None]:
    """py-spy record of the service's processes while the block runs: the thread holding the interpreter lock of
    each process (`--gil`), so the samples show where each process's Python time goes."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{name}.txt"
    command = ["py-spy", "record", "--pid", str(live.process.pid), "--subprocesses", "--gil", "--format", "raw"]
    command += ["--rate", "50", "-o", str(out)]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


def run_config(backend: str, workers: int, args: argparse.Namespace, work: Path) -> list[str]:
    port = free_port()
    sink = Sink(port)
    bpmn_dir = work / f"bpmn-{uuid.uuid4().hex[:6]}" / "legal"
    bpmn_dir.mkdir(parents=True)
    shutil.copy(BPMN, bpmn_dir)
    env = {
        "MSO_FLOW_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "MSO_FLOW_MAIL_FROM": "MSO Flow <noreply@example.go.th>",
        "MSO_FLOW_PUBLIC_URL": "https://flow.example.go.th",
    }
    lines = [f"== {backend}, {workers} web worker{'s' if workers > 1 else ''}, {args.clients} clients =="]
    lines.append(
        f"{'phase':<8} {'tasks':>6} {'seconds':>8} {'tasks/s':>8} {'complete p50':>13} {'p95':>7} {'p99':>7}"
        f" {'mails':>6} {'twice':>6} {'drained after':>14} {'CPU ms/req web':>15} {'bg':>6}"
    )
    try:
        with (
            database(backend, work) as url,
            live_service(
                url, work, workers=workers, bpmn_dir=bpmn_dir.parent, extra_env=env, log_level="warning"
            ) as live,
        ):
            token, names = staff(live, args.people)
            asyncio.run(burst(live.url, token, 4 * TASKS_PER_CASE * workers, args.clients, "warm"))
            totals: dict[str, list[float]] = {"off": [], "on": []}
            for round_number in range(args.rounds):
                for phase in ("off", "on"):
                    set_active(live, names, phase == "on")
                    before, spent = sink.count, cpu(live.process.pid)
                    with profiled(live, args.profile, f"{backend}-{workers}w-{phase}{round_number}"):
                        latencies, seconds = asyncio.run(
                            burst(live.url, token, args.tasks, args.clients, f"{phase}{round_number}")
                        )
                        ended = time.perf_counter()
                        drained = "-"
                        if phase == "on":
                            expected = before + len(latencies) * len(names)
                            while sink.count < expected and time.perf_counter() - ended < 600:
                                time.sleep(0.1)
                            drained = f"{time.perf_counter() - ended:.1f} s"
                    time.sleep(1)  # a mail after the last one expected would be counted too
                    used = {k: v - spent[k] for k, v in cpu(live.process.pid).items()}
                    totals[phase] += latencies
                    requests = len(latencies) * TASKS_PER_CASE
                    lines.append(
                        f"{phase:<8} {requests:>6} {seconds:>8.1f} {requests / seconds:>8.1f} {_figures(latencies)}"
                        f" {sink.count - before:>6} {sink.twice():>6} {drained:>14}"
                        f" {used['web'] * 1000 / requests:>15.1f} {used['bg'] * 1000 / requests:>6.1f}"
                    )
            for phase, latencies in totals.items():
                tasks = len(latencies) * TASKS_PER_CASE
                lines.append(f"{'all ' + phase:<8} {tasks:>6} {'':>8} {'':>8} {_figures(latencies)}")
            on95, off95 = pct(totals["on"], 0.95), pct(totals["off"], 0.95)
            lines.append(f"p95 of complete, on − off: {on95 - off95:+.1f} ms ({on95 / off95 - 1:+.0%})")
    finally:
        sink.stop()
    return lines


def _figures(latencies: list[float]) -> str:
    return f"{pct(latencies, 0.5):>13.1f} {pct(latencies, 0.95):>7.1f} {pct(latencies, 0.99):>7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2", help="web workers of each configuration")
    parser.add_argument("--tasks", type=int, default=1000, help="task creations per phase")
    parser.add_argument("--rounds", type=int, default=1, help="off/on pairs")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--people", type=int, default=4, help="people told of each task in the `on` phases")
    parser.add_argument("--profile", type=Path, help="write a py-spy record (raw) of each phase here")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    lines = [
        f"# bench/notification_cost.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.node()}"
        f"  {os.cpu_count()} cores  load average (1 min) at the start {load:.1f}",
        f"# python {' '.join(sys.argv)}",
        *(f"# {line}" if line else "#" for line in (__doc__ or "").split("\n\nRun:")[0].splitlines()),
        "",
        "latencies in ms, of every complete (each creates a task; `tasks` counts starts and completes);",
        "mails = mails the relay received in the phase; twice = mails received more than once (must be 0);",
        "drained after = from the burst's end until the phase's last mail; CPU per request of the phase",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                lines += ["", *run_config(backend, workers, args, Path(tmp))]
                print("\n".join(lines[-(6 + 2 * args.rounds) :]), flush=True)
    lines.append(f"load average (1 min) at the end {os.getloadavg()[0]:.1f}")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
