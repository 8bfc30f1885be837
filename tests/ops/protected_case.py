"""A protected case on a live service, as a deployment check makes one: the 1300 hotline's intake message from the
e-service, its first step recording the reporter's name (personal data, sealed under a data key that the master
key wraps), then the case read back by the staff member who has need to know."""

from __future__ import annotations

import uuid

import httpx

API = "/api/v1"
STAFF = "ศูนย์ช่วยเหลือสังคม"
REPORTER = "นางสาวมาลัย ทดสอบภาพ 0812345678"


def _ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def _token(admin: httpx.Client, username: str, role: str) -> dict[str, str]:
    created = _ok(admin.post(f"{API}/users", json={"username": username, "roles": [role]}), 201)
    return {"Authorization": f"Bearer {created['token']}"}


def hotline_case(admin: httpx.Client) -> str:
    """Start a hotline case with a reporter's name through the API, check the staff member reads the name back,
    and return the instance id."""
    system, staff = _token(admin, "hotline_system", "integrator"), _token(admin, "somchai", STAFF)
    started = _ok(
        admin.post(
            f"{API}/messages",
            headers=system,
            json={"name": "hotline_intake", "business_key": f"1300-{uuid.uuid4().hex[:8]}"},
        )
    )
    instance_id = started["instance_id"]
    task = _ok(admin.get(f"{API}/process-instances/{instance_id}", headers=staff))["active_tasks"][0]
    body = {"variables": {"channel": "hotline", "reporter_name": REPORTER}}
    _ok(admin.post(f"{API}/tasks/{task['id']}/complete", headers=staff, json=body))
    case = _ok(admin.get(f"{API}/process-instances/{instance_id}", headers=staff))
    assert case["variables"]["reporter_name"] == REPORTER
    masked = _ok(admin.get(f"{API}/process-instances/{instance_id}"))  # the admin has no need to know
    assert masked["variables"]["reporter_name"] is None and "reporter_name" in masked["masked_variables"]
    return instance_id
