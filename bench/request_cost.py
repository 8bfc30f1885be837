"""Server CPU per request kind: the service (`mso-flow serve`, SQLite, 1 worker) and the HTTP stack floors
(bench/stack_floor.py), each request kind sent in a batch so that the server process tree's CPU (from /proc,
idle rate subtracted, as step_cost measures it) divides by the batch's size.

Batches, one client, sequential: `start` × N; then for each of the 7 steps `claim` × N and `complete` × N (the
same requests as step_cost, grouped by kind); for the service also `GET /api/v1/me` × N (authentication and
the response, no use case) and `GET /health` × N (one read transaction, no authentication).

    python bench/request_cost.py --instances 200                   # the service and the three floors
    python bench/request_cost.py --targets service --repeat 3      # the service only, 3 rounds (median kept)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

from mso_flow.testing.live import live_service
from stack_floor import KINDS_OF_FLOOR, floor_server
from step_cost import BPMN, CLERK, HEAD, KEY, PATH, settle, tree_cpu

KINDS = ("start", "claim", "complete", "me", "health")


@contextmanager
def target(name: str, tmp: Path) -> Iterator[tuple[str, int, dict[str, str]]]:
    """The server's URL, its pid and the bearer tokens by role."""
    if name != "service":
        with floor_server(name, tmp) as (url, process):
            yield url, process.pid, {"start": "x", CLERK: "x", HEAD: "x"}
        return
    bpmn_dir = tmp / f"bpmn-{uuid.uuid4().hex[:6]}"
    (bpmn_dir / "central").mkdir(parents=True)
    shutil.copy(BPMN, bpmn_dir / "central")
    with live_service(f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}", tmp, workers=1, bpmn_dir=bpmn_dir) as live:
        tokens: dict[str, str] = {}
        with live.client() as admin:
            for role, roles in (("start", ["integrator"]), (CLERK, [CLERK]), (HEAD, [HEAD])):
                response = admin.post("/api/v1/users", json={"username": f"rc-{len(tokens)}", "roles": roles})
                tokens[role] = response.raise_for_status().json()["token"]
        yield live.url, live.process.pid, tokens


def measure(name: str, instances: int, tmp: Path) -> dict[str, float]:
    """CPU ms per request of each kind (server process tree, idle subtracted)."""
    with target(name, tmp) as (url, pid, tokens), httpx.Client(base_url=url, timeout=60) as client:
        headers = {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}

        def post(path: str, role: str, body: dict | None = None) -> dict:
            response = client.post(path, json=body, headers=headers[role])
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{path}: {response.status_code} {response.text}")
            return response.json()  # type: ignore[no-any-return]

        def instance_batch(count: int, prefix: str, cpu: dict[str, list[float]] | None) -> None:
            def timed(kind: str, action: Callable[[], object]) -> None:
                began, before = time.perf_counter(), tree_cpu(pid)
                action()
                if cpu is not None:
                    spent = tree_cpu(pid) - before - idle * (time.perf_counter() - began)
                    cpu[kind].append(spent)

            tasks: list[dict] = []

            def starts() -> None:
                for i in range(count):
                    body = {"business_key": f"{prefix}-{i}"}
                    tasks.append(post(f"/api/v1/process-definitions/{KEY}/start", "start", body)["active_tasks"][0])

            timed("start", starts)
            for element, role, variables in PATH:
                assert all(task["element_id"] == element for task in tasks)
                timed("claim", lambda: [post(f"/api/v1/tasks/{t['id']}/claim", role) for t in tasks])  # noqa: B023
                following: list[dict] = []

                def completes(
                    role: str = role, variables: dict = variables, tasks: list = tasks, following: list = following
                ) -> None:
                    for task in tasks:
                        done = post(f"/api/v1/tasks/{task['id']}/complete", role, {"variables": variables})
                        following.extend(done["instance"]["active_tasks"][:1])

                timed("complete", completes)
                tasks = following
            if name == "service":
                timed("me", lambda: [client.get("/api/v1/me", headers=headers["start"]) for _ in range(count)])
                timed("health", lambda: [client.get("/health") for _ in range(count)])

        idle = 0.0
        instance_batch(5, "warm", None)
        idle = settle(pid, 1)
        cpu: dict[str, list[float]] = defaultdict(list)
        instance_batch(instances, "run", cpu)
    counts = {"start": instances, "claim": instances * len(PATH), "complete": instances * len(PATH)}
    counts |= {"me": instances, "health": instances}
    figures = {kind: sum(values) / counts[kind] * 1000 for kind, values in cpu.items()}
    figures["instance"] = figures["start"] + len(PATH) * (figures["claim"] + figures["complete"])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default=",".join(("service", *KINDS_OF_FLOOR)))
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="rounds per target; the median of each kind is shown")
    args = parser.parse_args()
    print(f"server CPU ms per request (instance = start + 7 × (claim + complete)); {args.instances} instances a round")
    print(f"{'target':<14} {'start':>7} {'claim':>7} {'complete':>9} {'me':>7} {'health':>7} {'instance':>9}")
    with TemporaryDirectory() as name:
        for target_name in args.targets.split(","):
            rounds = [measure(target_name, args.instances, Path(name)) for _ in range(args.repeat)]
            median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
            cells = [f"{median[k]:7.2f}" if k in median else f"{'-':>7}" for k in ("start", "claim")]
            cells.append(f"{median['complete']:9.2f}")
            cells += [f"{median[k]:7.2f}" if k in median else f"{'-':>7}" for k in ("me", "health")]
            print(f"{target_name:<14} {' '.join(cells)} {median['instance']:9.1f}", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
