"""Budgets of BPMN conditions and scripts: CPU time, wall-clock time, memory, sizes of what they build.

Evaluations run in evaluator processes (`engine.isolation`) whose memory, CPU and wall-clock time the kernel
bounds: that is the limit nothing escapes, a single built-in call that loops or allocates in C included. Inside
an evaluator, two layers answer sooner and precisely, and keep it alive for the next evaluation:

1. **Guarded operations** (compile time). The sandbox compiles expressions with `GuardingTransformer`, which
   rewrites `*`, `**`, `<<`, `+`, `%`, augmented assignment and f-string fields into calls of `binop` /
   `format_field`, and refuses `try` (a script cannot swallow the budget's exception). `binop`, the `range`,
   `str`, `repr` and string methods given to expressions check the size of a result *before* building it
   (`'a' * 10**10`, `10**5000`, `sum(range(10**10))`, `'x'.ljust(10**10)` are refused at once).
2. **A watchdog thread** (run time). `begin` registers the calling thread's evaluation with its budget; the
   watchdog polls every few milliseconds and raises `LimitExceeded` asynchronously in a thread whose own CPU
   time, wall-clock time, or the process's memory growth exceeds the budget. Python loops (`while True`,
   nested comprehensions) are interrupted at the next bytecode; the exception is raised again every second
   until the evaluation ends, and a pending exception is cleared when it does, so nothing leaks out.

In the service's process:

3. **A command budget** (cooperative). A whole engine command (a start, a completion) that keeps running steps
   without reaching a wait state is stopped at its next condition, script or step once it has used
   `engine_seconds` of CPU, its evaluators' included (`engine_command`, `engine_step`, `charge`, `check_command`).

`check_result` refuses values a script leaves in the task's data that cannot be stored: anything not JSON
(a set, an object, a self-referencing list), non-finite floats, huge integers, deep or large values.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from RestrictedPython import RestrictingNodeTransformer


@dataclass(frozen=True)
class Budget:
    cpu_seconds: float = 1.0
    wall_seconds: float = 2.0
    memory_mb: int = 256
    max_items: int = 1_000_000  # characters of a string, items of a list or range
    max_int_bits: int = 1024
    max_depth: int = 32
    max_result_bytes: int = 256 * 1024
    engine_seconds: float = 10.0  # CPU budget of one engine command (wall-clock: twice that)


_budget = Budget()


def configure(budget: Budget) -> None:
    """Set the budget of every evaluation in this process (from the settings, at start-up)."""
    global _budget
    _budget = budget


def budget() -> Budget:
    return _budget


class LimitExceeded(Exception):
    """A condition or script went over its budget; the message says which, in Thai and English."""

    message = "นิพจน์หรือสคริปต์เกินขีดจำกัด (expression or script exceeded its budget)"

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)


class CpuLimitExceeded(LimitExceeded):
    message = "นิพจน์หรือสคริปต์ใช้เวลาประมวลผลเกินกำหนด (CPU-time budget exceeded)"


class WallLimitExceeded(LimitExceeded):
    message = "นิพจน์หรือสคริปต์ทำงานนานเกินกำหนด (wall-clock budget exceeded)"


class MemoryLimitExceeded(LimitExceeded):
    message = "นิพจน์หรือสคริปต์ใช้หน่วยความจำเกินกำหนด (memory budget exceeded)"


class ResultInvalid(LimitExceeded):
    message = "ผลลัพธ์ของสคริปต์เก็บเป็น JSON ไม่ได้ (a script result cannot be stored as JSON)"


# --- layer 1: guarded operations -------------------------------------------------------------------------------


def _too_big(what: str) -> LimitExceeded:
    return LimitExceeded(f"ผลลัพธ์ใหญ่เกินขีดจำกัด: {what} (result too large: {what})")


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def size_of(value: Any, limit: int) -> int:
    """A bound on the characters `str(value)` would produce, counting up to `limit` at most (aliases count
    every time they occur, as repr writes them)."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 2
        else:
            total += 24
        if total > limit:
            return total
    return total


