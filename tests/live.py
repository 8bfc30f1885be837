"""Run the real service (`mso-flow serve`, several worker processes) against a real database for a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = os.environ.get("MSO_FLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    name = f"mso_flow_live_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class LiveService:
    url: str
    admin_token: str
    process: subprocess.Popen
    log: Path

    def client(self, token: str | None = None, timeout: float = 30.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


@contextmanager
def live_service(
    database_url: str,
    log_dir: Path,
    workers: int = 4,
    bpmn_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    log_level: str = "warning",
    start_seconds: float = 90,
    serve_args: tuple[str, ...] = (),
) -> Iterator[LiveService]:
    """Start `mso-flow serve` (with `serve_args`) and wait until /health answers (at most `start_seconds`); stop it
    afterwards."""
    port = free_port()
    token = (extra_env or {}).get("MSO_FLOW_ADMIN_TOKEN") or uuid.uuid4().hex
    env = {
        **os.environ,
        "MSO_FLOW_DATABASE_URL": database_url,
        "MSO_FLOW_ADMIN_TOKEN": token,
        "MSO_FLOW_BPMN_DIR": str(bpmn_dir or ROOT / "bpmn"),
        "MSO_FLOW_AUDIT_SIGNING_KEY_FILE": str(log_dir / "audit-ed25519.pem"),
        "MSO_FLOW_MASTER_KEY_FILE": str(log_dir / "master.keys"),
        **(extra_env or {}),
    }
    log = log_dir / f"service-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mso_flow.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                log_level,
                *serve_args,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log, start_seconds)
        yield LiveService(url, token, process, log)
    finally:
        stop(process)


def stop(process: subprocess.Popen, seconds: float = 20) -> None:
    """End a service process: SIGTERM, and SIGKILL if it has not exited after `seconds`."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    """Return once `url`/health answers 200; raise with the log if the process exits or the time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"service did not start:\n{log.read_text()}")
