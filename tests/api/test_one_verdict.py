"""One verdict for designers: `mso-flow validate` and `POST /api/v1/deployments` reject a condition that can never
be true (a misspelt enum value, a misspelt variable, a branch no input takes) with the same located message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.api.test_designers import MODELER_XML

SECRECY = """<camunda:formField id="secrecy" label="ชั้นความลับ" type="enum">
            <camunda:value id="normal" name="ปกติ" />
            <camunda:value id="top_secret" name="ลับที่สุด" />
          </camunda:formField>
          <camunda:formField id="days" """
WITH_ENUM = MODELER_XML.replace('<camunda:formField id="days" ', SECRECY, 1)

CASES = {
    "misspelt_enum.bpmn": (
        WITH_ENUM.replace("${days &gt; 3}", "secrecy == 'topsecret'"),
        "Flow_long",
        ["'topsecret'", "top_secret", "ไม่อยู่ในตัวเลือก"],
    ),
    "misspelt_variable.bpmn": (
        MODELER_XML.replace("${days &gt; 3}", "${dayz &gt; 3}"),
        "Flow_long",
        ["'dayz'", "ตัวแปร dayz", "no form field, message or start supplies"],
    ),
    "never_true.bpmn": (
        MODELER_XML.replace("${days &gt; 3}", "days &gt; 3 and days &lt; 2"),
        "Flow_long",
        ["never taken", "ไม่มีทางเลือกใดผ่านเส้นทางนี้"],
    ),
}


def _lines(problems: list[dict]) -> list[str]:
    return sorted(f"{p['file']}:{p['line'] or 0}: {p['element_id'] or '-'}: {p['message']}" for p in problems)


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_and_deploy_reject_a_condition_that_cannot_be_true_alike(client, make_user, tmp_path, name):
    xml, element_id, words = CASES[name]
    designer = make_user("designer1", "designer")
    response = client.post("/api/v1/deployments", headers=designer, files=[("files", (name, xml.encode()))])
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "urn:mso-flow:problem:invalid_bpmn"
    problems = response.json()["errors"]
    mine = [p for p in problems if p["element_id"] == element_id]
    assert mine, problems
    assert all(word in mine[0]["message"] for word in words), mine[0]["message"]
    line = next(i for i, text in enumerate(xml.splitlines(), 1) if f'id="{element_id}"' in text)
    assert line <= mine[0]["line"] <= line + 3
    assert client.get("/api/v1/process-definitions", headers=designer).json()["total"] == 0

    (tmp_path / name).write_text(xml, encoding="utf-8")
    cli = subprocess.run(
        [sys.executable, "-m", "mso_flow.cli", "validate", name], cwd=tmp_path, capture_output=True, text=True
    )
    assert cli.returncode == 1
    assert sorted(cli.stdout.splitlines()) == _lines(problems)


def test_a_correct_enum_condition_deploys_and_runs(client, make_user):
    designer = make_user("designer1", "designer")
    staff = make_user("somchai", "เจ้าหน้าที่")
    xml = WITH_ENUM.replace("${days &gt; 3}", "secrecy == 'top_secret'")
    response = client.post("/api/v1/deployments", headers=designer, files=[("files", ("leave.bpmn", xml.encode()))])
    assert response.status_code == 201, response.text
    started = client.post("/api/v1/process-definitions/leave_request/start", headers=staff, json={}).json()
    task_id = started["active_tasks"][0]["id"]
    done = client.post(
        f"/api/v1/tasks/{task_id}/complete", headers=staff, json={"variables": {"days": 1, "secrecy": "top_secret"}}
    )
    assert done.status_code == 200, done.text
    assert [t["element_id"] for t in done.json()["instance"]["active_tasks"]] == ["Activity_approve"]
