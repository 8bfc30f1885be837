"""Roles an admin may not hand out alone (issue 24, items 4 and 5): nobody changes their own roles, on any face;
`privacy_officer` and `auditor` are granted and removed only at the command line (the operator at the host), and
every grant is in the signed admin chain; every role of `domain.Role` is known, so none needs `force`. (The web
app's users page: tests/web/test_account_security.py; the command line: tests/ops/test_cli_users.py.)"""

from __future__ import annotations

import pytest

from mso_flow.domain import Role
from mso_flow.services.accounts import users

CLERK = "เจ้าหน้าที่งานสารบรรณ"
API = "/api/v1"
PRIVILEGED = ("auditor", "privacy_officer")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(response) -> str:
    return str(response.json()["type"]).removeprefix("urn:mso-flow:problem:")


def test_nobody_changes_their_own_roles(client, admin, make_user, saraban):
    grab = {"roles": ["admin", "privacy_officer"], "force": True}
    for method in (client.patch, client.put):
        refused = method(f"{API}/users/admin", headers=admin, json=grab)
        assert refused.status_code == 403 and _problem(refused) == "own_roles", refused.text
        assert "ตนเอง" in refused.json()["detail"]
    assert client.get(f"{API}/me", headers=admin).json()["roles"] == ["admin"]
    # a staff role is no different, and neither is the command line's check (another person decides)
    refused = client.patch(f"{API}/users/admin", headers=admin, json={"roles": ["admin", CLERK]})
    assert refused.status_code == 403 and _problem(refused) == "own_roles"
    other = make_user("admin2", "admin")
    changed = client.patch(f"{API}/users/admin", headers=other, json={"roles": ["admin", CLERK]})
    assert changed.status_code == 200 and changed.json()["roles"] == ["admin", CLERK]


@pytest.mark.parametrize("role", PRIVILEGED)
def test_privileged_roles_are_granted_and_removed_only_at_the_command_line(client, services, admin, saraban, role):
    somchai = client.post(f"{API}/users", headers=admin, json={"username": "somchai", "roles": [CLERK]}).json()
    refused = [
        client.post(f"{API}/users", headers=admin, json={"username": "mallory", "roles": [role]}),
        client.post(f"{API}/users", headers=admin, json={"username": "mallory", "roles": [role], "force": True}),
        client.patch(f"{API}/users/somchai", headers=admin, json={"roles": [CLERK, role], "force": True}),
        client.put(f"{API}/users/somchai", headers=admin, json={"roles": [role], "active": True}),
    ]
    for response in refused:
        assert response.status_code == 403 and _problem(response) == "privileged_role", response.text
        assert "mso-flow users" in response.json()["detail"]
    assert client.get(f"{API}/users/mallory", headers=admin).status_code == 404
    assert client.get(f"{API}/me", headers=_bearer(somchai["token"])).json()["roles"] == [CLERK]

    # the operator at the host grants it (what `mso-flow users set-roles` calls), without --force: a known role
    operator = users.cli_caller()
    users.update_user(services, operator, "somchai", roles=[CLERK, role])
    assert client.get(f"{API}/me", headers=_bearer(somchai["token"])).json()["roles"] == sorted([CLERK, role])
    # an admin can neither take it away again nor take over the account with a new token
    removed = client.patch(f"{API}/users/somchai", headers=admin, json={"roles": [CLERK]})
    assert removed.status_code == 403 and _problem(removed) == "privileged_role"
    rotated = client.post(f"{API}/users/somchai/token", headers=admin)
    assert rotated.status_code == 403 and _problem(rotated) == "privileged_role"
    # other roles of a privileged user stay the admins' business; the user rotates their own token
    kept = client.patch(f"{API}/users/somchai", headers=admin, json={"roles": [role, CLERK, "supervisor"]})
    assert kept.status_code == 200, kept.text
    assert client.post(f"{API}/users/somchai/token", headers=_bearer(somchai["token"])).status_code == 200
    users.update_user(services, operator, "somchai", roles=[CLERK])

    trail = client.get(f"{API}/audit/admin", headers=admin).json()["items"]
    grants = [(e["actor"], e["data"]["after"]) for e in trail if e["type"] == "user_roles_changed"]
    assert grants == [
        (operator.username, [CLERK, role]),
        ("admin", [role, CLERK, "supervisor"]),
        (operator.username, [CLERK]),
    ]
    assert client.get(f"{API}/audit/admin/verify", headers=admin).json()["ok"] is True  # signed heads


def test_every_role_of_the_domain_is_listed_and_needs_no_force(client, services, admin, saraban):
    listed = {r["role"]: r for r in client.get(f"{API}/roles", headers=admin).json()}
    for role in Role:
        assert listed[role]["built_in"] is True and listed[role]["description"], role
    for n, role in enumerate(sorted(set(Role) - set(PRIVILEGED))):
        created = client.post(f"{API}/users", headers=admin, json={"username": f"u{n}", "roles": [role]})
        assert created.status_code == 201, created.text
    for role in PRIVILEGED:  # known, so no force; at the command line (item 4)
        users.create_user(services, users.cli_caller(), f"holder-{role}", [role])
