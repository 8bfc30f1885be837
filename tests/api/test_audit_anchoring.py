"""The audit trail anchored outside the database (issue 18, finding 6): a chain rewritten consistently in SQL,
head included, is caught by the head's Ed25519 signature; on PostgreSQL the service runs as a role that can
neither truncate the trail, disable its trigger, nor change a row, and still works."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from mso_flow.api.app import create_app
from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM, Services
from mso_flow.store import audit as audit_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.db import Database
from mso_flow.store.models import ProcessInstance
from tests.conftest import SARABAN

CLERK = "เจ้าหน้าที่งานสารบรรณ"


def _walk(client: TestClient, admin: dict[str, str], clerk: dict[str, str]) -> str:
    started = client.post(
        "/api/v1/process-definitions/central_saraban/start",
        headers=admin,
        json={"business_key": "พม 0201/77", "variables": {"subject": "เชิญประชุม"}},
    )
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]
    [task] = started.json()["active_tasks"]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=clerk).status_code == 200
    comment = client.post(f"/api/v1/tasks/{task['id']}/comments", headers=clerk, json={"text": "รับเรื่องแล้ว"})
    assert comment.status_code == 201, comment.text
    return str(instance_id)


def _verify(client: TestClient, admin: dict[str, str], instance_id: str) -> dict:
    response = client.get(f"/api/v1/process-instances/{instance_id}/audit/verify", headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_chain_rewritten_consistently_in_sql_is_caught_by_the_signed_head(
    client, services, saraban, admin, make_user
):
    clerk = make_user("somchai", CLERK)
    instance_id = _walk(client, admin, clerk)
    before = _verify(client, admin, instance_id)
    assert before["ok"] is True and before["events"] >= 3

    # what the owner of the database can do: edit the first event, recompute every later hash and the head
    with services.db.read() as session:
        events = audit_store.all_events(session, instance_id)
    head, rewritten = "", []
    for row in events:
        actor = "ผู้อื่น" if row.seq == 1 else row.actor
        event = NewEvent(row.type, actor, row.task_id, row.element_id, row.data)
        head = audit_store.content_hash(head, instance_id, row.seq, row.at, event)
        rewritten.append({"actor": actor, "prev": rewritten[-1]["hash"] if rewritten else "", "hash": head})
    with services.db.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        for row, new in zip(events, rewritten, strict=True):
            connection.execute(
                text(
                    "UPDATE audit_event SET actor = :actor, prev_hash = :prev, hash = :hash "
                    "WHERE instance_id = :id AND seq = :seq"
                ),
                new | {"id": instance_id, "seq": row.seq},
            )
        connection.execute(
            text("UPDATE process_instance SET audit_head = :head WHERE id = :id"), {"head": head, "id": instance_id}
        )
        if postgres:
            connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))

    # the rewrite is consistent: the hash chain alone no longer sees it
    with services.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        chain = audit_store.verify_chain(audit_store.all_events(session, instance_id), instance.audit_seq, head)
    assert chain.ok
    audit = client.get(f"/api/v1/process-instances/{instance_id}/audit", headers=admin).json()["items"]
    assert audit[0]["actor"] == "ผู้อื่น"
    # but the signature over the head was made by a key the database does not hold
    after = _verify(client, admin, instance_id)
    assert after["ok"] is False and after["reason"] == "signature_invalid"


def test_a_missing_signature_is_not_accepted(client, services, saraban, admin, make_user):
    from mso_flow.services.platform import anchoring  # modules that main does not have: imported where needed

    instance_id = _walk(client, admin, make_user("somchai", CLERK))
    with services.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE process_instance SET audit_signature = NULL WHERE id = :id"), {"id": instance_id}
        )
    assert _verify(client, admin, instance_id)["reason"] == "unsigned_head"
    # an upgrade signs the heads recorded before anchoring existed, once
    assert anchoring.sign_unsigned_heads(services) == 1
    assert anchoring.sign_unsigned_heads(services) == 0
    assert _verify(client, admin, instance_id)["ok"] is True


def test_the_signing_key_is_created_once_private_to_the_service(tmp_path):
    from mso_flow.services.platform import anchoring

    path = tmp_path / "keys" / "audit.pem"
    first = anchoring.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = anchoring.load_or_create(path)
    assert again.key_id == first.key_id
    signature = first.sign("instance", 3, "ab" * 32)
    assert again.problem("instance", 3, "ab" * 32, signature) is None
    assert again.problem("instance", 4, "ab" * 32, signature) == "signature_invalid"
    other = anchoring.load_or_create(tmp_path / "other.pem")
    assert other.problem("instance", 3, "ab" * 32, signature) == "unknown_signing_key"


@pytest.fixture
def service_role(services) -> Iterator[str]:
    """A login role that does not own the schema, given the service's rights by the migration step."""
    if services.db.dialect != "postgresql":
        pytest.skip("PostgreSQL roles: runs on the PostgreSQL backend only")
    role = f"mso_flow_service_{uuid.uuid4().hex[:8]}"
    with services.db.engine.begin() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    yield role
    with services.db.engine.begin() as connection:
        connection.execute(text(f'DROP OWNED BY "{role}"'))
        connection.execute(text(f'DROP ROLE "{role}"'))


def test_the_service_role_cannot_truncate_disable_or_rewrite_the_audit_trail(services, service_role):
    from mso_flow.cli import upgrade_schema

    owner_url = services.settings.database_url
    service_url = make_url(owner_url).set(username=service_role).render_as_string(hide_password=False)
    settings = services.settings.model_copy(
        update={
            "database_url": service_url,
            "migration_database_url": owner_url,
            "service_database_role": service_role,
        }
    )
    upgrade_schema(settings)  # migrations as the owner (already at head), then the grants

    # the service works as that role: deploy, start, work a task, verify the trail
    service = Services(settings=settings, db=Database(service_url, pool_size=4))
    try:
        definitions.deploy(service, SYSTEM, [("central/central_saraban.bpmn", SARABAN.read_bytes())])
        _, admin_token = users.create_user(service, SYSTEM, "root", ["admin"])
        _, clerk_token = users.create_user(service, SYSTEM, "somchai", [CLERK])
        admin = {"Authorization": f"Bearer {admin_token}"}
        with TestClient(create_app(services=service), raise_server_exceptions=False) as client:
            instance_id = _walk(client, admin, {"Authorization": f"Bearer {clerk_token}"})
            assert _verify(client, admin, instance_id)["ok"] is True
    finally:
        service.db.dispose()

    engine = create_engine(service_url)
    refused = [
        "TRUNCATE audit_event",
        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only",
        "ALTER TABLE audit_event DISABLE TRIGGER ALL",
        f"UPDATE audit_event SET actor = 'x' WHERE instance_id = '{instance_id}'",
        f"DELETE FROM audit_event WHERE instance_id = '{instance_id}'",
        "SET session_replication_role = replica",
        "DROP TABLE audit_event",
        "CREATE TABLE audit_shadow (id int)",
    ]
    try:
        for statement in refused:
            with engine.connect() as connection, pytest.raises(DBAPIError) as caught:
                connection.execute(text(statement))
            assert caught.value.orig is not None and caught.value.orig.sqlstate == "42501", statement  # type: ignore[attr-defined]
        with engine.connect() as connection:
            count = connection.execute(
                text("SELECT count(*) FROM audit_event WHERE instance_id = :id"), {"id": instance_id}
            ).scalar_one()
        assert count >= 3
    finally:
        engine.dispose()
