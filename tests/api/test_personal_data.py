"""Personal data (issue 17): the hotline's personal fields are sealed at rest (no plain byte in the SQLite file or
any PostgreSQL table), masked for everyone without need to know (admins, auditors, integrators, webhook
subscribers without a grant, exports), opened for the case's people and a privacy officer with every read logged;
a privacy officer erases a case (crypto-shredding) and its values are gone everywhere while its audit chain still
verifies; retention erases what is past its time; the master key rotates; a letter classed ลับ is masked whole."""

from __future__ import annotations

import base64
import json
import stat
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import event, inspect, text

from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.integrations.webhook_delivery import deliver_due
from mso_flow.services.platform.context import SYSTEM
from mso_flow.services.privacy import keyring, personal_data
from mso_flow.services.privacy import officer as privacy
from mso_flow.store.models import DataKey, ProcessInstance
from tests import factory
from tests.clock import ManualClock
from tests.conftest import BPMN_DIR
from tests.live import free_port
from tests.receiver import Receiver

API = "/api/v1"
HOTLINE = BPMN_DIR / "inspection" / "inspection_hotline_1300.bpmn"
STAFF, OTHER_UNIT = "ศูนย์ช่วยเหลือสังคม", "เจ้าหน้าที่งานสารบรรณ"
REPORTER = "นางสาวมาลัย ทดสอบลับ 0812345678"
PROBLEM = "ถูกทำร้ายร่างกาย ต้องการรักษาพยาบาล เอชไอวี"


@pytest.fixture
def people(make_user, services):
    definitions.deploy(services, SYSTEM, [("inspection/inspection_hotline_1300.bpmn", HOTLINE.read_bytes())])
    definitions.deploy(
        services, SYSTEM, [("central/central_saraban.bpmn", (BPMN_DIR / "central/central_saraban.bpmn").read_bytes())]
    )
    return {
        "system": make_user("hotline_system", "integrator"),
        "staff": make_user("somchai", STAFF),
        "colleague": make_user("somsri", STAFF),
        "other": make_user("clerk", OTHER_UNIT),
        "admin": make_user("admin", "admin"),
        "auditor": make_user("audit1", "auditor"),
        "officer": make_user("dpo", "privacy_officer"),
    }


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _case(client, people) -> tuple[str, str]:
    """A hotline case received by the e-service and worked by a staff member up to its recording step."""
    started = _ok(
        client.post(
            f"{API}/messages",
            headers=people["system"],
            json={"name": "hotline_intake", "business_key": f"1300-{uuid.uuid4().hex[:8]}"},
        )
    )
    instance_id = started["instance_id"]
    task = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["staff"]))["active_tasks"][0]
    body = {"variables": {"channel": "hotline", "reporter_name": REPORTER}}
    _ok(client.post(f"{API}/tasks/{task['id']}/complete", headers=people["staff"], json=body))
    task = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["staff"]))["active_tasks"][0]
    _ok(
        client.post(
            f"{API}/tasks/{task['id']}/complete", headers=people["staff"], json={"variables": {"problem": PROBLEM}}
        )
    )
    return instance_id, _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["staff"]))[
        "active_tasks"
    ][0]["id"]


def _forms(value: str) -> list[bytes]:
    """The byte forms a value could take in storage: UTF-8, JSON's \\u escapes, base64 of UTF-8."""
    return [value.encode(), json.dumps(value).encode(), base64.b64encode(value.encode())]


def _stored_bytes(services) -> bytes:
    """Every byte the database holds: the SQLite file and its log, or every row of every PostgreSQL table."""
    if services.db.dialect == "sqlite":
        path = Path(services.db.engine.url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    with services.db.engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        return b"\n".join(
            str(row[0]).encode()
            for table in tables
            for row in connection.execute(text(f'SELECT t::text FROM "{table}" t'))
        )


def test_no_plain_personal_value_is_stored_anywhere(client, services, people):
    instance_id, _ = _case(client, people)
    comment_free = _ok(client.get(f"{API}/process-instances/{instance_id}/audit?limit=100", headers=people["staff"]))
    assert any((e["data"].get("variables") or {}).get("reporter_name") == REPORTER for e in comment_free["items"])
    with services.db.engine.connect() as connection:
        state = connection.execute(text("SELECT engine_state FROM process_instance")).scalar_one()
    assert state.startswith("sealed:v1:")
    stored = _stored_bytes(services)
    business_key = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["staff"]))["business_key"]
    assert business_key.encode() in stored  # ordinary values are stored as they are: the search does see rows
    for secret in (REPORTER, PROBLEM, "0812345678"):
        for form in _forms(secret):
            assert form not in stored, (secret, form)