def _check_text_size(value: Any) -> Any:
    limit = _budget.max_items
    if size_of(value, limit) > limit:
        raise _too_big(f"ข้อความยาวเกิน {limit} ตัวอักษร")
    return value


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def binop(op: str, left: Any, right: Any) -> Any:
    """`left op right` after checking the result's size (the call every guarded operator compiles to)."""
    b = _budget
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            length = _length(seq)
            if length is not None and isinstance(times, int) and length * times > b.max_items:
                raise _too_big(f"ลำดับยาวเกิน {b.max_items}")
        if isinstance(left, int) and isinstance(right, int) and _int_bits(left) + _int_bits(right) > b.max_int_bits:
            raise _too_big(f"จำนวนเต็มเกิน {b.max_int_bits} บิต")
        return left * right
    if op == "**":
        big = isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
        if big and _int_bits(left) * right > b.max_int_bits:
            raise _too_big(f"จำนวนเต็มเกิน {b.max_int_bits} บิต")
        return left**right
    if op == "<<":
        if isinstance(right, int) and _int_bits(left) + right > b.max_int_bits:
            raise _too_big(f"จำนวนเต็มเกิน {b.max_int_bits} บิต")
        return left << right
    if op == "+":
        llen, rlen = _length(left), _length(right)
        if llen is not None and rlen is not None and llen + rlen > b.max_items:
            raise _too_big(f"ลำดับยาวเกิน {b.max_items}")
        return left + right
    if op == "%":
        if isinstance(left, str | bytes):
            _check_format(left if isinstance(left, str) else left.decode(errors="replace"))
            _check_text_size(right)
        return left % right
    raise ValueError(op)  # pragma: no cover - only the operators above are rewritten


_WIDE = re.compile(r"\*|\d{5,}")


def _check_format(spec: str) -> None:
    if _WIDE.search(spec.replace("%%", "")) and "%" in spec:
        raise _too_big("ความกว้างของรูปแบบข้อความ")


def inplacevar(op: str, left: Any, right: Any) -> Any:
    """`x op= y` (RestrictedPython's `_inplacevar_`)."""
    if op[:-1] in ("*", "**", "<<", "+", "%"):
        return binop(op[:-1], left, right)
    return _PLAIN_OPS[op](left, right)


_PLAIN_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "-=": lambda a, b: a - b,
    "/=": lambda a, b: a / b,
    "//=": lambda a, b: a // b,
    ">>=": lambda a, b: a >> b,
    "&=": lambda a, b: a & b,
    "|=": lambda a, b: a | b,
    "^=": lambda a, b: a ^ b,
    "@=": lambda a, b: a @ b,
}


def format_field(value: Any, spec: str = "") -> str:
    """An f-string field `{value:spec}` with bounded width and size."""
    if re.search(r"\d{5,}", spec):
        raise _too_big("ความกว้างของรูปแบบข้อความ")
    _check_text_size(value)
    return format(value, spec)


def guarded_range(*args: int) -> range:
    result = range(*args)
    if len(result) > _budget.max_items:
        raise _too_big(f"range ยาวเกิน {_budget.max_items}")
    return result


def guarded_str(*args: Any) -> str:
    if args:
        _check_text_size(args[0])
    return str(*args)


def guarded_repr(value: Any) -> str:
    return repr(_check_text_size(value))


_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_REFUSED_METHODS = frozenset({"format", "format_map"})


