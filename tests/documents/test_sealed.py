"""Confidential documents, on both databases: a สารบรรณ letter (a process with secrecy classes) is sealed chunk by
chunk with its instance's data key, name included; its bytes appear nowhere in the database (SQLite file and log,
every PostgreSQL row), while a plain process's document is stored as it is (the search does see stored bytes).
A letter classed ลับ is opened only for its people (each read logged), masked for an admin; chunks cannot be
reordered; erasure destroys the contents with the key and the audit chain still verifies. Webhooks get metadata."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from sqlalchemy import inspect, text

from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.documents import queries
from mso_flow.services.integrations.webhook_delivery import deliver_due
from mso_flow.services.platform.context import SYSTEM, Caller
from tests.conftest import ROOT
from tests.documents.conftest import at_register, only_task, upload
from tests.live import free_port
from tests.receiver import Receiver

API = "/api/v1"


def _stored_bytes(services) -> bytes:
    """Every byte the database holds: the SQLite file and its log, or every row of every PostgreSQL table."""
    if services.db.dialect == "sqlite":
        from pathlib import Path

        path = Path(services.db.engine.url.database)
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    with services.db.engine.connect() as connection:
        return b"\n".join(
            str(row[0]).encode()
            for table in inspect(connection).get_table_names()
            for row in connection.execute(text(f'SELECT t::text FROM "{table}" t'))
        )


def _forms(value: bytes) -> list[bytes]:
    """How bytes could sit in storage: as they are, hex (PostgreSQL's bytea text), base64."""
    return [value, value.hex().encode(), base64.b64encode(value)]


def _secret_file() -> tuple[bytes, bytes]:
    """A text document of three chunks holding a random marker, and the marker."""
    marker = secrets.token_hex(24).encode()
    line = "ความลับของราชการ ".encode() + marker + b"\n"
    return line * (700_000 // len(line)), marker


def test_a_sealed_documents_bytes_and_name_are_nowhere_in_the_database(client, services, staff, letter):
    iid, task = at_register(client, staff, secrecy="secret")
    content, marker = _secret_file()
    name_marker = secrets.token_hex(8)
    name = f"บันทึกลับ-{name_marker}.txt"
    added = upload(client, staff["clerk"], iid, content, name, "text/plain", title=f"ลับ {name_marker}")
    assert added.status_code == 201, added.text
    assert added.json()["sealed"] is True and added.json()["filename"] == name
    scan = upload(client, staff["clerk"], iid, letter, task_id=task["id"], field="letter_file")
    assert scan.status_code == 201

    stored = _stored_bytes(services)
    assert added.json()["sha256"].encode() in stored  # the search does see what is stored
    for secret in (marker, name_marker.encode(), letter[len(letter) // 2 : len(letter) // 2 + 48]):
        for form in _forms(secret):
            assert form not in stored, (secret, form)
    with services.db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM document_chunk")).scalar_one() == 4  # 3 + 1 chunks

    got = client.get(f"{API}/documents/{added.json()['id']}/content", headers=staff["clerk"])
    assert got.content == content and got.headers["content-type"] == "text/plain; charset=utf-8"
    reads = client.get(f"{API}/process-instances/{iid}/personal-data/reads", headers=staff["auditor"]).json()
    assert any(r["purpose"] == "document" and r["fields"] == [f"document:{added.json()['id']}"] for r in reads["items"])

    # an admin reads the case's data but not a secret letter's: names masked, contents refused
    shown = client.get(f"{API}/documents/{added.json()['id']}", headers=staff["admin"]).json()
    assert (shown["filename"], shown["title"]) == (None, None)
    assert shown["masked"] == ["filename", "title"]
    refused = client.get(f"{API}/documents/{added.json()['id']}/content", headers=staff["admin"])
    assert refused.status_code == 403 and refused.json()["type"].endswith("document_sealed")


def test_a_plain_processs_documents_are_stored_as_they_are(client, services, make_user):
    data = (ROOT / "tests" / "fixtures" / "document_request.bpmn").read_bytes()
    definitions.deploy(services, SYSTEM, [("document_request.bpmn", data)])
    staff = make_user("staff1", "เจ้าหน้าที่ธุรการ")
    started = client.post(f"{API}/process-definitions/doc_request/start", headers=staff, json={}).json()
    task = only_task(client, staff, started["id"])
    content, marker = _secret_file()
    ids = []
    for name in ("คำขอ.txt", "ภาคผนวก.txt"):
        added = upload(
            client, staff, started["id"], content, name, "text/plain", task_id=task["id"], field="supporting"
        )
        assert added.status_code == 201 and added.json()["sealed"] is False
        ids.append(added.json()["id"])
    assert any(form in _stored_bytes(services) for form in _forms(marker))
    done = client.post(f"{API}/tasks/{task['id']}/complete", headers=staff, json={"variables": {}})
    assert done.status_code == 200, done.text
    assert done.json()["instance"]["variables"]["supporting"] == ids  # multiple: every document, in order
    withdrawn = client.post(f"{API}/documents/{ids[0]}/withdraw", headers=staff, json={"reason": "ซ้ำ"})
    assert withdrawn.status_code == 200
    audit = client.get(f"{API}/process-instances/{started['id']}/audit", headers=staff, params={"limit": 100}).json()
    assert next(e for e in audit["items"] if e["type"] == "document_withdrawn")["data"]["reason"] == "ซ้ำ"


def test_sealed_chunks_cannot_be_reordered(client, services, staff):
    iid, _ = at_register(client, staff)
    content, _ = _secret_file()
    document = upload(client, staff["clerk"], iid, content, "สาม.txt", "text/plain").json()
    with services.db.engine.begin() as connection:
        rows = connection.execute(text("SELECT idx, data FROM document_chunk ORDER BY idx")).all()
        for idx, data in ((0, rows[1].data), (1, rows[0].data)):
            connection.execute(text("UPDATE document_chunk SET data = :d WHERE idx = :i"), {"d": data, "i": idx})
    clerk = Caller("clerk1", frozenset({"เจ้าหน้าที่งานสารบรรณ"}))
    with pytest.raises(queries.ChunkMissing):
        list(queries.content(services, clerk, document["id"]).chunks)


def test_erasure_destroys_the_contents_with_the_key_and_keeps_the_record(client, services, staff, make_user):
    iid, _ = at_register(client, staff, secrecy="secret")
    content, _ = _secret_file()
    document = upload(client, staff["clerk"], iid, content, "ลับ.txt", "text/plain").json()
    officer = make_user("dpo1", "privacy_officer")
    erased = client.post(
        f"{API}/process-instances/{iid}/erase-personal-data",
        headers=officer,
        json={"reason": "ครบกำหนดทำลาย", "cancel_running": True},
    )
    assert erased.status_code == 200, erased.text
    after = client.get(f"{API}/documents/{document['id']}", headers=staff["clerk"]).json()
    assert (after["sha256"], after["size"], after["media_type"]) == (document["sha256"], document["size"], "text/plain")
    assert after["filename"] is None and after["versions"][0]["erased"] is True
    gone = client.get(f"{API}/documents/{document['id']}/content", headers=staff["clerk"])
    assert gone.status_code == 409 and gone.json()["type"].endswith("document_erased")
    with services.db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM document_chunk")).scalar_one() == 0
    audit = client.get(f"{API}/process-instances/{iid}/audit", headers=staff["auditor"], params={"limit": 100}).json()
    event = next(e for e in audit["items"] if e["type"] == "personal_data_erased")
    assert event["data"]["documents"] == [document["id"]]
    assert client.get(f"{API}/process-instances/{iid}/audit/verify", headers=staff["auditor"]).json()["ok"] is True
    refused = client.post(
        f"{API}/process-instances/{iid}/documents",
        headers=staff["clerk"],
        files={"file": ("a.txt", b"x", "text/plain")},
    )
    assert refused.status_code in (403, 409)  # the case is cancelled: nobody works it any more


def test_webhooks_get_the_documents_metadata_only(client, services, staff, letter):
    services.settings.webhook_allowed_networks = "127.0.0.1/32"
    receiver = Receiver(free_port()).start()
    try:
        body = {"url": receiver.url, "events": ["document.added", "document.version_added"], "secret": "s" * 32}
        # an admin's subscription: its owner reads the case's data (another integrator's would get `data: {}`)
        assert client.post(f"{API}/webhooks", headers=staff["admin"], json=body).status_code == 201
        services.subscriptions.invalidate()
        iid, task = at_register(client, staff)
        document = upload(client, staff["clerk"], iid, letter, task_id=task["id"], field="letter_file").json()
        assert deliver_due(services) == 1
        payload = json.loads(receiver.received[0][1])
        assert payload["event"] == "document.added"
        assert payload["data"] == {
            "document_id": document["id"],
            "version": 1,
            "sha256": document["sha256"],
            "size": len(letter),
            "media_type": "application/pdf",
            "field": "letter_file",
        }
        assert document["filename"].encode() not in receiver.received[0][1]
    finally:
        receiver.stop()