def test_people_without_need_to_know_see_personal_fields_masked(client, people):
    instance_id, task_id = _case(client, people)
    for who in ("admin", "auditor", "system"):
        seen = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people[who]))
        assert seen["variables"]["channel"] == "hotline", who
        assert seen["variables"]["reporter_name"] is None and seen["variables"]["problem"] is None, who
        assert sorted(seen["masked_variables"]) == ["problem", "reporter_name"], who
        trail = _ok(client.get(f"{API}/process-instances/{instance_id}/audit?limit=100", headers=people[who]))
        assert REPORTER not in json.dumps(trail, ensure_ascii=False), who
    assert client.get(f"{API}/process-instances/{instance_id}", headers=people["other"]).status_code == 403
    export = client.get(f"{API}/process-instances/{instance_id}/audit/export?format=jsonl", headers=people["officer"])
    assert export.status_code == 200 and "task_completed" in export.text  # exports are masked even for the officer
    assert REPORTER not in export.text and PROBLEM not in export.text
    listed = _ok(client.get(f"{API}/process-instances?key=inspection_hotline_1300", headers=people["auditor"]))
    assert listed["items"][0]["variables"]["reporter_name"] is None
    worker = _ok(client.get(f"{API}/tasks/{task_id}", headers=people["admin"]))
    assert worker["variables"]["reporter_name"] is None and "reporter_name" in worker["masked_variables"]


def test_the_cases_people_and_the_privacy_officer_read_them_and_every_read_is_logged(client, people):
    instance_id, task_id = _case(client, people)
    holder = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["staff"]))
    assert holder["variables"]["reporter_name"] == REPORTER and holder["masked_variables"] == []
    candidate = _ok(client.get(f"{API}/tasks/{task_id}", headers=people["colleague"]))  # may work the open task
    assert candidate["variables"]["problem"] == PROBLEM
    officer = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["officer"]))
    assert officer["variables"]["reporter_name"] == REPORTER
    _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["admin"]))  # masked: not a read
    assert (
        client.get(f"{API}/process-instances/{instance_id}/personal-data/reads", headers=people["admin"]).status_code
        == 403
    )
    log = _ok(
        client.get(f"{API}/process-instances/{instance_id}/personal-data/reads?limit=100", headers=people["auditor"])
    )
    readers = {(r["actor"], r["purpose"]) for r in log["items"]}
    assert {("somchai", "view"), ("somsri", "task"), ("dpo", "view")} <= readers
    assert all(r["actor"] not in ("admin", "audit1", "hotline_system") for r in log["items"])
    assert {"problem", "reporter_name"} == set(next(r for r in log["items"] if r["actor"] == "dpo")["fields"])


def test_a_subscriber_without_a_grant_receives_masked_values_and_a_granted_one_plain(client, services, people):
    services.settings.webhook_allowed_networks = "127.0.0.1/32"
    plain_receiver, masked_receiver = Receiver(free_port()).start(), Receiver(free_port()).start()
    try:
        hooks = {}
        for name, receiver in (("plain", plain_receiver), ("masked", masked_receiver)):
            body = {"url": receiver.url, "events": ["task.completed"], "secret": "s" * 32}
            hooks[name] = _ok(client.post(f"{API}/webhooks", headers=people["system"], json=body), 201)["id"]
        grant = {"granted": True, "reason": "ระบบส่งต่อเคสของศูนย์ช่วยเหลือสังคม (MOU 2567)"}
        denied = client.put(f"{API}/webhooks/{hooks['plain']}/personal-data-grant", headers=people["admin"], json=grant)
        assert denied.status_code == 403
        granted = _ok(
            client.put(f"{API}/webhooks/{hooks['plain']}/personal-data-grant", headers=people["officer"], json=grant)
        )
        assert granted["personal_data"] is True
        services.subscriptions.invalidate()
        instance_id, _ = _case(client, people)
        assert deliver_due(services) == 4
        first = lambda r: json.loads(r.received[0][1])  # noqa: E731  (the first completion: reporter_name)
        assert first(plain_receiver)["data"]["variables"]["reporter_name"] == REPORTER
        masked = first(masked_receiver)["data"]
        assert masked["variables"] == {"channel": "hotline", "reporter_name": None} and masked["masked"] == [
            "reporter_name"
        ]
        assert all(
            REPORTER.encode() not in body and PROBLEM.encode() not in body for _, body in masked_receiver.received
        )
        log = _ok(
            client.get(
                f"{API}/process-instances/{instance_id}/personal-data/reads?limit=100", headers=people["officer"]
            )
        )
        assert any(r["actor"] == f"webhook:{hooks['plain']}" and r["purpose"] == "webhook" for r in log["items"])
    finally:
        plain_receiver.stop()
        masked_receiver.stop()


