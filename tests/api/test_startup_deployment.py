"""Start-up deployment never overrides a designer: a file of `bpmn/` is deployed only when it differs from the
last version deployed from that file, so a version deployed through the API after it stays the latest across
restarts until the file changes again (and every disagreement is logged as a WARNING)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mso_flow.cli import prepare
from mso_flow.services.platform.failures import Invalid
from mso_flow.settings import Settings
from tests.api.test_one_verdict import ERRORS, WARNINGS
from tests.conftest import MIGRATIONS, SARABAN

FILE = "central/central_saraban.bpmn"
ORIGINAL = SARABAN.read_bytes()


def edited(label: str) -> bytes:
    """The สารบรรณ process with another process name: a new version of it."""
    original = 'name="การบริหารงานสารบรรณ" isExecutable'
    return ORIGINAL.replace(original.encode(), original.replace("สารบรรณ", f"สารบรรณ ({label})").encode())


@pytest.fixture
def bpmn_dir(tmp_path: Path) -> Path:
    (tmp_path / "central").mkdir()
    (tmp_path / FILE).write_bytes(ORIGINAL)
    return tmp_path


def restart(database_url: str, bpmn_dir: Path) -> None:
    """What `mso-flow serve` does before serving, with services of its own (fresh caches)."""
    settings = Settings(
        database_url=database_url,
        bpmn_dir=bpmn_dir,
        migrations_dir=MIGRATIONS,
        admin_token=None,
        audit_signing_key_file=bpmn_dir.parent / "audit-ed25519.pem",
    )
    prepare(settings).db.dispose()


def latest(client, headers, key: str = "central_saraban") -> dict:
    response = client.get(f"/api/v1/process-definitions/{key}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def deploy_through_api(client, headers, xml: bytes) -> int:
    response = client.post("/api/v1/deployments", headers=headers, files=[("files", (FILE, xml))])
    assert response.status_code == 201, response.text
    return response.json()["definitions"][0]["version"]


def test_a_restart_keeps_the_version_a_designer_deployed_after_the_file(
    client, make_user, database_url, bpmn_dir, caplog
):
    designer = make_user("designer1", "designer")
    restart(database_url, bpmn_dir)
    assert latest(client, designer)["version"] == 1
    assert latest(client, designer)["source"] == "file"

    assert deploy_through_api(client, designer, edited("designer")) == 2
    with caplog.at_level(logging.WARNING, logger="mso_flow.services.definitions.deployment"):
        restart(database_url, bpmn_dir)
        restart(database_url, bpmn_dir)
    current = latest(client, designer)
    assert (current["version"], current["source"], current["name"]) == (2, "api", "การบริหารงานสารบรรณ (designer)")
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "mso_flow.services.definitions.deployment"
    ]
    assert len(warnings) == 2  # once per start, one line naming key, file and both versions
    assert "central_saraban" in warnings[0] and FILE in warnings[0]
    assert "version 1" in warnings[0] and "version 2" in warnings[0] and "designer1" in warnings[0]

    # the file changes again: it wins from now on, and that is logged too
    (bpmn_dir / FILE).write_bytes(edited("file"))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mso_flow.services.definitions.deployment"):
        restart(database_url, bpmn_dir)
    current = latest(client, designer)
    assert (current["version"], current["source"], current["name"]) == (3, "file", "การบริหารงานสารบรรณ (file)")
    assert any("version 3" in r.getMessage() and "replacing version 2" in r.getMessage() for r in caplog.records)
    restart(database_url, bpmn_dir)
    assert latest(client, designer)["version"] == 3


def test_a_designer_deployment_before_the_file_is_replaced_once_then_kept(client, make_user, database_url, bpmn_dir):
    designer = make_user("designer1", "designer")
    assert deploy_through_api(client, designer, edited("designer")) == 1
    restart(database_url, bpmn_dir)  # the file was never deployed from: it is, as version 2
    assert (latest(client, designer)["version"], latest(client, designer)["source"]) == (2, "file")

    assert deploy_through_api(client, designer, edited("designer again")) == 3
    restart(database_url, bpmn_dir)
    restart(database_url, bpmn_dir)
    current = latest(client, designer)
    assert (current["version"], current["source"]) == (3, "api")

    # the same content as the file through the API: no new version, and nothing to redeploy at start
    assert deploy_through_api(client, designer, ORIGINAL) == 4
    restart(database_url, bpmn_dir)
    assert latest(client, designer)["version"] == 4


def test_start_up_checks_conditions_and_leaves_the_simulation_to_ci(client, make_user, database_url, tmp_path):
    """The costly simulation is not run at every start (docs/architecture.md, "One verdict"); the cheap checks
    are, so a misspelt enum value stops the start with the same located problem `validate` prints."""
    designer = make_user("designer1", "designer")
    never_true, _, _ = WARNINGS["never_true.bpmn"]
    (tmp_path / "leave.bpmn").write_text(never_true, encoding="utf-8")
    restart(database_url, tmp_path)
    assert latest(client, designer, "leave_request")["source"] == "file"

    misspelt, element_id, words = ERRORS["misspelt_enum.bpmn"]
    (tmp_path / "leave.bpmn").write_text(misspelt, encoding="utf-8")
    with pytest.raises(Invalid) as failed:
        restart(database_url, tmp_path)
    [problem] = failed.value.errors
    assert (problem["file"], problem["element_id"]) == ("leave.bpmn", element_id)
    assert all(word in problem["message"] for word in words)
    assert latest(client, designer, "leave_request")["version"] == 1


def test_a_decision_table_in_bpmn_is_deployed_at_start_with_its_process_and_once(
    client, make_user, database_url, tmp_path
):
    designer = make_user("designer1", "designer")
    fixtures = SARABAN.parents[2] / "tests" / "fixtures"
    for name in ("purchase_approval.bpmn", "approver_level.dmn"):
        (tmp_path / name).write_bytes((fixtures / name).read_bytes())
    restart(database_url, tmp_path)
    restart(database_url, tmp_path)  # unchanged files: nothing new
    [decision] = client.get("/api/v1/decision-definitions", headers=designer).json()["items"]
    assert (decision["id"], decision["file_name"]) == ("approver_level:1", "approver_level.dmn")
    process = latest(client, designer, "purchase_approval")
    assert (process["version"], process["source"], process["warnings"]) == (1, "file", [])
