"""Evaluator processes: where BPMN conditions and scripts run, bounded by the operating system.

In the service's own process a single built-in call that loops or allocates in C (`max` over a list that holds
one big list a thousand times, `sum` of lists, `pow(10, 10**8)`, `rows.count(row)`) holds the GIL until it
returns: no watchdog can interrupt it, every request of the worker waits, and memory grows past any budget. So
`call` runs the sandbox's evaluation in an evaluator process and the calling thread waits for the answer on a
pipe, without the GIL. The evaluator is bounded by the kernel, whatever the code does:

- memory: its address space is capped (`RLIMIT_AS`) at what it used when it started plus the memory budget; an
  allocation beyond fails there with `MemoryError` (`MemoryLimitExceeded`);
- CPU: before each evaluation its CPU limit (`RLIMIT_CPU`, whole seconds) is set to what it has used plus the
  budget, rounded up: past it the kernel ends it (`SIGXCPU`: `CpuLimitExceeded`);
- wall-clock: the caller waits at most the wall-clock budget plus `GRACE_SECONDS`, then kills it
  (`WallLimitExceeded`).

Inside the evaluator `engine.limits` still runs: guarded operators refuse oversized results with a precise
message (the evaluator serves the next call), and its watchdog interrupts Python-level loops. An evaluator that
went over a budget is replaced.

Evaluators start on demand (one per thread evaluating at the same moment; about 0.1 s each), are reused, and are
replaced after one ended. An evaluator exits when its pipe closes, so none outlives the service process; it gets
no environment variable of the service's (no secret) and no open file but its pipe.
Requests are pickles (the caller is trusted); answers are read with an unpickler that accepts plain values,
dates, decimals and exceptions only: what comes back was built by code a designer wrote.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from mso_flow.engine import budgets as limits

GRACE_SECONDS = 1.0  # beyond the wall-clock budget, so the evaluator's own watchdog answers first when it can
_HEADER = struct.Struct("!Q")
_PROTOCOL = pickle.HIGHEST_PROTOCOL


# --- the caller's side -------------------------------------------------------------------------------------------


class _Ended(Exception):
    """The evaluator ended or was killed during a call; the exception to raise instead."""

    def __init__(self, error: limits.LimitExceeded):
        super().__init__(str(error))
        self.error = error


class _Evaluator:
    """One evaluator process and the two ends of its pipe."""

    def __init__(self) -> None:
        code = f"import sys; sys.path[:] = {sys.path!r}; from mso_flow.engine.isolation import serve; serve()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # none of the service's settings or secrets; one heap, so the address-space cap measures the data
            env={"PATH": os.environ.get("PATH", ""), "MALLOC_ARENA_MAX": "1"},
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._out = self.process.stdin.fileno()
        self._in = self.process.stdout.fileno()
        self._poller = select.poll()
        self._poller.register(self._in, select.POLLIN)
        self.budget: limits.Budget | None = None  # the budget this evaluator runs with

    def call(self, function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any]:
        budget = limits.budget()
        request = pickle.dumps((None if budget is self.budget else budget, function, args), _PROTOCOL)
        try:
            _write(self._out, request)
        except OSError:
            raise _Ended(self._why_ended()) from None
        self.budget = budget
        reply = self._read(budget.wall_seconds + GRACE_SECONDS)
        return _load_reply(reply)

    def _read(self, seconds: float) -> bytes:
        """One answer, or `_Ended` when none came within `seconds` (the evaluator is killed) or it ended."""
        deadline = time.monotonic() + seconds
        received = bytearray()
        size = None
        while size is None or len(received) < _HEADER.size + size:
            left = deadline - time.monotonic()
            if left <= 0 or not self._poller.poll(left * 1000):
                self.close()
                raise _Ended(limits.WallLimitExceeded())
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise _Ended(self._why_ended())
            received += chunk
            if size is None and len(received) >= _HEADER.size:
                size = _HEADER.unpack_from(received)[0]
        return bytes(received[_HEADER.size :])

    def _why_ended(self) -> limits.LimitExceeded:
        self.close()
        if self.process.returncode == -signal.SIGXCPU:
            return limits.CpuLimitExceeded()
        return limits.MemoryLimitExceeded(
            f"{limits.MemoryLimitExceeded.message}; ตัวประเมินนิพจน์หยุดทำงาน (the evaluator process ended: "
            f"{self.process.returncode})"
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]


class _Pool:
    """Idle evaluators, taken by one thread at a time."""

    def __init__(self) -> None:
        self._idle: list[_Evaluator] = []
        self._lock = threading.Lock()

    def take(self) -> _Evaluator:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _Evaluator()

    def give_back(self, evaluator: _Evaluator) -> None:
        with self._lock:
            self._idle.append(evaluator)

    def forget(self) -> None:
        """In a forked child: the evaluators belong to the parent."""
        self._idle = []
        self._lock = threading.Lock()


_pool = _Pool()
_STOPPED = (MemoryError, limits.CpuLimitExceeded, limits.WallLimitExceeded, limits.MemoryLimitExceeded)
os.register_at_fork(after_in_child=_pool.forget)


def call(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` in an evaluator process: its result, or the exception it raised; a `LimitExceeded`
    when the evaluator went over a budget and was ended. `function` must be a module-level function."""
    evaluator = _pool.take()
    try:
        ok, value = evaluator.call(function, args)
    except _Ended as ended:
        raise ended.error from None
    except BaseException:
        evaluator.close()
        raise
    if not ok and isinstance(value, _STOPPED):
        # a failed allocation may have left it anywhere, and its watchdog's exception, raised asynchronously, may
        # land again while the evaluation unwinds (on a loaded machine): start afresh rather than reuse it
        evaluator.close()
        raise limits.MemoryLimitExceeded() if isinstance(value, MemoryError) else value
    _pool.give_back(evaluator)
    if ok:
        return value
    raise value