def test_a_privacy_officer_erases_a_case_its_values_are_gone_and_the_audit_still_verifies(client, services, people):
    instance_id, _ = _case(client, people)

    def erase(who, body):
        return client.post(f"{API}/process-instances/{instance_id}/erase-personal-data", headers=people[who], json=body)

    assert erase("admin", {"reason": "คำขอของเจ้าของข้อมูล"}).status_code == 403
    running = erase("officer", {"reason": "คำขอของเจ้าของข้อมูล"})
    assert running.status_code == 409 and running.json()["type"].endswith("instance_running")
    assert erase("officer", {"reason": "  "}).status_code == 422
    done = _ok(erase("officer", {"reason": "คำขอของเจ้าของข้อมูล ตามมาตรา ๓๓", "cancel_running": True}))
    assert done["instance_state"] == "cancelled" and set(done["fields"]) >= {"reporter_name", "problem"}
    assert erase("officer", {"reason": "again"}).status_code == 409
    for who in ("staff", "officer"):
        seen = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people[who]))
        assert seen["variables"]["reporter_name"] is None and seen["variables"]["channel"] == "hotline"
        trail = _ok(client.get(f"{API}/process-instances/{instance_id}/audit?limit=100", headers=people[who]))
        assert REPORTER not in json.dumps(trail, ensure_ascii=False)
        assert trail["items"][-1]["type"] == "personal_data_erased"
    exported = _ok(client.get(f"{API}/process-instances/{instance_id}/personal-data", headers=people["officer"]))
    assert exported["erased_at"] and all(f["erased"] and f["value"] is None for f in exported["fields"])
    verified = _ok(client.get(f"{API}/process-instances/{instance_id}/audit/verify", headers=people["auditor"]))
    assert verified["ok"] is True
    with services.db.read() as session:
        key = session.get(DataKey, instance_id)
        assert key.wrapped_key is None and key.erased_by == "dpo" and key.erased_at is not None


def test_the_data_subject_export_names_each_value_and_where_it_came_from(client, people):
    instance_id, _ = _case(client, people)
    assert (
        client.get(f"{API}/process-instances/{instance_id}/personal-data", headers=people["admin"]).status_code == 403
    )
    exported = _ok(client.get(f"{API}/process-instances/{instance_id}/personal-data", headers=people["officer"]))
    fields = {f["name"]: f for f in exported["fields"]}
    assert fields["reporter_name"]["value"] == REPORTER and fields["reporter_name"]["label"] == "ชื่อผู้แจ้ง/ผู้ประสบปัญหา"
    assert fields["problem"]["sensitive"] is True and fields["reporter_name"]["sensitive"] is False
    assert [s["actor"] for s in fields["reporter_name"]["supplied"]] == ["somchai"]
    log = _ok(client.get(f"{API}/process-instances/{instance_id}/personal-data/reads", headers=people["officer"]))
    assert any(r["purpose"] == "export" for r in log["items"])


def test_retention_erases_ended_cases_past_their_time(client, services, people):
    clock = ManualClock()
    services.clock = clock
    instance_id, _ = _case(client, people)
    _ok(client.post(f"{API}/process-instances/{instance_id}/cancel", headers=people["admin"], json={"reason": "ซ้ำ"}))
    assert privacy.erase_expired(services) == 0
    clock.advance(timedelta(days=services.settings.personal_data_retention_days + 1).total_seconds())
    assert privacy.erase_expired(services) == 1
    seen = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["officer"]))
    assert seen["variables"]["reporter_name"] is None
    trail = _ok(client.get(f"{API}/process-instances/{instance_id}/audit?limit=100", headers=people["officer"]))
    assert trail["items"][-1]["type"] == "personal_data_erased" and trail["items"][-1]["data"]["reason"] == "retention"


