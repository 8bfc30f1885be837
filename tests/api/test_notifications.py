"""Notifications (issue 27) against a real SMTP server on loopback (aiosmtpd, started by each test), the real
service (TestClient), the real BPMN and both databases; the service clock is a `ManualClock` the tests move.

Mails are read as a mail reader reads them (decoded subject and body) and as raw bytes."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from mso_flow import cli
from mso_flow.api.app import create_app
from mso_flow.rendering.thai import BANGKOK, thai_datetime
from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.notifications import delivery, fanout, loop
from mso_flow.services.platform.context import SYSTEM, Services
from mso_flow.settings import get_settings
from mso_flow.store.notifications import Notification, NotificationEvent, NotificationMail
from tests.clock import ManualClock
from tests.conftest import BPMN_DIR, SARABAN
from tests.factory import approval
from tests.live import free_port
from tests.mail import Inbox, authenticator, self_signed, smtp_server, tls_context

API = "/api/v1"
CLERK, HEAD = "เจ้าหน้าที่งานสารบรรณ", "หัวหน้าฝ่ายสารบรรณ"
HOTLINE = BPMN_DIR / "inspection" / "inspection_hotline_1300.bpmn"
STAFF = "ศูนย์ช่วยเหลือสังคม"
REPORTER, PHONE = "นางสาวมาลัย ทดสอบลับ", "0812345678"
PROBLEM = "ถูกทำร้ายร่างกาย ต้องการรักษาพยาบาล เอชไอวี"
PUBLIC = "https://flow.example.go.th"
# Tuesday 17 November 2026, 09:00 in Bangkok: a working day
START = datetime(2026, 11, 17, 9, 0, tzinfo=BANGKOK)


@pytest.fixture
def clock() -> ManualClock:
    manual = ManualClock()
    manual.now = START.astimezone(UTC)
    return manual


@pytest.fixture
def relay_port() -> int:
    return free_port()


def _services(services: Services, clock: ManualClock, **settings: object) -> Services:
    changed = services.settings.model_copy(
        update={
            "mail_from": "MSO Flow <noreply@flow.example.go.th>",
            "public_url": PUBLIC,
            "mail_timeout_seconds": 3.0,
            "mail_backoff_seconds": 10.0,
            **settings,
        }
    )
    return Services(settings=changed, db=services.db, clock=clock)


@pytest.fixture
def notify(services: Services, clock: ManualClock, relay_port: int) -> Services:
    """The service with a relay at 127.0.0.1:`relay_port` (which each test starts when it wants it up)."""
    return _services(services, clock, smtp_url=SecretStr(f"smtp://127.0.0.1:{relay_port}"))


@pytest.fixture
def api(notify: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=notify), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def person(notify: Services) -> Callable[..., dict[str, str]]:
    """A user with roles and (unless `email=False`) the address `<name>@example.go.th`; their token header."""

    def make(name: str, *roles: str, email: bool = True) -> dict[str, str]:
        address = f"{name}@example.go.th" if email else None
        _, token = users.create_user(notify, SYSTEM, name, list(roles), force=True, email=address)
        return {"Authorization": f"Bearer {token}"}

    return make


def _ok(response, status: int = 200):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _start(api: TestClient, who: dict[str, str], business_key: str) -> dict:
    body = {"business_key": business_key}
    return _ok(api.post(f"{API}/process-definitions/central_saraban/start", headers=who, json=body), 201)


def _deploy_saraban(services: Services) -> str:
    """Deploy the สารบรรณ process; its name."""
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", SARABAN.read_bytes())])
    return definitions.latest(services, "central_saraban")[1].name


def _mails_of(services: Services) -> list[NotificationMail]:
    with services.db.read() as session:
        return list(session.scalars(select(NotificationMail).order_by(NotificationMail.created_at)))


def test_a_clerk_gets_one_thai_mail_with_the_link_when_a_saraban_case_reaches_their_role(
    notify, api, person, relay_port
):
    process = _deploy_saraban(notify)
    starter = person("starter", "integrator", email=False)
    clerk = person("clerk1", CLERK)
    head = person("head1", HEAD)
    with smtp_server(relay_port) as inbox:
        case = _start(api, starter, "พม 0201/77")
        loop.run_once(notify)
        loop.run_once(notify)  # nothing twice
    task = case["active_tasks"][0]
    assert [m.to for m in inbox.mails] == [["clerk1@example.go.th"]]
    mail = inbox.mails[0]
    assert mail.subject == f"[MSO Flow] งานใหม่: {task['name']}"
    assert mail.kind == "task_created"
    assert mail.message["Message-ID"] == f"<{_mails_of(notify)[0].id}@flow.example.go.th>"
    assert mail.message.get_content_charset() == "utf-8"
    body = mail.body
    assert f"{PUBLIC}/app/tasks/{task['id']}" in body
    assert f"ขั้นตอน: {task['name']}" in body and f"กระบวนงาน: {process}" in body
    assert "เลขที่อ้างอิง: พม 0201/77" in body
    due = datetime.fromisoformat(task["due_at"])
    assert f"กำหนดเสร็จ: {thai_datetime(due)} น." in body and "2569" in body  # Buddhist year, Bangkok time

    mine = _ok(api.get(f"{API}/me/notifications", headers=clerk))
    assert mine["unread"] == 1 and mine["total"] == 1
    item = mine["items"][0]
    assert {k: item[k] for k in ("kind", "task_id", "instance_id", "title", "read")} == {
        "kind": "task_created",
        "task_id": task["id"],
        "instance_id": case["id"],
        "title": f"งานใหม่: {task['name']}",
        "read": False,
    }
    assert _ok(api.get(f"{API}/me/notifications", headers=head)) | {"items": None} == {
        "items": None,
        "unread": 0,
        "total": 0,
        "offset": 0,
        "limit": 50,
    }
    missing = api.post(f"{API}/me/notifications/{item['id']}/read", headers=head)
    assert missing.status_code == 404 and missing.json()["type"] == "urn:mso-flow:problem:notification_not_found"
    _ok(api.post(f"{API}/me/notifications/{item['id']}/read", headers=clerk), 204)
    mine = _ok(api.get(f"{API}/me/notifications", headers=clerk))
    assert mine["unread"] == 0 and mine["items"][0]["read"] is True
    assert _ok(api.get(f"{API}/me/notifications?unread=true", headers=clerk))["items"] == []


def test_assignment_due_soon_and_overdue_mail_the_right_people(services, clock, relay_port, person):
    notify = _services(services, clock, smtp_url=SecretStr(f"smtp://127.0.0.1:{relay_port}"), due_soon="PT30S")
    with TestClient(create_app(services=notify), raise_server_exceptions=False) as api:
        _deploy_saraban(notify)
        starter = person("starter", "integrator", email=False)
        supervisor = person("sup1", CLERK, "supervisor")
        person("clerk1", CLERK)
        person("clerk2", CLERK)
        person("head1", HEAD, "supervisor")  # a supervisor of another lane
        with smtp_server(relay_port) as inbox:
            task = _start(api, starter, "พม 0201/78")["active_tasks"][0]
            loop.run_once(notify)
            assert sorted(m.to[0] for m in inbox.mails) == [
                "clerk1@example.go.th",
                "clerk2@example.go.th",
                "sup1@example.go.th",
            ]
            inbox.mails.clear()

            _ok(api.post(f"{API}/tasks/{task['id']}/assignee", headers=supervisor, json={"username": "clerk2"}))
            loop.run_once(notify)
            assert [(m.to, m.kind) for m in inbox.mails] == [(["clerk2@example.go.th"], "task_assigned")]
            assert inbox.mails[0].subject == f"[MSO Flow] งานที่มอบหมายให้คุณ: {task['name']}"
            inbox.mails.clear()

            due = datetime.fromisoformat(task["due_at"])  # one minute after its creation (PT1M)
            clock.now = due - timedelta(seconds=20)
            loop.run_once(notify)
            assert [(m.to, m.kind) for m in inbox.mails] == [(["clerk2@example.go.th"], "task_due_soon")]
            inbox.mails.clear()

            clock.now = due + timedelta(seconds=1)
            loop.run_once(notify)
            assert sorted((m.to[0], m.kind) for m in inbox.mails) == [
                ("clerk2@example.go.th", "task_overdue"),
                ("sup1@example.go.th", "task_overdue"),
            ]
            assert all(m.subject == f"[MSO Flow] งานเกินกำหนด: {task['name']}" for m in inbox.mails)
            inbox.mails.clear()

            clock.now = due + timedelta(hours=2)
            loop.run_once(notify)  # each threshold is crossed once
            assert inbox.mails == []


def test_the_digest_groups_a_days_tasks_in_one_mail(notify, api, person, clock, relay_port):
    _deploy_saraban(notify)
    starter = person("starter", "integrator", email=False)
    clerk = person("clerk1", CLERK)
    assert _ok(api.put(f"{API}/me/notification-settings", headers=clerk, json={"email": "digest"})) == {
        "email": "digest",
        "address": "clerk1@example.go.th",
    }
    clock.now = (START + timedelta(hours=2)).astimezone(UTC)  # Tuesday 11:00
    with smtp_server(relay_port) as inbox:
        tasks = []
        for number in range(3):
            tasks.append(_start(api, starter, f"พม 0201/{number}")["active_tasks"][0])
            clock.advance(3600)
        loop.run_once(notify)
        assert inbox.mails == []  # not before 08:00 of the next working day

        clock.now = datetime(2026, 11, 18, 8, 5, tzinfo=BANGKOK).astimezone(UTC)  # Wednesday 08:05
        _start(api, starter, "พม 0201/late")  # after 08:00: tomorrow's digest
        loop.run_once(notify)
        loop.run_once(notify)
        clock.advance(3600)
        loop.run_once(notify)
    assert len(inbox.mails) == 1
    mail = inbox.mails[0]
    assert mail.kind == "digest" and mail.to == ["clerk1@example.go.th"]
    eight = datetime(2026, 11, 18, 8, 0, tzinfo=BANGKOK)
    notes = _ok(api.get(f"{API}/me/notifications?limit=100", headers=clerk))["items"]
    grouped = [n for n in notes if datetime.fromisoformat(n["created_at"]) < eight]
    # each case's new task, and (a step of one minute, the clock moved an hour) each one overdue
    assert sorted(n["kind"] for n in grouped) == ["task_created"] * 3 + ["task_overdue"] * 3
    assert mail.subject == "[MSO Flow] สรุปการแจ้งเตือนประจำวัน 18 พ.ย. 2569: 6 รายการ"
    for note in grouped:
        assert note["title"] in mail.body
    for task in tasks:
        assert mail.body.count(f"{PUBLIC}/app/tasks/{task['id']}") == 2
    assert "พม 0201/late" not in mail.body  # after 08:00: in tomorrow's digest
    assert len(notes) > len(grouped)


def test_a_hotline_cases_mails_hold_no_reporter_name_or_problem(notify, api, person, relay_port):
    definitions.deploy(notify, SYSTEM, [("inspection/inspection_hotline_1300.bpmn", HOTLINE.read_bytes())])
    system = person("hotline_system", "integrator", email=False)
    staff = person("somchai", STAFF)
    person("somsri", STAFF)
    key = f"1300-{uuid.uuid4().hex[:8]}"
    with smtp_server(relay_port) as inbox:
        started = _ok(api.post(f"{API}/messages", headers=system, json={"name": "hotline_intake", "business_key": key}))
        instance_id = started["instance_id"]
        loop.run_once(notify)
        for variables in (
            {"channel": "hotline", "reporter_name": f"{REPORTER} {PHONE}"},
            {"problem": PROBLEM},
        ):
            task = _ok(api.get(f"{API}/process-instances/{instance_id}", headers=staff))["active_tasks"][0]
            _ok(api.post(f"{API}/tasks/{task['id']}/complete", headers=staff, json={"variables": variables}))
            loop.run_once(notify)  # as the background loop does, before the next step is done
    assert len(inbox.to("somsri@example.go.th")) == 3  # each step, to the colleague (not to who did the last)
    assert len(inbox.to("somchai@example.go.th")) == 1  # the first, brought by the e-service
    for mail in inbox.mails:
        assert key in mail.body
        text = f"{mail.subject}\n{mail.body}\n{mail.message.as_string()}"
        for secret in (REPORTER, PHONE, PROBLEM):
            assert secret not in text
            for form in (secret.encode(), base64.b64encode(secret.encode()), json.dumps(secret).encode()):
                assert form not in mail.raw, (secret, form)


def test_mails_wait_for_a_relay_that_is_down_and_arrive_once_when_it_is_back(notify, api, person, clock, relay_port):
    _deploy_saraban(notify)
    starter = person("starter", "integrator", email=False)
    admin = person("boss", "admin", email=False)
    person("clerk1", CLERK)
    person("clerk2", CLERK)
    _start(api, starter, "พม 0201/down")
    assert loop.run_once(notify) == 2  # the relay is down: connection refused
    for _ in range(3):  # down for a while: every retry refused, each later than the one before
        clock.advance(3600)
        loop.run_once(notify)
    waiting = _ok(api.get(f"{API}/notifications/deliveries?limit=100", headers=admin))["items"]
    created = [(m["state"], m["attempts"], m["last_error"]) for m in waiting if m["kind"] == "task_created"]
    assert created == [("pending", 4, "refused")] * 2
    assert {m["kind"] for m in waiting} == {"task_created", "task_overdue"}  # a step of a minute, hours passed

    with smtp_server(relay_port) as inbox:
        loop.run_once(notify)
        assert inbox.mails == []  # the relay is back, but no retry is due yet: none is tried before its time
        clock.advance(3600 * 2)
        loop.run_once(notify)
        clock.advance(3600 * 5)
        loop.run_once(notify)
    received = sorted((m.to[0], m.kind) for m in inbox.mails)
    assert received == [
        ("clerk1@example.go.th", "task_created"),
        ("clerk1@example.go.th", "task_overdue"),
        ("clerk2@example.go.th", "task_created"),
        ("clerk2@example.go.th", "task_overdue"),
    ]  # every mail once
    sent = _ok(api.get(f"{API}/notifications/deliveries?state=sent", headers=admin))
    assert sent["total"] == 4 and all(m["sent_at"] and m["last_error"] is None for m in sent["items"])


def test_deliveries_are_for_admins_only(api, person):
    clerk = person("clerk1", CLERK)
    refused = api.get(f"{API}/notifications/deliveries", headers=clerk)
    assert refused.status_code == 403 and refused.json()["type"] == "urn:mso-flow:problem:admin_required"


def test_a_stuck_exchange_does_not_hold_up_the_other_mails(notify, api, person, relay_port):
    _deploy_saraban(notify)
    starter = person("starter", "integrator", email=False)
    person("clerk1", CLERK)
    person("stuck", CLERK)
    _start(api, starter, "พม 0201/slow")
    with smtp_server(relay_port, Inbox(stall=frozenset({"stuck@example.go.th"}))) as inbox:
        loop.run_once(notify)  # both at once (MSO_FLOW_MAIL_CONCURRENCY=4): one waits out its deadline
    assert [m.to for m in inbox.mails] == [["clerk1@example.go.th"]]
    states = {m.username: (m.state, m.last_error) for m in _mails_of(notify)}
    assert states == {"clerk1": ("sent", None), "stuck": ("pending", "timeout")}


def test_a_mail_cut_during_data_is_never_sent_again(notify, api, person, clock, relay_port):
    """A process that died after moving a mail to `sending` (the message may be with the relay) leaves it
    `unknown` once its lease ends: at most one mail, even if that one is lost."""
    _deploy_saraban(notify)
    starter = person("starter", "integrator", email=False)
    person("clerk1", CLERK)
    _start(api, starter, "พม 0201/crash")
    fanout.fan_out(notify)
    crashed = delivery.MailDeliverer(notify)
    try:
        (item,) = crashed._take(10)
        assert crashed._sending(item)  # ... and the process dies during DATA
    finally:
        crashed.close()
    with smtp_server(relay_port) as inbox:
        loop.run_once(notify)
        clock.advance(3600)  # past the lease
        loop.run_once(notify)
    assert [m.kind for m in inbox.mails] == ["task_overdue"]  # the new task's mail was not sent again
    states = [(m.kind, m.state, m.last_error) for m in _mails_of(notify)]
    assert states == [("task_created", "unknown", "interrupted_during_data"), ("task_overdue", "sent", None)]


def test_starttls_and_login_with_a_self_signed_certificate(services, clock, relay_port, person, tmp_path):
    cert, key = self_signed(tmp_path)
    url = SecretStr(f"smtp+starttls://notify%40flow:s3cret%21@127.0.0.1:{relay_port}")
    notify = _services(services, clock, smtp_url=url, smtp_ca_file=cert)
    _deploy_saraban(notify)
    starter = person("starter", "integrator", email=False)
    person("clerk1", CLERK)
    options = {
        "tls_context": tls_context(cert, key),
        "require_starttls": True,
        "auth_required": True,
        "auth_require_tls": True,
        "authenticator": authenticator("notify@flow", "s3cret!"),
    }
    with TestClient(create_app(services=notify), raise_server_exceptions=False) as api:
        _start(api, starter, "พม 0201/tls")
    with smtp_server(relay_port, **options) as inbox:
        loop.run_once(notify)
    assert [m.to for m in inbox.mails] == [["clerk1@example.go.th"]]

    wrong_url = SecretStr(f"smtp+starttls://notify%40flow:wrong@127.0.0.1:{relay_port}")
    wrong = _services(services, clock, smtp_url=wrong_url, smtp_ca_file=cert)
    with TestClient(create_app(services=wrong), raise_server_exceptions=False) as api:
        _start(api, starter, "พม 0201/tls2")
    with smtp_server(relay_port, **options) as inbox:
        loop.run_once(wrong)
    assert inbox.mails == []
    assert [m.last_error for m in _mails_of(wrong) if m.state == "pending"] == ["auth"]

    untrusted = _services(services, clock, smtp_url=url)  # the system's CAs do not know the relay
    with TestClient(create_app(services=untrusted), raise_server_exceptions=False) as api:
        _start(api, starter, "พม 0201/tls3")
    with smtp_server(relay_port, **options) as inbox:
        loop.run_once(untrusted)
    assert inbox.mails == []
    assert sorted(m.last_error or "" for m in _mails_of(untrusted) if m.state == "pending") == ["auth", "tls"]


def test_nobody_to_tell_costs_the_command_no_statement(services, clock, person):
    """A process whose roles no active user holds writes no outbox row; one person of the role makes it one."""
    plain = _services(services, clock)
    _deploy_saraban(plain)
    with TestClient(create_app(services=plain), raise_server_exceptions=False) as api:
        starter = {"Authorization": f"Bearer {users.create_user(plain, SYSTEM, 's', ['integrator'])[1]}"}
        _start(api, starter, "พม 0201/a")
        with plain.db.read() as session:
            assert session.scalar(select(func.count()).select_from(NotificationEvent)) == 0
        users.create_user(plain, SYSTEM, "clerk1", [CLERK], force=True)
        _start(api, starter, "พม 0201/b")
        with plain.db.read() as session:
            assert session.scalar(select(func.count()).select_from(NotificationEvent)) == 1
        loop.run_once(plain)  # no relay: in the app only
        assert _mails_of(plain) == []
    with plain.db.read() as session:
        assert [n.username for n in session.scalars(select(Notification))] == ["clerk1"]


def test_an_incident_tells_the_admins_and_the_designer_who_deployed_the_version(notify, api, person, relay_port):
    designer = person("designer1", "designer")
    person("designer2", "designer")
    person("admin1", "admin")
    staff = person("staff1", "เจ้าหน้าที่")
    files = [("files", ("approval.bpmn", approval(condition="100 / (amount - 70000) > 0")))]
    _ok(api.post(f"{API}/deployments", headers=designer, files=files), 201)
    instance = _ok(api.post(f"{API}/process-definitions/test_approval/start", headers=staff, json={}), 201)
    task_id = instance["active_tasks"][0]["id"]
    with smtp_server(relay_port) as inbox:
        loop.run_once(notify)
        inbox.mails.clear()
        failed = api.post(f"{API}/tasks/{task_id}/complete", headers=staff, json={"variables": {"amount": 70000}})
        assert failed.status_code == 422
        loop.run_once(notify)
    assert sorted((m.to[0], m.kind) for m in inbox.mails) == [
        ("admin1@example.go.th", "incident_opened"),
        ("designer1@example.go.th", "incident_opened"),
    ]
    mail = inbox.mails[0]
    assert mail.subject.startswith("[MSO Flow] เหตุขัดข้องของกระบวนงาน: ")
    assert f"{PUBLIC}/app/instances/{instance['id']}" in mail.body
    assert "70000" not in mail.body  # the failing values are the incident's, not the mail's


def test_users_have_an_email_in_the_api_and_at_the_command_line(api, notify, person, monkeypatch, capsys):
    _deploy_saraban(notify)  # its lanes are known roles
    admin = person("boss", "admin", email=False)
    created = _ok(
        api.post(f"{API}/users", headers=admin, json={"username": "u1", "roles": [CLERK], "email": "U1@Example.go.th"}),
        201,
    )
    assert created["email"] == "U1@example.go.th"  # the domain in lower case (email-validator's normal form)
    bad = api.post(f"{API}/users", headers=admin, json={"username": "u2", "roles": [CLERK], "email": "not an address"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert _ok(api.get(f"{API}/users", headers=admin))["total"] == 2  # nothing was created
    assert _ok(api.patch(f"{API}/users/u1", headers=admin, json={"email": "new@example.go.th"}))["email"] == (
        "new@example.go.th"
    )
    assert _ok(api.patch(f"{API}/users/u1", headers=admin, json={"roles": [CLERK, HEAD]}))["email"] == (
        "new@example.go.th"  # a PATCH without `email` keeps it
    )
    assert _ok(api.get(f"{API}/users/u1", headers=admin))["email"] == "new@example.go.th"
    assert api.patch(f"{API}/users/u1", headers=admin, json={"email": "a@@b"}).status_code == 422
    assert _ok(api.patch(f"{API}/users/u1", headers=admin, json={"email": None}))["email"] is None
    trail = _ok(api.get(f"{API}/audit/admin?limit=100", headers=admin))["items"]
    changes = [e["data"] for e in trail if e["type"] == "user_email_changed"]
    assert changes == [{"username": "u1", "email": True}, {"username": "u1", "email": False}]  # never the address

    monkeypatch.setenv("MSO_FLOW_DATABASE_URL", notify.settings.database_url)
    monkeypatch.setenv("MSO_FLOW_AUDIT_SIGNING_KEY_FILE", str(notify.settings.audit_signing_key_file))
    get_settings.cache_clear()
    try:
        assert cli.main(["users", "create", "u3", "--role", CLERK, "--email", "u3@example.go.th"]) == 0
        assert cli.main(["users", "set-email", "u1", "u1@example.go.th"]) == 0
        assert cli.main(["users", "set-email", "u3"]) == 0
        assert cli.main(["users", "set-email", "u1", "nope"]) == 1
    finally:
        get_settings.cache_clear()
    assert "ที่อยู่อีเมลไม่ถูกต้อง" in capsys.readouterr().err
    assert _ok(api.get(f"{API}/users/u1", headers=admin))["email"] == "u1@example.go.th"
    assert _ok(api.get(f"{API}/users/u3", headers=admin))["email"] is None


def test_notification_settings(api, person):
    clerk = person("clerk1", CLERK)
    nobody = person("clerk2", CLERK, email=False)
    assert _ok(api.get(f"{API}/me/notification-settings", headers=clerk)) == {
        "email": "immediate",
        "address": "clerk1@example.go.th",
    }
    assert _ok(api.get(f"{API}/me/notification-settings", headers=nobody)) == {"email": "immediate", "address": None}
    assert _ok(api.put(f"{API}/me/notification-settings", headers=clerk, json={"email": "off"}))["email"] == "off"
    assert _ok(api.get(f"{API}/me/notification-settings", headers=clerk))["email"] == "off"
    for body in ({"email": "weekly"}, {"email": "off", "extra": 1}, {}):
        refused = api.put(f"{API}/me/notification-settings", headers=clerk, json=body)
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
