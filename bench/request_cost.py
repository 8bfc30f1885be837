"""Server CPU per request kind: the service (`mso-flow serve`, SQLite, 1 worker) and the HTTP stack floors
(bench/stack_floor.py), each request kind sent in a batch so that the server process tree's CPU divides by the
batch's size; or two versions of the service side by side (`--ab-base-src`) for a before/after on a noisy
machine.

Batches, one client, sequential: `start` × N; then for each of the 7 steps `claim` × N and `complete` × N (the
same requests as step_cost, grouped by kind); for the service also `GET /api/v1/me` × N (authentication and
a small response, no use case) and `GET /health` × N (one read transaction, no authentication). CPU is read
with nanosecond resolution (`clock_getcpuclockid` of every process of the server's tree: all its threads,
user and system time), minus the server's idle rate over the batch's duration; the service runs without its
background loops (`MSO_FLOW_BACKGROUND=false`: no timers are due in this workload), whose ticks would otherwise
land in random batches.

`--ab-base-src DIR` starts the service twice, from this checkout and from DIR (another checkout's `src`, e.g.
`git worktree add /tmp/base <commit>`), and sends them batches of `--batch` instances in turn (A B B A …) so
that both see the same load; it prints each version's CPU per request kind over all its batches.

    python bench/request_cost.py --instances 200                   # the service and the three floors
    python bench/request_cost.py --ab-base-src /tmp/base/src --rounds 30 --batch 4
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import shutil
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

from stack_floor import KINDS_OF_FLOOR, floor_server
from step_cost import BPMN, CLERK, HEAD, KEY, LOG_LEVEL, PATH

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import live_service

KINDS = ("start", "claim", "complete", "me", "health")
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def process_cpu(pid: int) -> float:
    """CPU seconds of process `pid` (all threads, user + system), nanosecond resolution; 0 if it is gone."""
    clock, now = ctypes.c_int(), _Timespec()
    if _LIBC.clock_getcpuclockid(pid, ctypes.byref(clock)) or _LIBC.clock_gettime(clock.value, ctypes.byref(now)):
        return 0.0
    return now.tv_sec + now.tv_nsec / 1e9


def tree_cpu(root: int) -> float:
    """CPU seconds of `root` and its live descendants (uvicorn's workers are child processes)."""
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(raw[raw.rfind(")") + 2 :].split()[1])].append(int(entry))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += process_cpu(pid)
        todo.extend(parents[pid])
    return total


def idle_rate(pid: int, seconds: float = 2.0) -> float:
    """The server's CPU seconds per second while nobody calls it (background loops)."""
    time.sleep(0.5)
    before = tree_cpu(pid)
    time.sleep(seconds)
    return (tree_cpu(pid) - before) / seconds


@contextmanager
def target(name: str, tmp: Path, src: str | None = None) -> Iterator[tuple[str, int, dict[str, str]]]:
    """The server's URL, its pid and the bearer tokens by role; `src`: run the service from that directory."""
    if name != "service":
        with floor_server(name, tmp) as (url, process):
            yield url, process.pid, {"start": "x", CLERK: "x", HEAD: "x"}
        return
    bpmn_dir = tmp / f"bpmn-{uuid.uuid4().hex[:6]}"
    (bpmn_dir / "central").mkdir(parents=True)
    shutil.copy(BPMN, bpmn_dir / "central")
    database = f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
    # no timers, webhooks or lock sweeps: their ticks would land in random batches (nothing here needs them)
    env = {"MSO_FLOW_BACKGROUND": "false"} | ({"PYTHONPATH": src} if src else {})
    with live_service(database, tmp, workers=1, bpmn_dir=bpmn_dir, extra_env=env, log_level=LOG_LEVEL) as live:
        tokens: dict[str, str] = {}
        with live.client() as admin:
            for role, roles in (("start", ["integrator"]), (CLERK, [CLERK]), (HEAD, [HEAD])):
                response = admin.post("/api/v1/users", json={"username": f"rc-{len(tokens)}", "roles": roles})
                tokens[role] = response.raise_for_status().json()["token"]
        yield live.url, live.process.pid, tokens


