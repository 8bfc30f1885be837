"""User administration end to end: known roles, refused misspellings, role changes, deactivation, token rotation
and revocation taking effect at once in every worker, and the admin audit chain."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import insert

from mso_flow.services.accounts import users
from mso_flow.services.platform.context import Services
from mso_flow.store.db import Database
from mso_flow.store.models import AuditEvent

CLERK = "เจ้าหน้าที่งานสารบรรณ"
HEAD = "หัวหน้าฝ่ายสารบรรณ"
MISSPELT = "เจ้าหน้าที่สารบรรณ"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _create(client, admin, username, *roles, force=False):
    return client.post(
        "/api/v1/users", headers=admin, json={"username": username, "roles": list(roles), "force": force}
    )


def test_known_roles_come_from_the_deployed_lanes_and_the_built_in_roles(client, admin, saraban):
    roles = {r["role"]: r for r in client.get("/api/v1/roles", headers=admin).json()}
    assert {"admin", "designer", "integrator", "supervisor"} <= roles.keys()
    assert roles["admin"]["built_in"] and roles["admin"]["sources"] == []
    assert {CLERK, HEAD, "เจ้าของเรื่อง"} <= roles.keys()
    assert {(s["process_key"], s["lane"]) for s in roles[CLERK]["sources"]} == {(saraban, CLERK)}
    assert not roles[CLERK]["built_in"]


def test_a_misspelt_role_is_refused_with_the_closest_known_roles_unless_forced(client, admin, saraban):
    refused = _create(client, admin, "somchai", MISSPELT)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "urn:mso-flow:problem:unknown_role"
    assert MISSPELT in problem["detail"] and CLERK in problem["detail"]
    assert problem["errors"][0]["role"] == MISSPELT and problem["errors"][0]["closest"][0] == CLERK
    assert client.get("/api/v1/users/somchai", headers=admin).status_code == 404
    forced = _create(client, admin, "somchai", MISSPELT, force=True)
    assert forced.status_code == 201 and forced.json()["roles"] == [MISSPELT]
    assert _create(client, admin, "somsri", CLERK).status_code == 201


def test_roles_change_at_once_and_unknown_ones_are_refused(client, admin, saraban):
    token = _create(client, admin, "somchai", CLERK).json()["token"]
    changed = client.patch("/api/v1/users/somchai", headers=admin, json={"roles": [CLERK, HEAD]})
    assert changed.status_code == 200 and changed.json()["roles"] == [CLERK, HEAD]
    assert client.get("/api/v1/me", headers=_bearer(token)).json()["roles"] == sorted([CLERK, HEAD])
    refused = client.patch("/api/v1/users/somchai", headers=admin, json={"roles": [MISSPELT]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["closest"][0] == CLERK
    replaced = client.put("/api/v1/users/somchai", headers=admin, json={"roles": [HEAD]})
    assert replaced.json() | {"created_at": None, "token_created_at": None} == {
        "username": "somchai",
        "roles": [HEAD],
        "active": True,
        "email": None,
        "created_at": None,
        "token_created_at": None,
    }
    staff = _bearer(token)
    assert client.patch("/api/v1/users/somchai", headers=staff, json={"roles": ["admin"]}).status_code == 403
    assert client.patch("/api/v1/users/nobody", headers=admin, json={"active": False}).status_code == 404
    assert client.patch("/api/v1/users/somchai", headers=admin, json={"roles": []}).status_code == 422


def test_deactivation_refuses_the_token_at_once_and_reactivation_restores_it(client, admin, saraban):
    token = _create(client, admin, "somchai", CLERK).json()["token"]
    assert client.get("/api/v1/tasks", headers=_bearer(token)).status_code == 200
    off = client.patch("/api/v1/users/somchai", headers=admin, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.get("/api/v1/tasks", headers=_bearer(token)).status_code == 401
    assert client.patch("/api/v1/users/somchai", headers=admin, json={"active": True}).status_code == 200
    assert client.get("/api/v1/tasks", headers=_bearer(token)).status_code == 200
    self_off = client.patch("/api/v1/users/admin", headers=admin, json={"active": False})
    assert self_off.status_code == 409 and self_off.json()["type"].endswith("deactivate_self")


def test_rotation_and_revocation_end_the_old_token_at_once(client, admin, saraban):
    old = _create(client, admin, "somchai", CLERK).json()["token"]
    rotated = client.post("/api/v1/users/somchai/token", headers=admin)
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert new != old
    assert client.get("/api/v1/me", headers=_bearer(old)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(new)).json()["username"] == "somchai"
    # a user may rotate and revoke their own token, not someone else's
    mine = client.post("/api/v1/users/somchai/token", headers=_bearer(new)).json()["token"]
    assert client.post("/api/v1/users/admin/token", headers=_bearer(mine)).status_code == 403
    assert client.delete("/api/v1/users/somchai/token", headers=_bearer(mine)).status_code == 204
    assert client.get("/api/v1/me", headers=_bearer(mine)).status_code == 401
    listed = client.get("/api/v1/users/somchai", headers=admin).json()
    assert listed["token_created_at"] is None and listed["active"] is True


def test_a_revocation_in_one_worker_is_seen_by_another_at_once(services: Services, saraban):
    """Two service processes on one database: no cache keeps a revoked token or a deactivated user alive."""
    other = Services(settings=services.settings, db=Database(services.settings.database_url))
    try:
        _, token = users.create_user(services, users.cli_caller(), "somchai", [CLERK])
        assert other.settings and users.authenticate(other, token) is not None
        users.update_user(services, users.cli_caller(), "somchai", active=False)
        assert users.authenticate(other, token) is None
        users.update_user(services, users.cli_caller(), "somchai", active=True)
        assert users.authenticate(other, token) is not None
        new = users.rotate_token(services, users.cli_caller(), "somchai")
        assert users.authenticate(other, token) is None
        assert users.authenticate(other, new) is not None
    finally:
        other.db.dispose()


def test_the_admin_audit_chain_records_every_change_and_catches_a_forged_event(client, admin, saraban, services):
    token = _create(client, admin, "somchai", CLERK).json()["token"]
    client.patch("/api/v1/users/somchai", headers=admin, json={"roles": [CLERK, HEAD]})
    client.patch("/api/v1/users/somchai", headers=admin, json={"active": False})
    client.patch("/api/v1/users/somchai", headers=admin, json={"active": True})
    client.post("/api/v1/users/somchai/token", headers=admin)
    client.delete("/api/v1/users/somchai/token", headers=admin)
    trail = client.get("/api/v1/audit/admin", headers=admin).json()
    events = [(e["seq"], e["actor"], e["type"]) for e in trail["items"]]
    # the fixture's `admin` was created by the test operator first
    assert [e[2] for e in events][-6:] == [
        "user_created",
        "user_roles_changed",
        "user_deactivated",
        "user_activated",
        "user_token_rotated",
        "user_token_revoked",
    ]
    assert [e[0] for e in events] == list(range(1, len(events) + 1))
    assert {e[1] for e in events[-6:]} == {"admin"}
    changed = trail["items"][-5]["data"]
    assert changed == {"username": "somchai", "before": [CLERK], "after": [CLERK, HEAD], "forced": False}
    assert all(token not in str(e["data"]) for e in trail["items"])
    assert client.get("/api/v1/audit/admin/verify", headers=admin).json() == {
        "ok": True,
        "events": len(events),
        "first_bad_seq": None,
        "reason": None,
    }
    clerk = _bearer(_create(client, admin, "somsri", CLERK).json()["token"])
    assert client.get("/api/v1/audit/admin", headers=clerk).status_code == 403
    assert client.get("/api/v1/audit/admin/verify", headers=clerk).status_code == 403
    # an event written behind the API's back (the table is append-only, so an insert) breaks the chain
    last = client.get("/api/v1/audit/admin", headers=admin, params={"offset": len(events)}).json()["items"][-1]
    with services.db.write() as session:
        session.execute(
            insert(AuditEvent),
            [
                {
                    "instance_id": None,
                    "seq": last["seq"] + 1,
                    "at": services.clock(),
                    "actor": "intruder",
                    "type": "user_created",
                    "data": {"username": "backdoor", "roles": ["admin"]},
                    "prev_hash": "0" * 64,
                    "hash": "0" * 64,
                }
            ],
        )
    check = client.get("/api/v1/audit/admin/verify", headers=admin).json()
    assert check["ok"] is False and check["first_bad_seq"] == last["seq"] + 1


def test_concurrent_administration_keeps_one_unbroken_admin_chain(services: Services, saraban):
    operator = users.cli_caller()

    def create(n: int) -> str:
        _, token = users.create_user(services, operator, f"clerk{n}", [CLERK])
        users.update_user(services, operator, f"clerk{n}", roles=[CLERK, HEAD])
        return token

    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(create, range(16)))
    assert all(users.authenticate(services, t).roles == {CLERK, HEAD} for t in tokens)
    check = users.verify_admin_audit(services, operator)
    assert check.ok and check.events == 32