def test_the_master_key_rotates_and_the_old_key_can_then_go(client, services, people, tmp_path):
    first = base64.b64encode(bytes(range(32))).decode()
    second = base64.b64encode(bytes(range(1, 33))).decode()
    services.settings.master_key = SecretStr(first)
    keyring.forget()
    instance_id, _ = _case(client, people)
    services.settings.master_key = SecretStr(f"{second},{first}")
    assert privacy.rotate_master_key(services) == 1
    services.settings.master_key = SecretStr(second)
    seen = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["staff"]))
    assert seen["variables"]["reporter_name"] == REPORTER
    services.settings.master_key = SecretStr(first)  # the old key alone no longer opens it
    refused = client.get(f"{API}/process-instances/{instance_id}", headers=people["staff"])
    assert refused.status_code == 503 and refused.json()["type"].endswith("master_key_missing")


def test_a_letter_classed_secret_is_masked_whole_for_those_without_need_to_know(client, people, make_user):
    clerk = make_user("saraban1", OTHER_UNIT)
    started = _ok(
        client.post(
            f"{API}/process-definitions/central_saraban/start",
            headers=people["system"],
            json={"variables": {"subject": "เรื่องลับ: สอบสวนวินัย"}},
        ),
        201,
    )
    instance_id, task_id = started["id"], started["active_tasks"][0]["id"]
    assert started["variables"]["subject"] == "เรื่องลับ: สอบสวนวินัย"  # not classified yet: its starter reads it
    body = {
        "variables": {
            "subject": "เรื่องลับ: สอบสวนวินัย",
            "secrecy": "secret",
            "speed": "normal",
        }
    }
    _ok(client.post(f"{API}/tasks/{task_id}/complete", headers=clerk, json=body))
    for who in ("admin", "auditor", "system"):
        seen = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people[who]))
        assert seen["variables"]["subject"] is None and "subject" in seen["masked_variables"], who
        listed = _ok(client.get(f"{API}/process-instances?key=central_saraban", headers=people[who]))
        assert listed["items"][0]["variables"]["subject"] is None, who
    assert _ok(client.get(f"{API}/process-instances/{instance_id}", headers=clerk))["variables"]["subject"].startswith(
        "เรื่องลับ"
    )


def test_an_incident_of_a_case_does_not_quote_its_personal_values(client, services, people):
    instance_id, _ = _case(client, people)
    with services.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        model = services.definitions.definition(session, instance.definition_id).model
        message = f"invalid literal for int() with base 10: {REPORTER!r} (reporter {REPORTER}, 0812345678)"
        scrubbed = personal_data.scrubbed(services, session, model, instance, message)
    assert "invalid literal for int() with base 10" in scrubbed
    assert "มาลัย" not in scrubbed and "0812345678" not in scrubbed


def test_a_process_without_personal_data_pays_no_statement_for_it(client, services, people, make_user):
    definitions.deploy(services, SYSTEM, [("approval.bpmn", factory.approval())])
    staff = make_user("clerk2", "เจ้าหน้าที่")
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731  (conn, cursor, statement, …)
    event.listen(services.db.engine, "before_cursor_execute", listen)
    try:
        started = _ok(client.post(f"{API}/process-definitions/test_approval/start", headers=staff, json={}), 201)
        task_id = started["active_tasks"][0]["id"]
        _ok(client.post(f"{API}/tasks/{task_id}/complete", headers=staff, json={"variables": {"amount": 10}}))
        # a statement of its own; the locked read of a command joins the key row by its primary key (no extra
        # statement, and the sealed instance's command then reads no key on its own)
        own = ("FROM data_key", "INTO data_key", "personal_data_read")
        plain_case = [s for s in statements if any(part in s for part in own)]
        statements.clear()
        _case(client, people)
        sealed_case = [s for s in statements if "data_key" in s]
    finally:
        event.remove(services.db.engine, "before_cursor_execute", listen)
    assert plain_case == []
    assert sealed_case  # the listener does see the key statements of a hotline case


def test_the_master_key_file_is_created_once_by_concurrent_first_users(tmp_path):
    path = tmp_path / "keys" / "master.keys"
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda _: keyring.create_file(path), range(64)))
    assert len(keyring.read_file(path)) == 1 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["master.keys"]  # no temporary file left behind
