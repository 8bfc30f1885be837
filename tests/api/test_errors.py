"""Bad input gets a precise problem+json 4xx and changes nothing; no input yields a 500."""

from __future__ import annotations

import pytest

CLERK = "เจ้าหน้าที่งานสารบรรณ"
HEAD = "หัวหน้าฝ่ายสารบรรณ"


@pytest.fixture
def started(client, saraban, make_user):
    integrator = make_user("esaraban", "integrator")
    instance = client.post(f"/api/v1/process-definitions/{saraban}/start", headers=integrator, json={}).json()
    return instance


def _problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:mso-flow:problem:{code}"
    assert body["title"] and body["detail"]
    return body


def test_missing_or_unknown_token_is_401(client, saraban):
    _problem(client.get("/api/v1/me"), 401, "no_token")
    response = client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"})
    _problem(response, 401, "unknown_token")
    assert response.headers["www-authenticate"] == "Bearer"


def test_health_needs_no_token(client, saraban):
    assert client.get("/health").json() == {"status": "ok", "database": "ok", "definitions": 1}


def test_wrong_role_cannot_claim_or_complete(client, started, make_user):
    head = make_user("head1", HEAD)
    task_id = started["active_tasks"][0]["id"]
    body = _problem(client.post(f"/api/v1/tasks/{task_id}/claim", headers=head), 403, "not_candidate")
    assert CLERK in body["detail"]
    _problem(
        client.post(f"/api/v1/tasks/{task_id}/complete", headers=head, json={"variables": {}}),
        403,
        "not_candidate",
    )
    assert client.get(f"/api/v1/tasks/{task_id}", headers=make_user("c", CLERK)).json()["assignee"] is None


def test_task_held_by_another_is_409(client, started, make_user):
    first, second = make_user("clerk1", CLERK), make_user("clerk2", CLERK)
    task_id = started["active_tasks"][0]["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=first).status_code == 200
    body = _problem(client.post(f"/api/v1/tasks/{task_id}/claim", headers=second), 409, "task_claimed")
    assert body["assignee"] == "clerk1"
    _problem(
        client.post(f"/api/v1/tasks/{task_id}/complete", headers=second, json={"variables": {"subject": "x"}}),
        409,
        "task_claimed",
    )
    _problem(client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=second), 403, "not_assignee")
    assert client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=first).json()["assignee"] is None
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=second).json()["assignee"] == "clerk2"


def test_completed_task_is_not_open(client, started, make_user):
    clerk = make_user("clerk1", CLERK)
    task_id = started["active_tasks"][0]["id"]
    assert (
        client.post(
            f"/api/v1/tasks/{task_id}/complete", headers=clerk, json={"variables": {"subject": "x"}}
        ).status_code
        == 200
    )
    _problem(client.post(f"/api/v1/tasks/{task_id}/claim", headers=clerk), 409, "task_not_open")
    _problem(client.post(f"/api/v1/tasks/{task_id}/complete", headers=clerk, json={}), 409, "task_not_open")


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({}, "subject"),  # required field missing
        ({"subject": 42}, "subject"),  # wrong type
        ({"subject": "x", "speed": "warp"}, "speed"),  # outside enum
        ({"subject": "x", "unknown_field": 1}, "unknown_field"),  # not in the form
        ({"subject": "x", "__class__": 1}, "__class__"),  # not a variable name
    ],
)
def test_invalid_variables_are_422_and_change_nothing(client, started, make_user, variables, field):
    clerk = make_user("clerk1", CLERK)
    integrator_view = client.get(f"/api/v1/process-instances/{started['id']}", headers=make_user("i", "integrator"))
    before = integrator_view.json()
    audit_before = client.get(
        f"/api/v1/process-instances/{started['id']}/audit", headers=make_user("a", "admin")
    ).json()["total"]
    task_id = started["active_tasks"][0]["id"]
    body = _problem(
        client.post(f"/api/v1/tasks/{task_id}/complete", headers=clerk, json={"variables": variables}),
        422,
        "invalid_variables",
    )
    assert field in [e["field"] for e in body["errors"]]
    after = client.get(f"/api/v1/process-instances/{started['id']}", headers=make_user("i2", "integrator")).json()
    assert after == before
    task = client.get(f"/api/v1/tasks/{task_id}", headers=clerk).json()
    assert task["state"] == "open" and task["assignee"] is None
    audit_after = client.get(
        f"/api/v1/process-instances/{started['id']}/audit", headers=make_user("a2", "admin")
    ).json()["total"]
    assert audit_after == audit_before


