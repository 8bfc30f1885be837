"""Where the in-process service layer's CPU goes, by thread CPU time (not samples): issue 31.

A sampling profiler on this shared 2-core machine counts a thread that is runnable but preempted as busy, and the
kernel preempts at system calls (the CPU clock read at each engine command's start, COMMIT's write): py-spy then
shows `engine_command` and `commit` far above their CPU. This script wraps a list of functions (each one wherever
mso_flow imported it) with `time.thread_time()` accumulators, runs step_cost's in-process part and prints the
inclusive CPU ms per instance of each. Nested wrapped calls count for both; a recursive call counts once.
Each wrapper costs one or two CPU clock reads (≈ 1–10 µs here): compare the rows, not with step_cost's total.

    python bench/cpu_breakdown.py --instances 60
"""

from __future__ import annotations

import argparse
import functools
import importlib
import pkgutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import mso_flow
import step_cost

# (module, attribute path) of what to time; a class attribute as "Class.method"
TARGETS = [
    ("mso_flow.services.instances.lifecycle", "start"),
    ("mso_flow.services.tasks.human_tasks", "claim"),
    ("mso_flow.services.tasks.human_tasks", "complete"),
    ("mso_flow.store.db", "Database.write"),
    ("mso_flow.store.instances", "lock_with_task"),
    ("mso_flow.services.platform.unit_of_work", "InstanceCommand.run"),
    ("mso_flow.services.platform.unit_of_work", "InstanceCommand.apply"),
    ("mso_flow.services.platform.unit_of_work", "InstanceCommand.variables"),
    ("mso_flow.services.platform.unit_of_work", "start_instance"),
    ("mso_flow.engine.runtime", "ProcessRuntime.load"),
    ("mso_flow.engine.runtime", "ProcessRuntime.dump"),
    ("mso_flow.engine.runtime", "ProcessRuntime._advance"),
    ("mso_flow.engine.runtime", "ProcessRuntime._describe"),
    ("mso_flow.services.platform.events", "record"),
    ("mso_flow.store.audit", "append"),
    ("mso_flow.services.platform.anchoring", "AuditSigner.sign"),
    ("mso_flow.services.notifications.outbox", "write"),
    ("mso_flow.store.rows", "write_back"),
    ("mso_flow.store.tasks", "add_many"),
    ("mso_flow.store.tasks", "finish"),
    ("mso_flow.store.tasks", "set_assignee"),
    ("mso_flow.services.tasks.human_tasks", "view_of"),
    ("mso_flow.services.privacy.need_to_know", "task_disclosure"),
    ("mso_flow.services.privacy.personal_data", "reading_cipher"),
    ("mso_flow.services.privacy.personal_data", "open_state"),
    ("mso_flow.services.privacy.personal_data", "open_variables"),
    ("mso_flow.services.privacy.personal_data", "cipher"),
    ("mso_flow.services.privacy.personal_data", "disclosure"),
    ("mso_flow.services.privacy.personal_data", "withheld_names"),
    ("mso_flow.services.privacy.personal_data", "seal_variables"),
    ("mso_flow.services.instances.lifecycle", "InstanceView"),
    ("mso_flow.services.platform.context", "SubscriptionCache.get"),
    ("mso_flow.services.platform.working_days", "WorkingCalendar.due_for"),
]

cpu: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)
_active: set[str] = set()


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if name in _active:
            return fn(*args, **kwargs)
        _active.add(name)
        began = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            cpu[name] += time.thread_time() - began
            calls[name] += 1
            _active.discard(name)

    return wrapper


def timed_context(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A @contextmanager function: time from entering to leaving its block, minus nothing (inclusive)."""
    import contextlib

    @contextlib.contextmanager
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            with fn(*args, **kwargs) as value:
                yield value
        finally:
            cpu[name] += time.thread_time() - began
            calls[name] += 1

    return wrapper


def install() -> None:
    modules = [sys.modules[m.name] for m in pkgutil.walk_packages(mso_flow.__path__, "mso_flow.") if _load(m.name)]
    for module_name, path in TARGETS:
        module = importlib.import_module(module_name)
        owner: Any = module
        *parents, attr = path.split(".")
        for part in parents:
            owner = getattr(owner, part)
        original = getattr(owner, attr)
        wrap = timed_context if path == "Database.write" else timed
        replacement = wrap(path, original)
        setattr(owner, attr, replacement)
        if not parents:  # imported by name elsewhere
            for other in modules:
                for key, value in list(vars(other).items()):
                    if value is original:
                        setattr(other, key, replacement)


def _load(name: str) -> bool:
    try:
        importlib.import_module(name)
    except Exception:  # optional modules (e.g. a missing extra) are simply not timed
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=60)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    install()
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "sqlite":
            run = step_cost.inproc_run(f"sqlite:///{tmp}/breakdown.db", args.instances, 3)
        else:
            with step_cost.postgres_database() as url:
                run = step_cost.inproc_run(url, args.instances, 3)
    n = args.instances + 3
    print(f"in-process service layer, {args.backend}: {run.cpu_ms:.1f} CPU ms per instance (wrapped, timed loop)")
    print(f"{'function':<40} {'CPU ms/inst':>11} {'calls/inst':>10} {'µs/call':>8}")
    for name, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
        per_call = seconds / calls[name] * 1e6
        print(f"{name:<40} {seconds / n * 1000:11.2f} {calls[name] / n:10.1f} {per_call:8.0f}")


if __name__ == "__main__":
    main()
