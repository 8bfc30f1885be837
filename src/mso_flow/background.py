"""The background process: every loop of `services/platform/loops.py` (due timers, webhook deliveries, notification
fan-out, due-date scan, digest and mail, retention) run apart from the processes that serve requests.

`mso-flow serve` starts one (`mso-flow worker`, a child process at a lower CPU priority, `MSO_FLOW_WORKER_NICE`),
restarts it if it exits, and stops it when the service stops; its web workers run no background work, so a burst
of fan-out and mail takes neither a request's CPU time nor its interpreter lock (bench/results-notification-cost.txt).
`mso-flow serve --no-worker` leaves the background work to an `mso-flow worker` run elsewhere (another container).
Several background processes may run at once (replicas): timers are fired under the instance's row lock, webhooks
and mails are leased with `FOR UPDATE SKIP LOCKED`, scans hold their schedule row, so each piece of work is done
once whichever process takes it.

A worker started by `serve` is told its parent's pid and stops when that parent is gone (a killed service leaves
no orphan behind to deliver on its own).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

from mso_flow.services.platform.context import Services
from mso_flow.services.platform.loops import BackgroundLoops
from mso_flow.settings import Settings

log = logging.getLogger(__name__)
RESTART_LONGEST = 30.0  # seconds between restarts of a background process that keeps exiting
STOP_SECONDS = 20.0


def run(settings: Settings, parent: int | None = None) -> int:
    """The background process's body: run the loops until SIGTERM or SIGINT (or until `parent` is gone)."""
    if settings.worker_nice:
        os.nice(settings.worker_nice)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    services = Services.from_settings(settings)
    loops = BackgroundLoops(services)
    loops.start()
    log.info("background process %d running", os.getpid())
    try:
        while not stop.wait(1.0):
            if parent is not None and os.getppid() != parent:
                log.warning("background process %d: its service (%d) is gone; stopping", os.getpid(), parent)
                break
    finally:
        loops.stop()
        services.db.dispose()
    return 0


class Supervisor:
    """Keeps one `mso-flow worker` child running until `stop()`: restarted after an exit, with a growing pause
    (1 s, doubling to `RESTART_LONGEST`) while it keeps exiting within a minute of its start."""

    def __init__(self, log_level: str):
        self.argv = [
            sys.executable, "-m", "mso_flow.cli", "worker", "--log-level", log_level, "--parent", str(os.getpid()),
        ]  # fmt: skip
        self.env = dict(os.environ)  # as it is now: `serve` then tells its web workers to run no background work
        self.process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="mso-worker-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        pause = 1.0
        while True:
            with self._lock:
                if self._stop.is_set():
                    return
                # its own session: a Ctrl-C at the terminal reaches the service, which then stops it in order
                self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
                process, began = self.process, time.monotonic()
            code = process.wait()
            if self._stop.is_set():
                return
            pause = 1.0 if time.monotonic() - began > 60 else min(pause * 2, RESTART_LONGEST)
            log.error("background process %d exited with %s; starting another in %.0f s", process.pid, code, pause)
            self._stop.wait(pause)

    def stop(self) -> None:
        """Stop restarting, and end the child: SIGTERM, then SIGKILL after `STOP_SECONDS`."""
        with self._lock:
            self._stop.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout=5)
