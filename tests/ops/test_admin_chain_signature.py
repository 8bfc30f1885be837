"""The admin audit chain signed like the instance chains (issue 24, item 12): whoever writes the database — the
service role appending, the owner deleting or editing, every later hash and the head recomputed — makes
`/audit/admin/verify` say not ok, and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, text

from mso_flow.services.accounts import users
from mso_flow.services.platform import anchoring
from mso_flow.store import audit as audit_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import AuditEvent

CLERK = "เจ้าหน้าที่งานสารบรรณ"
Row = dict[str, Any]


def _history(client, admin, services) -> None:
    """Some administration: a clerk, a privacy officer granted at the command line, a deactivation."""
    client.post("/api/v1/users", headers=admin, json={"username": "somchai", "roles": [CLERK], "force": True})
    users.create_user(services, users.cli_caller(), "dpo", ["privacy_officer"], force=True)
    client.patch("/api/v1/users/somchai", headers=admin, json={"active": False})


def _verify(client, admin) -> dict:
    response = client.get("/api/v1/audit/admin/verify", headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _events(services) -> list[Row]:
    with services.db.read() as session:
        items, _ = audit_store.admin_listing(session, 0, 500)
        return [{"at": e.at, "actor": e.actor, "type": e.type, "data": e.data} for e in items]


def _row(seq: int, prev: str, event: Row) -> Row:
    new = NewEvent(event["type"], event["actor"], data=event["data"])
    digest = audit_store.content_hash(prev, None, seq, event["at"], new)
    return {"instance_id": None, "seq": seq, **event, "prev_hash": prev, "hash": digest}


def _rewrite(services, change: Callable[[list[Row]], list[Row]]) -> None:
    """What the database's owner can do: rewrite the admin chain in SQL, every hash and the head recomputed."""
    events = change(_events(services))
    rows, head = [], ""
    for seq, event in enumerate(events, start=1):
        rows.append(_row(seq, head, event))
        head = rows[-1]["hash"]
    with services.db.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        connection.execute(text("DELETE FROM audit_event WHERE instance_id IS NULL"))
        connection.execute(insert(AuditEvent), rows)
        connection.execute(
            text("UPDATE audit_chain SET seq = :seq, head = :head WHERE name = 'admin'"),
            {"seq": len(rows), "head": head},
        )
        if postgres:
            connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))


def test_an_appended_forged_event_is_caught_by_the_unsigned_head(client, admin, services):
    _history(client, admin, services)
    assert _verify(client, admin)["ok"] is True
    # what the service role may do: INSERT into audit_event and move the head in audit_chain
    with services.db.engine.begin() as connection:
        seq, head = connection.execute(text("SELECT seq, head FROM audit_chain WHERE name = 'admin'")).one()
        forged = {
            "at": services.clock(),
            "actor": "admin",
            "type": "user_created",
            "data": {"username": "mallory", "roles": ["privacy_officer"], "forced": True},
        }
        row = _row(seq + 1, head, forged)
        connection.execute(insert(AuditEvent), [row])
        connection.execute(
            text("UPDATE audit_chain SET seq = :seq, head = :head WHERE name = 'admin'"),
            {"seq": seq + 1, "head": row["hash"]},
        )
    check = _verify(client, admin)
    assert check["ok"] is False and check["reason"] == "signature_invalid"
    assert check["events"] == seq + 1


def test_a_deleted_grant_is_caught_even_with_the_chain_recomputed(client, admin, services):
    _history(client, admin, services)

    def without_grant(events: list[Row]) -> list[Row]:
        kept = [e for e in events if not (e["type"] == "user_created" and e["data"]["username"] == "dpo")]
        assert len(kept) == len(events) - 1
        return kept

    _rewrite(services, without_grant)
    assert _verify(client, admin) | {"events": None} == {
        "ok": False,
        "events": None,
        "first_bad_seq": None,
        "reason": "signature_invalid",
    }


def test_the_last_event_deleted_and_the_head_rewound_is_caught(client, admin, services):
    _history(client, admin, services)
    _rewrite(services, lambda events: events[:-1])
    assert _verify(client, admin)["reason"] == "signature_invalid"


def test_an_edited_event_is_caught_with_or_without_the_hashes_recomputed(client, admin, services):
    _history(client, admin, services)
    with services.db.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        connection.execute(text("UPDATE audit_event SET actor = 'someone' WHERE instance_id IS NULL AND seq = 2"))
        if postgres:
            connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    edited = _verify(client, admin)
    assert edited["ok"] is False and edited["reason"] == "content_changed" and edited["first_bad_seq"] == 2

    def blame_someone_else(events: list[Row]) -> list[Row]:
        for event in events:
            if event["data"].get("username") == "dpo":
                event["actor"] = "admin"
        return events

    _rewrite(services, blame_someone_else)
    assert _verify(client, admin)["reason"] == "signature_invalid"


def test_a_chain_from_before_signing_is_signed_once_by_the_operator(client, admin, services):
    _history(client, admin, services)
    with services.db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_chain SET signature = NULL WHERE name = 'admin'"))
    assert _verify(client, admin)["reason"] == "unsigned_head"
    assert anchoring.sign_unsigned_heads(services) == 1  # `mso-flow audit sign-unsigned`
    assert anchoring.sign_unsigned_heads(services) == 0
    assert _verify(client, admin)["ok"] is True
    # the next change signs the new head as well
    client.patch("/api/v1/users/somchai", headers=admin, json={"active": True})
    assert _verify(client, admin)["ok"] is True
