"""Cost of the expression limits per evaluated condition and per script, against RestrictedPython alone.

Evaluates the kinds of condition the manual's processes use and a short script, N times each, (a) compiled by
RestrictedPython's stock policy and evaluated with plain `eval` (what the sandbox did before the limits), and
(b) through the sandbox's environment (guarded operators, size-checked builtins, the watchdog's registration
and the result check). Prints the median of 5 runs in microseconds per evaluation and the difference.

    python bench/expression_limits.py --n 20000
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec

from mso_flow.engine import sandbox
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    env = RestrictedEnvironment()
    scope = {**CONTEXT, **sandbox._GUARDS}
    print(f"{'case':<48} {'before µs':>10} {'after µs':>10} {'added µs':>10}")
    for condition in CONDITIONS:
        plain = compile_restricted_eval(condition, "<bench>").code
        before = _time(lambda plain=plain: eval(plain, dict(scope)), n)
        after = _time(lambda condition=condition: env.evaluate(condition, dict(CONTEXT)), n)
        print(f"{condition:<48} {before:>10.2f} {after:>10.2f} {after - before:>10.2f}")
    plain_script = compile_restricted_exec(SCRIPT, "<bench>").code
    before = _time(lambda: exec(plain_script, dict(scope)), n)
    after = _time(lambda: env.execute(SCRIPT, dict(CONTEXT)), n)
    print(f"{'script (3 lines)':<48} {before:>10.2f} {after:>10.2f} {after - before:>10.2f}")


if __name__ == "__main__":
    main()
