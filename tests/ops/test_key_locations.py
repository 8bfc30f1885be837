"""Where the keys live: by default in the service user's configuration folder, apart from the database; a start
(`mso-flow serve`, the app factory under uvicorn) without a usable key refuses with one line naming the setting,
and so does a start that finds a key at the former default beside the database (rather than making a new key that
would leave the sealed data unreadable). The image's layout is tried in tests/ops/test_image_layout.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mso_flow.settings import Settings
from tests.conftest import BPMN_DIR, MIGRATIONS
from tests.live import free_port

KEY_SETTINGS = ("MSO_FLOW_MASTER_KEY_FILE", "MSO_FLOW_MASTER_KEY", "MSO_FLOW_AUDIT_SIGNING_KEY_FILE")


def _start(command: list[str], home: Path, cwd: Path, **env: str) -> tuple[int, list[str]]:
    """Run a start-up `command` with only the given key settings; its exit code and its ERROR lines."""
    inherited = {k: v for k, v in os.environ.items() if k not in KEY_SETTINGS and k != "XDG_CONFIG_HOME"}
    settings = {
        "MSO_FLOW_DATABASE_URL": f"sqlite:///{cwd / 'mso_flow.db'}",
        "MSO_FLOW_BPMN_DIR": str(BPMN_DIR),
        "MSO_FLOW_MIGRATIONS_DIR": str(MIGRATIONS),
    }
    result = subprocess.run(
        [sys.executable, "-m", *command],
        env={**inherited, **settings, "HOME": str(home), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return result.returncode, [line for line in output.splitlines() if " ERROR " in line]


def test_the_keys_default_to_the_users_config_folder_apart_from_the_database(monkeypatch, tmp_path):
    for name in (*KEY_SETTINGS, "MSO_FLOW_DATABASE_URL", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    settings = Settings()
    folder = tmp_path / "home" / ".config" / "mso-flow"
    assert settings.master_key_file == folder / "master.keys"
    assert settings.audit_signing_key_file == folder / "audit-ed25519.pem"
    database = Path(settings.database_url.removeprefix("sqlite:///")).resolve()
    assert not folder.is_relative_to(database.parent)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert Settings().master_key_file == tmp_path / "config" / "mso-flow" / "master.keys"


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("MSO_FLOW_MASTER_KEY_FILE", "a-file/master.keys", "a-file"),
        ("MSO_FLOW_AUDIT_SIGNING_KEY_FILE", "a-file/audit.pem", "a-file"),
        ("MSO_FLOW_MASTER_KEY", "not base64!", "not base64"),
    ],
)
def test_the_app_factory_refuses_to_start_without_a_usable_key(tmp_path, setting, value, says):
    (tmp_path / "a-file").write_text("a file where the key's folder should be\n")
    keys = {"MSO_FLOW_MASTER_KEY_FILE": "master.keys", "MSO_FLOW_AUDIT_SIGNING_KEY_FILE": "audit.pem"}
    keys[setting] = value if setting == "MSO_FLOW_MASTER_KEY" else str(tmp_path / value)
    factory = ["uvicorn", "--factory", "mso_flow.api.app:create_default_app", "--port", str(free_port())]
    code, errors = _start(factory, tmp_path, tmp_path, **keys)
    assert code == 2 and len(errors) == 1 and setting in errors[0] and says in errors[0], errors
    assert "not base64!" not in errors[0]  # a key is never logged


def test_a_key_left_at_the_former_default_beside_the_database_stops_start_up(tmp_path):
    (tmp_path / "mso_flow_master.keys").write_text("# the keys of an earlier version\n")
    code, errors = _start(["mso_flow.cli", "serve", "--port", str(free_port())], tmp_path / "home", tmp_path)
    assert code == 2 and len(errors) == 1, errors
    assert "MSO_FLOW_MASTER_KEY_FILE" in errors[0] and str(tmp_path / "mso_flow_master.keys") in errors[0]
    assert not (tmp_path / "home" / ".config" / "mso-flow" / "master.keys").exists()
    assert not (tmp_path / "mso_flow.db").exists()  # refused before anything else
