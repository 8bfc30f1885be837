"""What keeping `ProcessRuntime.dump` thread-safe costs: a lock around the shared serializer, or one serializer
per thread (`threading.local`).

`dump` switches the serializer's registry into encoder mode for the length of the call; shared by every thread
of a worker, two concurrent dumps can switch it under each other. Measured on the สารบรรณ process half-way
(its state as stored): (a) the shared serializer as it was (unsafe), (b) the same under a lock, (c) one
serializer per thread: one thread's cost per dump, the throughput of 4 threads dumping at once, and what
creating a serializer costs (once per thread for (c)). Median of 5 runs.

    python bench/serializer_threads.py --n 2000
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mso_flow.engine import runtime
from mso_flow.engine.parsing import parse_document

SARABAN = Path(__file__).resolve().parents[1] / "bpmn" / "central" / "central_saraban.bpmn"


class _Shared(runtime.ProcessRuntime):
    """`ProcessRuntime` with one serializer for every thread, as it was."""

    def __init__(self) -> None:
        super().__init__()
        self._shared = runtime._serializer()

    @property
    def _serializer(self) -> Any:
        return self._shared


def _variants() -> dict[str, Callable[[Any], str]]:
    shared = _Shared()
    lock = threading.Lock()

    def locked(workflow: Any) -> str:
        with lock:
            return shared.dump(workflow)

    return {
        "(a) shared, unsafe": shared.dump,
        "(b) shared + lock": locked,
        "(c) one per thread": runtime.ProcessRuntime().dump,
    }


def _median(runs: list[float]) -> float:
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    n = parser.parse_args().n
    [process] = parse_document(SARABAN.read_bytes(), "saraban.bpmn")
    engine = runtime.ProcessRuntime()
    step = engine.start(process, {})
    for data in ({"subject": "หนังสือขอความอนุเคราะห์", "speed": "urgent"}, {"documents_complete": True}, {}):
        step = engine.complete(process, step.state, step.ready_tasks[0].id, data)
    workflow = engine.load(process, step.state)

    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(50):
            runtime._serializer()
        runs.append((time.perf_counter() - started) / 50 * 1e3)
    print(f"creating a serializer (once per thread for (c)): {_median(runs):.2f} ms")

    variants = _variants()
    single: dict[str, list[float]] = {name: [] for name in variants}
    parallel: dict[str, list[float]] = {name: [] for name in variants}
    workflows = [engine.load(process, step.state) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        for dump in variants.values():
            list(pool.map(dump, workflows))  # each thread's first dump (and serializer) outside the timing
        for _ in range(5):  # the variants take turns, so a busy moment of the machine hits them alike
            for name, dump in variants.items():
                started = time.perf_counter()
                for _ in range(n):
                    dump(workflow)
                single[name].append((time.perf_counter() - started) / n * 1e6)
                started = time.perf_counter()
                list(pool.map(lambda w, dump=dump: [dump(w) for _ in range(n // 4)], workflows))
                parallel[name].append(4 * (n // 4) / (time.perf_counter() - started))
    print(f"{'variant':<22} {'1 thread µs/dump':>17} {'4 threads dumps/s':>18}")
    for name in variants:
        print(f"{name:<22} {_median(single[name]):>17.1f} {_median(parallel[name]):>18.0f}")


if __name__ == "__main__":
    main()
