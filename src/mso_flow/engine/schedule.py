"""When a timer start event fires: a date (`timeDate`), once after deployment (`timeDuration`), or a cycle
(`timeCycle`, ISO-8601 repeating interval `R[n]/[start/]duration`). Each firing starts a new instance."""

from __future__ import annotations

from datetime import datetime, timedelta

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
