"""Due dates from the manual's standard durations."""

from __future__ import annotations

from datetime import datetime

import isodate


class WorkingCalendar:
    """Adds a step's standard duration to the time the step started."""

    def due_at(self, start: datetime, duration: str | None) -> datetime | None:
        if not duration:
            return None
        try:
            delta = isodate.parse_duration(duration)
        except (isodate.ISO8601Error, ValueError):
            return None
        return start + delta
