"""Cost of the expression limits per evaluated condition and per script, against RestrictedPython alone.

Evaluates the kinds of condition the manual's processes use and a short script, N times each, (a) compiled by
RestrictedPython's stock policy and evaluated with plain `eval` (what the sandbox did before the limits),
(b) in this process with the limits (guarded operators, size-checked builtins, the watchdog's registration and
the result check: `sandbox.evaluate_here`, what the service did before evaluator processes), and (c) through the
sandbox's environment, in an evaluator process (`engine.isolation`: a request and an answer over a pipe, on top
of (b)). Prints the median of 5 runs in microseconds per evaluation (wall-clock, as the caller waits), what (c)
adds to (b), and the CPU time (c) takes in this process and the evaluator together (the machine's cost).

    python bench/expression_limits.py --n 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec

from mso_flow.engine import isolation, sandbox
from mso_flow.engine.sandbox import RestrictedEnvironment

CONDITIONS = [
    "documents_complete == True",
    "amount > 50000 and secrecy != 'top_secret'",
    "len(items) * 2 + amount % 7 > 3",
]
SCRIPT = "total = amount * 2 + 1\nlabel = f'{total} บาท'\nitems = items + [total]"
CONTEXT: dict[str, Any] = {"documents_complete": True, "amount": 70000, "secrecy": "normal", "items": [1, 2, 3]}


def _time(fn: Any, n: int) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


def _cpu_seconds() -> float:
    """CPU time of this process and of its idle evaluators (where (c) runs)."""
    ticks = os.sysconf("SC_CLK_TCK")
    evaluators = 0.0
    for evaluator in isolation._pool._idle:
        fields = Path(f"/proc/{evaluator.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        evaluators += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return time.process_time() + evaluators


def _cpu(fn: Any, n: int) -> float:
    start = _cpu_seconds()
    for _ in range(5 * n):
        fn()
    return (_cpu_seconds() - start) / (5 * n) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    env = RestrictedEnvironment()
    scope = {**CONTEXT, **sandbox._GUARDS}
    env.evaluate("1", {})  # start the evaluator process outside the timing
    print(f"{'case':<48} {'plain µs':>9} {'in-proc µs':>10} {'evaluator µs':>12} {'added µs':>9} {'CPU µs':>7}")

    def row(case: str, plain: float, here: float, isolated: Any) -> None:
        wall, cpu = _time(isolated, n), _cpu(isolated, n)
        print(f"{case:<48} {plain:>9.2f} {here:>10.2f} {wall:>12.2f} {wall - here:>9.2f} {cpu:>7.1f}")

    for condition in CONDITIONS:
        code = compile_restricted_eval(condition, "<bench>").code
        row(
            condition,
            _time(lambda code=code: eval(code, dict(scope)), n),
            _time(lambda condition=condition: sandbox.evaluate_here(condition, dict(CONTEXT), None), n),
            lambda condition=condition: env.evaluate(condition, dict(CONTEXT)),
        )
    code = compile_restricted_exec(SCRIPT, "<bench>").code
    row(
        "script (3 lines)",
        _time(lambda: exec(code, dict(scope)), n),
        _time(lambda: sandbox.execute_here(SCRIPT, dict(CONTEXT), None), n),
        lambda: env.execute(SCRIPT, dict(CONTEXT)),
    )


if __name__ == "__main__":
    main()
