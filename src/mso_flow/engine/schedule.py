"""When a timer start event fires: a date (`timeDate`), once after deployment (`timeDuration`), or a cycle
(`timeCycle`, ISO-8601 repeating interval `R[n]/[start/]duration`). Each firing starts a new instance; a
cycle's interval must be at least the service's minimum (`cycle_problems`, checked at deployment)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def _duration(text: str, start: datetime) -> timedelta:
    return TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(text), start)


def first_due(kind: str, text: str, deployed_at: datetime) -> datetime:
    """The first firing of a start timer deployed at `deployed_at`."""
    if kind == "timeDate":
        return TimerEventDefinition.get_datetime(text)
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
    """(repetitions, -1 for unbounded; first firing; interval) of `R[n]/[start/]duration`."""
    parts = text.upper().strip().lstrip("R").split("/")
    cycles = int(parts[0]) if parts[0] else -1
    if len(parts) == 3:
        start = TimerEventDefinition.get_datetime(parts[1])
        return cycles, start, _duration(parts[2], start)
    duration = _duration(parts[1], now)
    return cycles, now + duration, duration


def interval(kind: str, text: str) -> timedelta | None:
    """The interval of a cycle (`R[n]/[start/]duration`), None for a date or a duration."""
    if kind != "timeCycle":
        return None
    try:
        return _cycle(text, datetime(2000, 1, 1, tzinfo=UTC))[2]
    except (ValueError, IndexError):
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