class Server:
    """One server under batches of instances; `cpu` and `requests` add up per request kind."""

    def __init__(self, name: str, url: str, pid: int, tokens: dict[str, str], stack: ExitStack):
        self.name, self.pid = name, pid
        self.client = stack.enter_context(httpx.Client(base_url=url, timeout=60))
        self.headers = {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}
        self.idle = 0.0
        self.cpu: dict[str, float] = defaultdict(float)
        self.requests: dict[str, int] = defaultdict(int)
        self.batches = 0

    def _post(self, path: str, role: str, body: dict | None = None) -> dict:
        response = self.client.post(path, json=body, headers=self.headers[role])
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{path}: {response.status_code} {response.text}")
        return response.json()  # type: ignore[no-any-return]

    def _timed(self, kind: str, count: int, action: Callable[[], object], record: bool) -> None:
        began, before = time.perf_counter(), tree_cpu(self.pid)
        action()
        if record:
            self.cpu[kind] += tree_cpu(self.pid) - before - self.idle * (time.perf_counter() - began)
            self.requests[kind] += count

    def batch(self, count: int, record: bool = True) -> None:
        """`count` instances through the 7 steps, request kind by request kind."""
        prefix = f"{self.batches}-{uuid.uuid4().hex[:6]}"
        self.batches += 1
        tasks: list[dict] = []

        def starts() -> None:
            for i in range(count):
                body = {"business_key": f"{prefix}-{i}"}
                tasks.append(self._post(f"/api/v1/process-definitions/{KEY}/start", "start", body)["active_tasks"][0])

        self._timed("start", count, starts, record)
        for element, role, variables in PATH:
            assert all(task["element_id"] == element for task in tasks)
            following: list[dict] = []

            def claims(role: str = role, tasks: list = tasks) -> None:
                for task in tasks:
                    self._post(f"/api/v1/tasks/{task['id']}/claim", role)

            def completes(
                role: str = role, variables: dict = variables, tasks: list = tasks, following: list = following
            ) -> None:
                for task in tasks:
                    done = self._post(f"/api/v1/tasks/{task['id']}/complete", role, {"variables": variables})
                    following.extend(done["instance"]["active_tasks"][:1])

            self._timed("claim", len(tasks), claims, record)
            self._timed("complete", len(tasks), completes, record)
            tasks = following
        if self.name == "service" or self.name.startswith("service "):
            me = self.headers["start"]
            self._timed("me", count, lambda: [self.client.get("/api/v1/me", headers=me) for _ in range(count)], record)
            self._timed("health", count, lambda: [self.client.get("/health") for _ in range(count)], record)

    def figures(self) -> dict[str, float]:
        """CPU ms per request of each kind, and per instance (start + 7 × (claim + complete))."""
        result = {kind: self.cpu[kind] / self.requests[kind] * 1000 for kind in self.requests}
        result["instance"] = result["start"] + len(PATH) * (result["claim"] + result["complete"])
        return result


def line(label: str, figures: dict[str, float]) -> str:
    cells = [f"{figures[k]:8.3f}" if k in figures else f"{'-':>8}" for k in KINDS]
    return f"{label:<16} {' '.join(cells)} {figures['instance']:9.2f}"


HEADER = f"{'':<16} " + " ".join(f"{k:>8}" for k in KINDS) + f" {'instance':>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default=",".join(("service", *KINDS_OF_FLOOR)))
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--ab-base-src", help="compare the service from this src directory with this checkout's")
    parser.add_argument("--rounds", type=int, default=30, help="with --ab-base-src: batches per version")
    parser.add_argument("--batch", type=int, default=4, help="with --ab-base-src: instances per batch")
    args = parser.parse_args()
    print("server CPU ms per request (instance = start + 7 × (claim + complete)), 1 client, SQLite, 1 worker")
    print(HEADER)
    with TemporaryDirectory() as name, ExitStack() as stack:
        tmp = Path(name)
        if args.ab_base_src:
            servers = []
            for label, src in (("service base", args.ab_base_src), ("service this", None)):
                url, pid, tokens = stack.enter_context(target("service", tmp, src))
                servers.append(Server(label, url, pid, tokens, stack))
            for server in servers:
                server.batch(5, record=False)
            for server in servers:
                server.idle = idle_rate(server.pid)
            for number in range(args.rounds):
                for server in servers if number % 2 == 0 else reversed(servers):
                    server.batch(args.batch)
            results = {server.name: server.figures() for server in servers}
            for label, figures in results.items():
                print(line(label, figures))
            base, this = results.values()
            print(f"{'difference':<16} " + " ".join(f"{this[k] - base[k]:+8.3f}" for k in (*KINDS, "instance")))
            print(f"({args.rounds} batches of {args.batch} instances each, in turn; load {os.getloadavg()[0]:.1f})")
            return
        for target_name in args.targets.split(","):
            with ExitStack() as one:
                url, pid, tokens = one.enter_context(target(target_name, tmp))
                server = Server(target_name, url, pid, tokens, one)
                server.batch(5, record=False)
                server.idle = idle_rate(pid)
                server.batch(args.instances)
                print(line(target_name, server.figures()), flush=True)


if __name__ == "__main__":
    main()
