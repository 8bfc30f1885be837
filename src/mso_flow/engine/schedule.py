"""Timer texts: when a timer start event fires, and whether the engine can run a timer text at all.

A timer is a date (`timeDate`), once after deployment (`timeDuration`), or a cycle (`timeCycle`, ISO-8601
repeating interval `R[n]/[start/]duration` or `R[n]/duration/end`). Each firing of a start timer starts a new
instance; a cycle's interval must be at least the service's minimum (`cycle_problems`, checked at deployment).

`timer_problem` says why the engine cannot run a text, in the engine's own reading of it: not ISO-8601, a
negative or empty interval, a date out of range, or a duration beyond `MAX_TIMER` (SpiffWorkflow counts a
duration's months one by one: `P99999999Y` would take hours). Deployment refuses such texts naming their element;
at run time the same check guards the texts timer expressions compute. Every function here raises
`TimerInvalid` (a `ValueError`) for such a text, never anything else.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

MAX_TIMER = timedelta(days=100 * 366)  # a timer further away than a century is a typing error
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)
_CYCLE = re.compile(r"R(\d*)/([^/]+)(?:/([^/]+))?")


class TimerInvalid(ValueError):
    """A timer text the engine cannot run; the message says why, in English (designers' verdict)."""


def timer_problem(kind: str, text: Any) -> str | None:
    """Why the engine cannot run `text` as a timer of `kind` (timeDate, timeDuration, timeCycle), or None."""
    if not isinstance(text, str):
        return f"a timer must be ISO-8601 text, not {type(text).__name__}"
    try:
        if kind == "timeDate":
            _date(text)
        elif kind == "timeDuration":
            _duration(text, _REFERENCE)
        else:
            _cycle(text, _REFERENCE)
    except TimerInvalid as invalid:
        return str(invalid)
    return None


def _date(text: str) -> datetime:
    try:
        if text.upper().startswith("P"):
            raise ValueError(text)  # a duration, where a date is due
        if "W" in text.upper():
            return TimerEventDefinition.parse_iso_week(text)
        return TimerEventDefinition.get_datetime(text)
    except (ValueError, OverflowError, AttributeError):
        raise TimerInvalid(
            f"{text!r} is not an ISO-8601 date and time between the years 1 and 9999 (e.g. 2026-12-01T09:00:00+07:00)"
        ) from None


def _duration(text: str, start: datetime, backwards: bool = False) -> timedelta:
    """The duration `text` counted from `start` (back from it, with `backwards`) as the engine counts it: months
    and years by the calendar."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(text) if text.upper().startswith("P") else None
    except Exception:  # SpiffWorkflow raises a bare Exception("Invalid duration")
        parsed = None
    if parsed is None:
        raise TimerInvalid(f"{text!r} is not an ISO-8601 duration of whole units such as PT24H, P7D or P1Y2M")
    too_long = TimerInvalid(f"{text!r} is longer than the longest timer, {MAX_TIMER.days} days")
    if parsed.get("years", 0) * 12 + parsed.get("months", 0) > MAX_TIMER.days // 28:
        raise too_long  # before the engine counts the months one by one
    try:
        if backwards:
            duration = TimerEventDefinition.get_timedelta_from_end(parsed, start)
            start - duration  # the first firing must be a date the calendar has
        else:
            duration = TimerEventDefinition.get_timedelta_from_start(parsed, start)
            start + duration  # so must the due time
    except (OverflowError, ValueError):
        raise TimerInvalid(f"{text!r} from {start:%Y-%m-%d} leaves the years 1 to 9999") from None
    if duration > MAX_TIMER:
        raise too_long
    return duration


def run_time_problem(kind: str, text: Any) -> str | None:
    """`timer_problem` of a text a timer expression computed, which must also repeat after a positive interval
    when it is a cycle (at deployment, `cycle_problems` applies the service's minimum instead)."""
    problem = timer_problem(kind, text)
    if problem is None and interval(kind, text) == timedelta(0):
        return "the cycle repeats every 0 s"
    return problem


def first_due(kind: str, text: str, deployed_at: datetime) -> datetime:
    """The first firing of a start timer deployed at `deployed_at`."""
    if kind == "timeDate":
        return _date(text)
    if kind == "timeDuration":
        return deployed_at + _duration(text, deployed_at)
    _, start, _ = _cycle(text, deployed_at)
    return start


def next_due(kind: str, text: str, due: datetime, fired: int) -> datetime | None:
    """The firing after the one due at `due`, when `fired` firings (that one included) have happened."""
    if kind != "timeCycle":
        return None
    cycles, _, duration = _cycle(text, due)
    if 0 <= cycles <= fired:
        return None
    return due + duration


def _cycle(text: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """(repetitions, -1 for unbounded; first firing; interval) of `R[n]/[start/]duration` or
    `R[n]/duration/end`."""
    match = _CYCLE.fullmatch(text.strip().upper())
    if match is None:
        raise TimerInvalid(
            "not an ISO-8601 repeating interval R[n]/[start/]duration (e.g. R/P1D, R3/PT1H, "
            "R/2026-12-01T09:00:00+07:00/P1W) with n a count of repetitions"
        )
    repetitions, first, second = match.groups()
    cycles = int(repetitions) if repetitions else -1
    if second is None:
        duration = _duration(first, now)
        return cycles, now + duration, duration
    if first.startswith("P"):
        end = _date(second)
        duration = _duration(first, end, backwards=True)
        return cycles, end - duration, duration
    start = _date(first)
    return cycles, start, _duration(second, start)


def interval(kind: str, text: str) -> timedelta | None:
    """The interval of a cycle (`R[n]/[start/]duration`), None for a date or a duration."""
    if kind != "timeCycle":
        return None
    try:
        return _cycle(text, _REFERENCE)[2]
    except TimerInvalid:
        return None


def following(kind: str, text: str, first: datetime, due: datetime, now: datetime) -> datetime | None:
    """The firing after the one due at `due` that is later than `now`, or None when the schedule has ended.

    Repetitions missed while the service was down are skipped (and count toward `R<n>`): catch-up fires once.
    `first` is the first firing of the schedule (repetitions are counted from it)."""
    if kind != "timeCycle":
        return None
    cycles, _, duration = _cycle(text, due)
    if duration <= timedelta(0):
        return None
    step = due + duration
    if step <= now:
        step += duration * ((now - step) // duration + 1)
    if cycles >= 0 and (step - first) // duration >= cycles:
        return None
    return step


def cycle_problems(timers: list[tuple[str, str, str]], file: str, minimum: timedelta) -> list[tuple[str, str, str]]:
    """(file, element id, message) of each cycle among `timers` (element id, kind, text) shorter than `minimum`."""
    problems = []
    for element_id, kind, text in timers:
        every = interval(kind, text)
        if every is not None and every < minimum:
            problems.append(
                (
                    file,
                    element_id,
                    f"timer cycle {text!r} repeats every {every.total_seconds():g} s; the minimum is "
                    f"{minimum.total_seconds():g} s (MSO_FLOW_MIN_TIMER_INTERVAL_SECONDS)",
                )
            )
    return problems
