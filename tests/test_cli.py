"""The operator's command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import SARABAN


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mso_flow.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_validate_accepts_the_manual_process():
    result = _run("validate", str(SARABAN))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_validate_prints_file_line_element_message(tmp_path):
    broken = tmp_path / "broken.bpmn"
    broken.write_bytes(SARABAN.read_bytes().replace(b"<bpmn:flowNodeRef>Task_send</bpmn:flowNodeRef>", b""))
    result = _run("validate", str(broken))
    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    file, number, element, message = re.fullmatch(r"(.*):(\d+): (\S+): (.*)", line).groups()
    assert file == str(broken) and int(number) > 0 and element == "Task_send" and "lane" in message


def test_users_create_prints_a_token_once(tmp_path):
    env = {
        **os.environ,
        "MSO_FLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "MSO_FLOW_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "audit.pem"),
    }
    assert _run("db", "upgrade", env=env).returncode == 0
    created = _run("users", "create", "somsri", "--role", "นิติกร", "--role", "supervisor", "--force", env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert len(token) >= 40
    again = _run("users", "create", "somsri", "--role", "x", "--force", env=env)
    assert again.returncode == 1 and "somsri" in again.stderr
