"""Issue 24, item 8: a condition or script whose single built-in call loops or allocates in C ends as a limit.

Each expression below makes one C-level call (or one operator) do unbounded work: it cannot be interrupted by a
thread in the same process. Evaluated through the sandbox's environment, it must end within its budget as an
error naming the limit, while this process (the service's) neither stalls nor grows: the evaluation runs in an
evaluator process the kernel bounds (`engine.isolation`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mso_flow.engine import budgets as limits
from mso_flow.engine.sandbox import RestrictedEnvironment

MEBIBYTE = 1024 * 1024
LIMIT = limits.LimitExceeded

# (expression, what it must raise): every one of these runs for minutes or allocates gigabytes if let be
AMPLIFIERS = [
    ("max([[0] * 1000000] * 100000 + [[1]])", LIMIT),  # 10^11 comparisons inside max
    ("len(sum([[0] * 1000000] * 200, []))", LIMIT),  # 1.6 GB built by sum
    ("[[0] * 1000000] * 10000 == [[0] * 1000000] * 10000", LIMIT),  # 10^10 comparisons inside ==
    ("hash(((0,) * 1000000,) * 100000)", LIMIT),  # 10^11 items hashed
    ("([[0] * 1000000] * 100000).count([0] * 1000000)", LIMIT),  # 10^11 comparisons inside a list method
    ("'x' * 10**9", LIMIT),
    ("b'x' * 10**9", LIMIT),
    ("len('%s' * 10**9)", LIMIT),
    ("len('-'.join('x' for _ in range(10**6) for _ in range(10**3)))", LIMIT),
    ("len(list(range(10**9)))", LIMIT),
    ("sorted(range(10**8))", LIMIT),
    ("pow(10, 10**8) > 0", LIMIT),
    ("10**10**8 > 0", LIMIT),
    ("f'{1:>1000000000}'", LIMIT),
    ("'x'.ljust(10**9)", LIMIT),
    ("('\\t' * 100000).expandtabs(1000000)", LIMIT),  # 10^11 characters
    ("('a' * 1000000).translate({97: 'b' * 1000000})", LIMIT),  # 10^12 characters
    ("(1).to_bytes(10**9, 'big')", LIMIT),
    ("int('9' * 10**6)", ValueError),  # Python's own limit on the digits of a conversion
    ("bytes(10**9)", NameError),  # not a built-in of the sandbox
]


@pytest.fixture
def short_budget() -> Iterator[limits.Budget]:
    """The default budgets, halved: the same mechanism, a shorter wait for the cases that run out of time."""
    before = limits.budget()
    budget = dataclasses.replace(before, cpu_seconds=0.5, wall_seconds=1.0)
    limits.configure(budget)
    yield budget
    limits.configure(before)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak_memory() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS


@pytest.mark.parametrize(("expression", "error"), AMPLIFIERS)
def test_a_single_c_level_call_ends_as_a_limit_and_this_process_neither_stalls_nor_grows(
    short_budget, expression, error
):
    environment = RestrictedEnvironment()
    environment.evaluate("1", {})  # an evaluator is ready: its start is not what is measured
    _reset_peak_memory()
    before = _status_kib("VmRSS")
    started = time.monotonic()
    with pytest.raises(error) as raised:
        environment.evaluate(expression, {})
    elapsed = time.monotonic() - started
    grown = (_status_kib("VmHWM") - before) * 1024
    if error is LIMIT:
        message = str(raised.value)
        assert "budget" in message or "too large" in message, message
    assert grown < 32 * MEBIBYTE, f"this process grew by {grown / MEBIBYTE:.0f} MiB"
    # the budget, the grace after it, and the start of a fresh evaluator when the last one was ended; a machine
    # many times slower still finishes far below this, and each case would run for minutes unbounded
    assert elapsed < 5 * (short_budget.wall_seconds + 2), f"{elapsed:.1f} s"
    assert environment.evaluate("amount * 2", {"amount": 21}) == 42  # the next evaluation works


def test_an_evaluation_over_the_memory_budget_leaves_the_data_and_the_next_script_alone():
    environment = RestrictedEnvironment()
    context = {"rows": [1, 2, 3]}
    with pytest.raises(limits.MemoryLimitExceeded):
        environment.execute("rows = rows + [0] * 900000\nbig = (1).to_bytes(10**9, 'big')", context)
    assert context == {"rows": [1, 2, 3]}
    environment.execute("rows = rows + [4]\ndel rows[0]", context)
    assert context == {"rows": [2, 3, 4]}


def test_what_a_script_raises_comes_back_with_its_type_and_the_name_it_missed():
    environment = RestrictedEnvironment()
    with pytest.raises(NameError) as missing:
        environment.evaluate("amount > limit", {"amount": 1})
    assert missing.value.name == "limit"
    with pytest.raises(ZeroDivisionError):
        environment.execute("x = 1 / 0", {})
    with pytest.raises(RuntimeError, match="Refused"):  # a class only the evaluator knows comes back by name
        environment.execute("class Refused(Exception):\n    pass\nraise Refused('no')", {})
    with pytest.raises(limits.ResultInvalid):  # a value only the evaluator can hold
        environment.evaluate("(lambda: 1)", {})