def guard_attribute(obj: Any, name: str, attribute: Any) -> Any:
    """String methods whose result size depends on an argument are wrapped with a size check."""
    if not isinstance(obj, str | bytes):
        return attribute
    if name in _REFUSED_METHODS:
        raise LimitExceeded(f"ใช้ .{name}() ไม่ได้ ให้ใช้ f-string (use an f-string instead of .{name}())")
    if name in _WIDTH_METHODS:

        def width_checked(*args: Any) -> Any:
            if any(isinstance(a, int) and a > _budget.max_items for a in args):
                raise _too_big(f"ความกว้างเกิน {_budget.max_items}")
            return attribute(*args)

        return width_checked
    if name == "replace":

        def replace_checked(old: Any, new: Any, count: int = -1) -> Any:
            times = obj.count(old) if count < 0 else min(count, obj.count(old))
            if len(obj) + times * (len(new) - len(old)) > _budget.max_items:
                raise _too_big(f"ข้อความยาวเกิน {_budget.max_items} ตัวอักษร")
            return attribute(old, new, count)

        return replace_checked
    if name == "join":

        def join_checked(items: Any) -> Any:
            items = list(items)
            total = sum(len(i) for i in items if isinstance(i, str | bytes)) + len(obj) * len(items)
            if total > _budget.max_items:
                raise _too_big(f"ข้อความยาวเกิน {_budget.max_items} ตัวอักษร")
            return attribute(items)

        return join_checked
    return attribute


_GUARDED_OPS = {ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%"}


class GuardingTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus size-checked operators and f-string fields; no `try`."""

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        op = _GUARDED_OPS.get(type(node.op))
        if op is None:
            return node
        call = ast.Call(ast.Name("_binop_", ast.Load()), [ast.Constant(op), node.left, node.right], [])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = self.node_contents_visit(node)
        spec = node.format_spec
        if spec is not None and not (
            isinstance(spec, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in spec.values)
        ):
            self.error(node, "f-string format specs must be constant")
            return node
        text = "".join(str(v.value) for v in spec.values) if isinstance(spec, ast.JoinedStr) else ""  # type: ignore[attr-defined]
        value = node.value
        if node.conversion == ord("r"):
            value = ast.Call(ast.Name("repr", ast.Load()), [value], [])
        elif node.conversion in (ord("s"), ord("a")):
            value = ast.Call(ast.Name("str", ast.Load()), [value], [])
        call = ast.Call(ast.Name("_format_field_", ast.Load()), [value, ast.Constant(text)], [])
        return ast.fix_missing_locations(ast.copy_location(ast.FormattedValue(call, -1, None), node))

    def visit_Try(self, node: ast.Try) -> Any:
        self.error(node, "try/except is not allowed in BPMN scripts: a failing step becomes an incident")
        return node


GUARD_NAMES: dict[str, Any] = {
    "_binop_": binop,
    "_inplacevar_": inplacevar,
    "_format_field_": format_field,
}
GUARDED_BUILTINS: dict[str, Any] = {"range": guarded_range, "str": guarded_str, "repr": guarded_repr}


# --- layer 2: the watchdog -------------------------------------------------------------------------------------


@dataclass
class _Running:
    deadline: float
    cpu_seconds: float
    clock: int | None = None  # the thread's CPU clock, read by the watchdog when it first sees the thread
    cpu_start: float = 0.0
    seen: bool = False
    raised: type[LimitExceeded] | None = None
    raised_at: float = 0.0
    rss_start: int = 0


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _raise_in(thread_id: int, kind: type[BaseException] | None) -> None:
    """Raise `kind` in the thread at its next bytecode (None: clear what is pending)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(kind) if kind else None)


