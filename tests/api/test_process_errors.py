"""A failing expression is a 422 naming the element, never a 500 and never a half-written instance."""

from __future__ import annotations

from tests.factory import approval


def test_failing_condition_is_422_naming_the_gateway_and_changes_nothing(client, make_user):
    """The condition divides by zero for one amount only (the simulation at deployment tries others)."""
    designer = make_user("designer1", "designer")
    staff = make_user("staff1", "เจ้าหน้าที่")
    deployed = client.post(
        "/api/v1/deployments",
        headers=designer,
        files=[("files", ("approval.bpmn", approval(condition="100 / (amount - 70000) > 0")))],
    )
    assert deployed.status_code == 201, deployed.text
    instance = client.post("/api/v1/process-definitions/test_approval/start", headers=staff, json={}).json()
    task_id = instance["active_tasks"][0]["id"]
    audit_before = client.get(f"/api/v1/process-instances/{instance['id']}/audit", headers=staff).json()

    response = client.post(f"/api/v1/tasks/{task_id}/complete", headers=staff, json={"variables": {"amount": 70000}})
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:mso-flow:problem:process_error"
    assert body["element_id"] == "Gateway_enter"
    assert "เกินวงเงินหรือไม่" in body["detail"] and "100 / (amount - 70000)" in body["detail"]

    task = client.get(f"/api/v1/tasks/{task_id}", headers=staff).json()
    assert task["state"] == "open" and task["assignee"] is None
    after = client.get(f"/api/v1/process-instances/{instance['id']}", headers=staff).json()
    assert after["variables"] == instance["variables"]
    assert [t["id"] for t in after["active_tasks"]] == [task_id]
    # the step rolled back; the only trace is the incident the administrators were told of
    audit_after = client.get(f"/api/v1/process-instances/{instance['id']}/audit", headers=staff).json()
    assert audit_after["items"][:-1] == audit_before["items"]
    assert audit_after["items"][-1]["type"] == "incident_created"
    assert audit_after["items"][-1]["data"]["incident_id"] == body["incident_id"]