def test_malformed_input_never_500(client, started, make_user):
    clerk = make_user("clerk1", CLERK)
    task_id = started["active_tasks"][0]["id"]
    url = f"/api/v1/tasks/{task_id}/complete"
    _problem(
        client.post(url, headers={**clerk, "Content-Type": "application/json"}, content=b"{not json"),
        400,
        "malformed_json",
    )
    _problem(client.post(url, headers=clerk, json={"variables": [1, 2]}), 422, "invalid_request")
    _problem(client.post(url, headers=clerk, json={"variables": {}, "extra": 1}), 422, "invalid_request")
    _problem(client.post(url, headers=clerk, json=[]), 422, "invalid_request")
    _problem(
        client.post(url, headers={**clerk, "Content-Type": "application/json"}, content=b"\xff\xfe"),
        400,
        "malformed_json",
    )
    huge = b'{"variables": {"subject": "' + b"x" * (3 * 1024 * 1024) + b'"}}'
    _problem(
        client.post(url, headers={**clerk, "Content-Type": "application/json"}, content=huge),
        413,
        "payload_too_large",
    )
    assert client.get(f"/api/v1/tasks/{task_id}", headers=clerk).json()["state"] == "open"


def test_unknown_ids_are_404(client, saraban, make_user, admin):
    clerk = make_user("clerk1", CLERK)
    _problem(client.get("/api/v1/tasks/no-such-task", headers=clerk), 404, "task_not_found")
    _problem(client.post("/api/v1/tasks/no-such-task/claim", headers=clerk), 404, "task_not_found")
    _problem(client.get("/api/v1/process-instances/nope", headers=admin), 404, "instance_not_found")
    _problem(client.get("/api/v1/process-definitions/nope", headers=admin), 404, "definition_not_found")
    _problem(
        client.post("/api/v1/process-definitions/nope/start", headers=admin, json={}),
        404,
        "definition_not_found",
    )
    _problem(
        client.get("/api/v1/process-definitions/central_saraban/xml?version=99", headers=admin),
        404,
        "definition_not_found",
    )
    _problem(client.get("/api/v1/nowhere", headers=admin), 404, "http_404")
    _problem(client.get("/api/v1/tasks/" + "x" * 65, headers=clerk), 422, "invalid_request")


def test_duplicate_business_key_is_409_with_the_running_instance(client, saraban, make_user):
    integrator = make_user("esaraban", "integrator")
    url = f"/api/v1/process-definitions/{saraban}/start"
    first = client.post(url, headers=integrator, json={"business_key": "BK-1"}).json()
    body = _problem(client.post(url, headers=integrator, json={"business_key": "BK-1"}), 409, "duplicate_business_key")
    assert body["instance_id"] == first["id"]
    assert client.post(url, headers=integrator, json={"business_key": "BK-2"}).status_code == 201


def test_starting_needs_integrator_or_first_lane(client, saraban, make_user):
    url = f"/api/v1/process-definitions/{saraban}/start"
    _problem(client.post(url, headers=make_user("head1", HEAD), json={}), 403, "start_forbidden")
    assert client.post(url, headers=make_user("clerk1", CLERK), json={}).status_code == 201


def test_users_admin_only_and_unique(client, make_user, admin):
    clerk = make_user("clerk1", CLERK)
    _problem(
        client.post("/api/v1/users", headers=clerk, json={"username": "x", "roles": ["y"]}),
        403,
        "admin_required",
    )
    created = client.post(
        "/api/v1/users", headers=admin, json={"username": "somchai", "roles": ["นิติกร"], "force": True}
    )
    assert created.status_code == 201
    token = created.json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"username": "somchai", "roles": ["นิติกร"]}
    _problem(
        client.post("/api/v1/users", headers=admin, json={"username": "somchai", "roles": ["x"], "force": True}),
        409,
        "user_exists",
    )
    _problem(
        client.post("/api/v1/users", headers=admin, json={"username": "ผู้ใช้", "roles": ["x"]}),
        422,
        "invalid_user",
    )
    listing = client.get("/api/v1/users", headers=admin).json()
    assert {u["username"] for u in listing["items"]} == {"admin", "clerk1", "somchai"}
    assert all("token" not in u for u in listing["items"])


def test_cancel(client, started, make_user):
    other = make_user("other", "integrator")
    _problem(
        client.post(f"/api/v1/process-instances/{started['id']}/cancel", headers=other, json={"reason": "x"}),
        403,
        "cancel_forbidden",
    )
    admin = make_user("boss", "admin")
    response = client.post(f"/api/v1/process-instances/{started['id']}/cancel", headers=admin, json={"reason": "ยื่นซ้ำ"})
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled" and response.json()["active_tasks"] == []
    task = client.get(f"/api/v1/tasks/{started['active_tasks'][0]['id']}", headers=admin).json()
    assert task["state"] == "cancelled"
    _problem(
        client.post(f"/api/v1/process-instances/{started['id']}/cancel", headers=admin, json={"reason": "x"}),
        409,
        "instance_not_running",
    )
    types = [
        e["type"] for e in client.get(f"/api/v1/process-instances/{started['id']}/audit", headers=admin).json()["items"]
    ]
    assert types[-2:] == ["task_cancelled", "instance_cancelled"]