class Watchdog:
    """One thread per service process that interrupts evaluations over budget.

    Registering costs the evaluating thread a lock and a list entry; the watchdog itself reads the thread's CPU
    clock and the process's memory when it first sees an evaluation (so evaluations shorter than one poll,
    nearly all of them, cost it nothing), which makes each budget lenient by at most one poll.

    Only C-level locks are used (`threading.Lock`): an exception raised asynchronously can land on any Python
    bytecode, and one landing inside a Python-level `__enter__` (a `Condition`'s) would leave its lock held.
    An over-budget thread gets the exception once, and again only every `RERAISE_SECONDS` while it is still
    registered (in case something swallowed it), never while it unwinds through its own clean-up.
    """

    POLL_SECONDS = 0.005
    IDLE_POLLS = 200  # keep polling for a second after the last evaluation instead of being woken each time
    RERAISE_SECONDS = 1.0

    def __init__(self) -> None:
        self._running: dict[int, list[_Running]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Lock()  # held while the watchdog sleeps; released to wake it
        self._wake.acquire()
        self._thread: threading.Thread | None = None
        self._idle = False

    def begin(self, cpu_seconds: float, wall_seconds: float) -> None:
        """Register an evaluation of the calling thread; evaluations nest (an expression inside an engine
        command), and each level keeps its own budget."""
        ident = threading.get_ident()
        entry = _Running(time.monotonic() + wall_seconds, cpu_seconds)
        with self._lock:
            self._running.setdefault(ident, []).append(entry)
            if self._idle:
                self._idle = False
                self._wake.release()
            elif self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="mso-flow-watchdog", daemon=True)
                self._thread.start()

    def end(self) -> None:
        ident = threading.get_ident()
        with self._lock:
            stack = self._running.get(ident)
            if not stack:
                return
            entry = stack.pop()
            if not stack:
                del self._running[ident]
            if entry.raised is not None:
                _raise_in(ident, None)  # clear an exception raised but not yet delivered

    def _loop(self) -> None:
        idle_polls = 0
        while True:
            sleep = False
            with self._lock:
                if not self._running and idle_polls > self.IDLE_POLLS:
                    self._idle = sleep = True
            if sleep:
                self._wake.acquire()  # until `begin` releases it
                idle_polls = 0
            time.sleep(self.POLL_SECONDS)
            with self._lock:
                if not self._running:
                    idle_polls += 1
                    continue
                idle_polls = 0
                self._check(time.monotonic())

    def _check(self, now: float) -> None:
        rss = _rss()
        for ident, stack in self._running.items():
            for entry in stack:
                if not entry.seen:
                    entry.seen, entry.rss_start = True, rss
                    with contextlib.suppress(AttributeError, OSError):
                        entry.clock = time.pthread_getcpuclockid(ident)
                        entry.cpu_start = time.clock_gettime(entry.clock)
                    continue
                if entry.raised is not None:
                    if now - entry.raised_at < self.RERAISE_SECONDS:
                        break
                    kind: type[LimitExceeded] | None = entry.raised
                else:
                    kind = self._over(entry, now, rss - entry.rss_start)
                if kind is not None:
                    entry.raised, entry.raised_at = kind, now
                    _raise_in(ident, kind)
                    break

    @staticmethod
    def _over(entry: _Running, now: float, grown: int) -> type[LimitExceeded] | None:
        if entry.clock is not None and time.clock_gettime(entry.clock) - entry.cpu_start > entry.cpu_seconds:
            return CpuLimitExceeded
        if now > entry.deadline:
            return WallLimitExceeded
        if grown > _budget.memory_mb * 1024 * 1024:
            return MemoryLimitExceeded
        return None


_watchdog = Watchdog()


def begin() -> None:
    """Start watching a condition or script of the calling thread; call `end` in a `finally`."""
    _watchdog.begin(_budget.cpu_seconds, _budget.wall_seconds)


def end() -> None:
    _watchdog.end()


_command = threading.local()


@contextlib.contextmanager
def engine_command() -> Iterator[None]:
    """Bound a whole engine command (start, complete, fire timers…): a process whose steps never reach a wait
    state is stopped at its next condition or script once the command has used `engine_seconds` of CPU, its
    own and its evaluations' (`charge`). Checked cooperatively, never raised asynchronously: the engine's own
    code (logging, locks) must not be interrupted at an arbitrary bytecode."""
    outer = getattr(_command, "started", None)
    if outer is None:
        _command.started, _command.charged, _command.steps = time.thread_time(), 0.0, 0
    try:
        yield
    finally:
        if outer is None:
            _command.started = None


MAX_TASK_DEPTH = 990  # SpiffWorkflow walks a task tree 1000 deep: a task below is never run, the instance "ends"
_DEPTH_CHECKS_AFTER = 100  # automatic steps of one command before each step's depth is looked at