_VALUE_TYPES = (
    {("builtins", name) for name in ("set", "frozenset", "complex", "bytearray", "range", "slice", "object")}
    | {("datetime", name) for name in ("date", "datetime", "time", "timedelta", "timezone")}
    | {("decimal", "Decimal")}
)
_EXCEPTION_MODULES = frozenset({"builtins", "mso_flow.engine.budgets", "mso_flow.engine.sandbox"})


class _AnswerUnpickler(pickle.Unpickler):
    """Plain values, dates, decimals and exceptions; never a function, a module or another class."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _VALUE_TYPES:
            return super().find_class(module, name)
        found = getattr(sys.modules[module], name, None) if module in _EXCEPTION_MODULES else None
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not an answer")


def _load_reply(reply: bytes) -> tuple[bool, Any]:
    try:
        ok, value, name, cpu_seconds = _AnswerUnpickler(io.BytesIO(reply)).load()
    except pickle.UnpicklingError as refused:
        return False, RuntimeError(str(refused))
    limits.charge(cpu_seconds)
    if name is not None and isinstance(value, NameError | AttributeError):
        value.name = name  # not pickled with the exception; errors.classify reads it
    return ok, value


def _write(fd: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


# --- the evaluator's side ----------------------------------------------------------------------------------------


def serve() -> None:
    """The evaluator's loop: read a request from stdin, answer on stdout, until stdin closes."""
    requests, answers = sys.stdin.buffer, os.dup(1)
    os.dup2(2, 1)  # anything printed goes to stderr, never into the answers
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _evaluate_nothing()  # import and start what every evaluation needs before measuring the baseline
    baseline = _address_space()
    cpu_cap = 0
    while True:
        header = requests.read(_HEADER.size)
        body = requests.read(_HEADER.unpack(header)[0]) if len(header) == _HEADER.size else b""
        if not body:
            return  # the service closed the pipe
        budget, function, args = pickle.loads(body)
        if budget is not None:
            limits.configure(budget)
            _cap(resource.RLIMIT_AS, baseline + budget.memory_mb * 1024 * 1024)
        used = _cpu_seconds()
        if int(used) + math.ceil(limits.budget().cpu_seconds) + 1 != cpu_cap:
            cpu_cap = int(used) + math.ceil(limits.budget().cpu_seconds) + 1
            _cap(resource.RLIMIT_CPU, cpu_cap)
        outcome = _outcome(function, args)
        _write(answers, _answer(outcome, _cpu_seconds() - used))


def _outcome(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any, str | None]:
    """(succeeded, result or exception, the name a NameError or AttributeError missed)."""
    try:
        return True, function(*args), None
    except Exception as err:
        return False, err, getattr(err, "name", None) if isinstance(err, NameError | AttributeError) else None
    except BaseException as err:  # SystemExit raised by a script: an error like any other
        return False, RuntimeError(f"{type(err).__name__}: {err}"), None


def _answer(outcome: tuple[bool, Any, str | None], cpu_seconds: float) -> bytes:
    try:
        return pickle.dumps((*outcome, cpu_seconds), _PROTOCOL)
    except MemoryError:
        return pickle.dumps((False, MemoryError(), None, cpu_seconds), _PROTOCOL)
    except Exception:  # a value or an exception class of the script's own, which only the evaluator knows
        ok, value, _ = outcome
        error = (
            limits.ResultInvalid(f"ผลลัพธ์เป็น {type(value).__name__} (the result is a {type(value).__name__})")
            if ok
            else RuntimeError(f"{type(value).__name__}: {value}")
        )
        return pickle.dumps((False, error, None, cpu_seconds), _PROTOCOL)


def _evaluate_nothing() -> None:
    from mso_flow.engine import sandbox

    sandbox.evaluate_here("1", {}, None)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _address_space() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _cap(kind: int, soft: int) -> None:
    hard = resource.getrlimit(kind)[1]
    resource.setrlimit(kind, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
