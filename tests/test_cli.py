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


def test_validate_prints_file_line_element_severity_message_and_fails_on_warnings_only_when_strict(tmp_path):
    laneless = tmp_path / "laneless.bpmn"
    laneless.write_bytes(SARABAN.read_bytes().replace(b"<bpmn:flowNodeRef>Task_send</bpmn:flowNodeRef>", b""))
    result = _run("validate", str(laneless))
    assert result.returncode == 0, result.stdout + result.stderr  # a warning: it deploys
    [line] = result.stdout.splitlines()
    file, number, element, severity, message = re.fullmatch(r"(.*):(\d+): (\S+): (error|warning): (.*)", line).groups()
    assert file == str(laneless) and int(number) > 0 and element == "Task_send" and "lane" in message
    assert severity == "warning" and "1 file(s): 0 error(s), 1 warning(s)" in result.stderr
    strict = _run("validate", "--strict", str(laneless))
    assert strict.returncode == 1 and strict.stdout == result.stdout

    broken = tmp_path / "broken.bpmn"
    broken.write_bytes(SARABAN.read_bytes().replace(b'sourceRef="Task_send"', b'sourceRef="Task_nowhere"'))
    refused = _run("validate", str(broken))
    assert refused.returncode == 1
    assert any(": error: " in line for line in refused.stdout.splitlines()), refused.stdout


def test_validate_reads_the_dmn_files_of_a_directory_with_its_bpmn_files(tmp_path):
    fixtures = SARABAN.parents[2] / "tests" / "fixtures"
    for name in ("purchase_approval.bpmn", "approver_level.dmn"):
        (tmp_path / name).write_bytes((fixtures / name).read_bytes())
    together = _run("validate", "--strict", str(tmp_path))
    assert together.returncode == 0 and together.stdout == "", together.stdout
    assert "2 file(s): 0 error(s), 0 warning(s)" in together.stderr
    (tmp_path / "approver_level.dmn").write_text(
        (fixtures / "approver_level.dmn").read_text().replace("&lt;= 100000", "[1..100000]")
    )
    broken = _run("validate", str(tmp_path))
    assert broken.returncode == 1
    assert any(
        line.startswith(f"{tmp_path}/approver_level.dmn:") and "DecisionRule_small: error: " in line
        for line in broken.stdout.splitlines()
    ), broken.stdout


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
