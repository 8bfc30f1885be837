"""Requests in flight in this service process (counted by `api/observe.py`), so that background work that is not
urgent — notification fan-out and mail — waits for a quiet moment instead of taking CPU and the database from the
requests. It waits a bounded time: under constant load the work still goes on, more slowly."""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_in_flight = 0


def enter() -> None:
    global _in_flight
    with _lock:
        _in_flight += 1


def leave() -> None:
    global _in_flight
    with _lock:
        _in_flight -= 1


def busy() -> bool:
    return _in_flight > 0


def wait_quiet(longest: float, stop: threading.Event | None = None) -> None:
    """Return once no request is in flight, or after `longest` seconds (or at `stop`)."""
    deadline = time.monotonic() + longest
    while busy() and time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        time.sleep(0.01)
