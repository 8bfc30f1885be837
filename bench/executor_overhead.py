"""What the command executor itself costs (issue 28): CPU per command of `execute` over the same transaction,
row locks and write-back written inline, interleaved in one process so that the machine's load hits both alike.

A: `with instance_command(services, actor, lock_task(id), missing) as (command, task): command.write_back()`
B: `execute(services, InstanceChange("bench.noop", caller, lock_task(id), missing, run, result))`, the same work
   through the executor's chain (authorize, input check, locks, run, write-back, result, metric, log check).
Both lock the same open task of a started สารบรรณ instance on SQLite and change nothing (no engine step: the
engine's cost is the same either way and would only add noise). Reported: CPU µs per command (process time),
median and mean over interleaved rounds, and B - A; bench/step_cost.py shows what a whole instance costs.

    python bench/executor_overhead.py [--rounds 3000] [--write bench/results-step-cost-executor.txt]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MSO_FLOW_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())

from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform.context import SYSTEM, Caller, Services
from mso_flow.services.platform.executor import InstanceChange, execute
from mso_flow.services.platform.failures import NotFound
from mso_flow.services.platform.unit_of_work import instance_command, lock_task
from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.db import Database

ROOT = Path(__file__).resolve().parents[1]
CLERK = "เจ้าหน้าที่งานสารบรรณ"


def _missing() -> NotFound:
    return NotFound("task_not_found", "no such task")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mso-flow-executor-"))
    url = f"sqlite:///{work / 'bench.db'}"
    settings = Settings(database_url=url, bpmn_dir=ROOT / "bpmn", audit_signing_key_file=work / "audit.pem")
    database = Database(url)
    migrate.upgrade(database.engine, settings.migrations_dir)
    services = Services(settings=settings, db=database)
    definitions.deploy(
        services, SYSTEM, [("central/central_saraban.bpmn", (ROOT / "bpmn/central/central_saraban.bpmn").read_bytes())]
    )
    users.ensure_user(services, "clerk", [CLERK], "x")
    clerk = Caller("clerk", frozenset({CLERK}))
    view = instances.start(services, clerk, "central_saraban", "พม 0201/1", {})
    task_id = view.active_tasks[0].id

    def inline() -> None:
        with instance_command(services, clerk.username, lock_task(task_id), _missing) as (command, _task):
            command.write_back()

    change: InstanceChange[object, None, None] = InstanceChange(
        "bench.noop", clerk, lock_task(task_id), _missing, lambda command, task: None, lambda c, t, d: None
    )

    def executed() -> None:
        execute(services, change)

    for _ in range(200):  # warm-up: caches, statements, the connection pool
        inline()
        executed()
    a: list[float] = []
    b: list[float] = []
    for i in range(args.rounds):
        for fn, out in ((inline, a), (executed, b)) if i % 2 == 0 else ((executed, b), (inline, a)):
            t0 = time.process_time_ns()
            fn()
            out.append((time.process_time_ns() - t0) / 1000)
    lines = [
        f"# bench/executor_overhead.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
        f"load average (1 min) {os.getloadavg()[0]:.1f}  {args.rounds} interleaved rounds, SQLite",
        f"{'':34} {'median µs':>10} {'mean µs':>10}",
        f"{'A inline instance_command':34} {statistics.median(a):10.1f} {statistics.fmean(a):10.1f}",
        f"{'B execute(InstanceChange)':34} {statistics.median(b):10.1f} {statistics.fmean(b):10.1f}",
        f"{'B - A (the executor per command)':34} {statistics.median(b) - statistics.median(a):10.1f} "
        f"{statistics.fmean(b) - statistics.fmean(a):10.1f}",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.write:
        with args.write.open("a", encoding="utf-8") as out:
            out.write(text)
    sys.exit(0)


if __name__ == "__main__":
    main()