def engine_step(task: Any = None) -> None:
    """Before each automatic step of an engine command (`do_engine_steps(will_complete_task=engine_step)`): a loop
    of tasks that evaluates nothing (plain tasks, which pass through) is stopped by the command's budget too, and
    a task SpiffWorkflow would not see (`too_deep`) by a `LimitExceeded`, not by an instance that silently ends."""
    check_command()
    _command.steps = getattr(_command, "steps", 0) + 1
    if _command.steps > _DEPTH_CHECKS_AFTER and task is not None and too_deep(task):
        raise LimitExceeded(
            f"กระบวนการทำงานวนซ้ำลึกเกิน {MAX_TASK_DEPTH} ขั้นโดยไม่ถึงจุดรอ (the process went {MAX_TASK_DEPTH} steps "
            "deep without reaching an end: a loop without an exit)"
        )


def too_deep(task: Any) -> bool:
    """Whether a SpiffWorkflow task is as deep in its tree as the engine still walks."""
    return bool(task.depth >= MAX_TASK_DEPTH)


def charge(cpu_seconds: float) -> None:
    """Count CPU time spent for the calling thread's engine command elsewhere (in an evaluator process)."""
    if getattr(_command, "started", None) is not None:
        _command.charged += cpu_seconds


def check_command() -> None:
    """`CpuLimitExceeded` when the calling thread's engine command has used up its budget."""
    started = getattr(_command, "started", None)
    if started is not None and time.thread_time() - started + _command.charged > _budget.engine_seconds:
        raise CpuLimitExceeded(
            "ขั้นตอนของกระบวนการทำงานต่อเนื่องนานเกินกำหนดโดยไม่ถึงจุดรอ "
            "(the engine command exceeded its CPU budget without reaching a wait state)"
        )


# --- results ---------------------------------------------------------------------------------------------------


def check_result(name: str, value: Any) -> None:
    """`ResultInvalid` unless `value` is plain JSON within the depth, integer and size limits."""
    b = _budget
    seen: set[int] = set()
    size = 0

    def walk(item: Any, depth: int) -> None:
        nonlocal size
        if depth > b.max_depth:
            raise ResultInvalid(f"ตัวแปร {name} ซ้อนกันเกิน {b.max_depth} ชั้น ({name} nests too deep)")
        if item is None or isinstance(item, bool):
            size += 5
        elif isinstance(item, int):
            if item.bit_length() > 63:
                raise ResultInvalid(f"ตัวแปร {name} มีจำนวนเต็มเกิน 64 บิต ({name} holds an integer beyond 64 bits)")
            size += 20
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ResultInvalid(f"ตัวแปร {name} มีค่า NaN หรือ Infinity ({name} is not a finite number)")
            size += 24
        elif isinstance(item, str):
            size += len(item.encode("utf-8", "surrogatepass")) + 2
        elif isinstance(item, list | tuple | dict):
            if id(item) in seen:
                raise ResultInvalid(f"ตัวแปร {name} อ้างถึงตัวเอง ({name} refers to itself)")
            seen.add(id(item))
            if isinstance(item, dict):
                for key, sub in item.items():
                    if not isinstance(key, str):
                        raise ResultInvalid(f"ตัวแปร {name} มีคีย์ที่ไม่ใช่ข้อความ ({name} has a non-text key)")
                    size += len(key) + 4
                    walk(sub, depth + 1)
            else:
                for sub in item:
                    walk(sub, depth + 1)
            seen.discard(id(item))
        else:
            raise ResultInvalid(
                f"ตัวแปร {name} เป็น {type(item).__name__} ซึ่งเก็บเป็น JSON ไม่ได้ "
                f"({name} is a {type(item).__name__}, not a JSON value)"
            )
        if size > b.max_result_bytes:
            raise ResultInvalid(f"ตัวแปร {name} ใหญ่เกิน {b.max_result_bytes} ไบต์ ({name} is too large)")

    walk(value, 1)
