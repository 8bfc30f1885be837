"""The background work runs in a process of its own (`mso_flow/background.py`), never in the web workers: the live
service (`mso-flow serve`) on SQLite and PostgreSQL, a real SMTP server on loopback (aiosmtpd), a สารบรรณ case
reaching a clerk with an e-mail address.

- `serve` starts one background process, at a lower CPU priority; killed, it is started again, and the mails of
  the tasks created while it was down arrive, each once; the web worker's metrics still reach /metrics;
- `serve --no-worker` starts none and its web workers send nothing; an `mso-flow worker` started apart delivers
  the waiting mail and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, SARABAN
from tests.live import LiveService, free_port, live_service
from tests.mail import Inbox, smtp_server
from tests.web.conftest import CLERK, _database

pytestmark = pytest.mark.slow
ADDRESS = "clerk1@example.go.th"
START = "/api/v1/process-definitions/central_saraban/start"


def _mail_env(port: int) -> dict[str, str]:
    return {
        "MSO_FLOW_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "MSO_FLOW_MAIL_FROM": "MSO Flow <noreply@example.go.th>",
        "MSO_FLOW_PUBLIC_URL": "https://flow.example.go.th",
    }


@contextmanager
def _service(backend: str, work: Path, *serve_args: str) -> Iterator[tuple[LiveService, Inbox, str, dict[str, str]]]:
    """The live service with the สารบรรณ process and a relay; the office's token (it starts cases) and the
    service's environment."""
    bpmn = work / "bpmn" / "central"
    bpmn.mkdir(parents=True)
    shutil.copy(SARABAN, bpmn / SARABAN.name)
    port = free_port()
    with (
        smtp_server(port) as inbox,
        _database(backend, work) as url,
        live_service(
            url, work, workers=1, bpmn_dir=work / "bpmn", extra_env=_mail_env(port), serve_args=serve_args
        ) as live,
        live.client() as admin,
    ):
        clerk = {"username": "clerk1", "roles": [CLERK], "email": ADDRESS, "force": True}
        assert admin.post("/api/v1/users", json=clerk).status_code == 201
        office = admin.post("/api/v1/users", json={"username": "office", "roles": ["integrator"], "force": True})
        assert office.status_code == 201, office.text
        env = {
            **os.environ,
            "MSO_FLOW_DATABASE_URL": url,
            "MSO_FLOW_AUDIT_SIGNING_KEY_FILE": str(work / "audit-ed25519.pem"),
            "MSO_FLOW_MASTER_KEY_FILE": str(work / "master.keys"),
            "MSO_FLOW_BPMN_DIR": str(work / "bpmn"),
            **_mail_env(port),
        }
        yield live, inbox, office.json()["token"], env


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _background(live: LiveService) -> list[int]:
    """The service's background processes (`mso-flow worker`)."""
    found = []
    for pid in _children(live.process.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in argv and b"mso_flow.cli" in argv:
            found.append(pid)
    return found


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _until(check: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _start(live: LiveService, token: str, key: str) -> None:
    with live.client(token) as office:
        started = office.post(START, json={"business_key": key})
        assert started.status_code == 201, started.text


@pytest.mark.parametrize("backend", BACKENDS)
def test_serve_runs_the_background_work_in_a_niced_process_it_restarts(backend, tmp_path):
    with _service(backend, tmp_path) as (live, inbox, office, _):
        _until(lambda: len(_background(live)) == 1, "serve started no background process")
        (first,) = _background(live)
        # it lowers its own priority as it starts, by MSO_FLOW_WORKER_NICE (10) below the service's: seen once it has
        # (relative, so that the suite run under `nice` checks the same thing; the kernel caps niceness at 19)
        lowered = min(_nice(live.process.pid) + 10, 19)
        _until(lambda: _nice(first) == lowered, f"the background process never lowered its priority to {lowered}")
        _start(live, office, "พม 0201/1")
        _until(lambda: len(inbox.to(ADDRESS)) == 1, "the first case's mail never arrived")

        os.kill(first, signal.SIGKILL)
        _start(live, office, "พม 0201/2")  # while no background process runs, or just as another starts
        _until(lambda: _background(live) not in ([], [first]), "the background process was not started again")
        _until(lambda: len(inbox.to(ADDRESS)) == 2, "the mail of the case made meanwhile never arrived")
        with live.client() as admin:
            sent = admin.get("/api/v1/notifications/deliveries", params={"state": "sent"}).json()
        assert sent["total"] == 2
        time.sleep(3)  # three polls of the new process: nothing is sent again
        mails = inbox.to(ADDRESS)
        assert len(mails) == 2
        assert len({m.message["Message-ID"] for m in mails}) == 2
        assert sorted("พม 0201/1" in m.body for m in mails) == [False, True]
        with live.client() as admin:  # the one web worker's metrics are shared with the background process's
            scraped = admin.get("/metrics").text
        assert 'mso_flow_http_requests_total{method="POST",route="/api/v1/process-definitions/{key}/start"' in scraped


@pytest.mark.parametrize("backend", BACKENDS)
def test_serve_no_worker_leaves_the_work_to_a_worker_started_apart(backend, tmp_path):
    with _service(backend, tmp_path, "--no-worker") as (live, inbox, office, env):
        assert _background(live) == []
        _start(live, office, "พม 0201/3")
        time.sleep(3)  # three poll intervals: a web worker that ran the loops would have mailed by now
        assert inbox.to(ADDRESS) == []
        with live.client() as admin:
            assert admin.get("/api/v1/notifications/deliveries").json()["total"] == 0  # not even fanned out

        command = [sys.executable, "-m", "mso_flow.cli", "worker", "--log-level", "warning"]
        with (tmp_path / "worker.log").open("wb") as out:
            worker = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _until(lambda: len(inbox.to(ADDRESS)) == 1, "the worker never mailed the clerk")
        finally:
            worker.terminate()
            code = worker.wait(timeout=30)
        assert code == 0, (tmp_path / "worker.log").read_text()
        assert "พม 0201/3" in inbox.to(ADDRESS)[0].body
