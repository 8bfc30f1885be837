"""The operators' Cockpit through HTTP (TestClient, real database, real engine and BPMN, on SQLite and PostgreSQL):
an admin resolves an incident of a real failing process with a reason, migrates its case to a fixed version and
retries it (a retry that fails again says so and keeps the incident open), cancels a case only once the
confirmation is ticked; external-task locks, webhook attempts and deliveries out of attempts are shown; the audit
chains verify in Thai; an auditor reads every page without a form and is refused every action; staff are refused
the Cockpit."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mso_flow.domain import DefinitionSource
from mso_flow.engine.runtime import EngineError
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import incidents
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.instances import queries as instance_queries
from mso_flow.services.integrations import timers, webhook_delivery
from mso_flow.services.platform.context import SYSTEM
from mso_flow.settings import Settings
from tests.api.test_robustness import TIMED
from tests.conftest import ROOT
from tests.factory import approval
from tests.web.conftest import login, plain

LOAN = (ROOT / "tests" / "fixtures" / "camunda_loan.bpmn").read_bytes()
FAILING = "100 / (amount - 70000) > 0"  # divides by zero for 70000 only (the deployment's simulation tries others)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Webhooks may reach loopback here: a closed port on it is a real failing receiver."""
    return settings.model_copy(update={"webhook_allowed_networks": "127.0.0.0/8"})


def _failed_case(client: TestClient, staff: dict[str, str]) -> tuple[str, str]:
    """Start the approval and send 70000: its gateway fails; returns (instance id, incident id)."""
    started = client.post("/api/v1/process-definitions/test_approval/start", headers=staff, json={})
    assert started.status_code == 201, started.text
    instance = started.json()
    task_id = instance["active_tasks"][0]["id"]
    failed = client.post(f"/api/v1/tasks/{task_id}/complete", headers=staff, json={"variables": {"amount": 70000}})
    assert failed.status_code == 422 and failed.json()["element_id"] == "Gateway_enter", failed.text
    return instance["id"], failed.json()["incident_id"]


@pytest.fixture
def cockpit(client: TestClient, services: Any, person: Any, make_user: Any) -> dict[str, Any]:
    """The failing approval deployed, two failed cases, a loan waiting for a credit check locked by a worker, a
    webhook whose receiver refuses connections (one attempt made), and an admin, an auditor and a clerk."""
    definitions.deploy(services, SYSTEM, [("approval.bpmn", approval(condition=FAILING))])
    definitions.deploy(services, SYSTEM, [("camunda_loan.bpmn", LOAN)])
    staff = make_user("staff1", "เจ้าหน้าที่")
    worker = make_user("worker1", "integrator", "loan_officers")
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["*"], "secret": "s" * 32}
    assert client.post("/api/v1/webhooks", headers=worker, json=hook).status_code == 201
    first, first_incident = _failed_case(client, staff)
    second, second_incident = _failed_case(client, staff)
    loan = client.post("/api/v1/process-definitions/camunda_loan/start", headers=worker, json={}).json()["id"]
    body = {"worker_id": "credit-bot", "topics": [{"name": "credit-check", "lock_duration_ms": 600_000}]}
    locked = client.post("/api/v1/external-tasks/fetch-and-lock", headers=worker, json=body | {"max_tasks": 1})
    assert [t["process_instance_id"] for t in locked.json()] == [loan]
    webhook_delivery.deliver_due(services)  # port 9 refuses: an attempt and its error are recorded
    for username, role in (("admin1", "admin"), ("auditor1", "auditor"), ("clerk1", "เจ้าหน้าที่")):
        person(username, role)
    return {
        "first": first,
        "first_incident": first_incident,
        "second": second,
        "second_incident": second_incident,
        "loan": loan,
        "staff": staff,
    }


def _actions(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="(/app/cockpit[^"]*)"', html)


def test_admin_finds_the_incident_sees_its_element_and_resolves_it_with_a_reason(client, services, cockpit):
    token = login(client, "admin1")
    assert 'href="/app/cockpit">ศูนย์ควบคุม' in plain(client.get("/app/"))
    overview = plain(client.get("/app/cockpit"))
    assert "2 รายการที่ยังไม่แก้ไข" in overview and 'มีผู้ถืออยู่</a> <span class="meta">1 งาน' in overview

    listing = plain(client.get("/app/cockpit/incidents", params={"key": "test_approval", "unit": "หน่วยทดสอบ"}))
    assert "พบ 2 รายการ" in listing and listing.count('href="/app/cockpit/incidents/') == 2
    assert "เงื่อนไขหรือนิพจน์ประเมินค่าไม่ได้" in listing and "ยังไม่แก้ไข" in listing
    assert "พบ 0 รายการ" in plain(client.get("/app/cockpit/incidents", params={"unit": "ไม่มีหน่วยนี้"}))
    assert "พบ 0 รายการ" in plain(client.get("/app/cockpit/incidents", params={"state": "resolved"}))

    url = f"/app/cockpit/incidents/{cockpit['first_incident']}"
    page = plain(client.get(url))
    assert re.search(r'<g data-element-id="Gateway_enter" class="exclusiveGateway failed">', page), page
    assert "เกินวงเงินหรือไม่" in page and "ปิดเหตุขัดข้อง" in page and "ลองดำเนินการใหม่" in page

    empty = client.post(f"{url}/resolve", data={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 422 and 'role="alert"' in plain(empty) and "โปรดระบุเหตุผล" in plain(empty)
    assert incidents.get(services, SYSTEM, cockpit["first_incident"]).state == "open"

    reason = "ยกเลิกเรื่องแล้ว ผู้ขอยื่นใหม่ด้วยจำนวนเงินอื่น"
    done = client.post(f"{url}/resolve", data={"csrf_token": token, "reason": reason}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?done=resolved")
    page = plain(client.get(done.headers["location"]))
    assert "ปิดเหตุขัดข้องแล้ว" in page and reason in page and "admin1" in page and "ลองดำเนินการใหม่" not in page
    events, _ = instance_queries.audit(services, SYSTEM, cockpit["first"], 0, 50)
    resolved = [e for e in events if e.type == "incident_resolved"]
    assert [(e.actor, e.data["reason"]) for e in resolved] == [("admin1", reason)]
    again = client.post(f"{url}/resolve", data={"csrf_token": token, "reason": "อีกครั้ง"})
    assert again.status_code == 409
    retried = client.post(f"{url}/retry", data={"csrf_token": token})  # the page again, saying why
    assert retried.status_code == 409 and "เหตุขัดข้องนี้ได้รับการแก้ไขแล้ว" in plain(retried)
    assert 'role="alert"' in plain(retried) and "(incident is already resolved)" not in plain(retried)


def test_admin_migrates_the_failed_case_to_a_fixed_version_and_retries(client, services, cockpit):
    token = login(client, "admin1")
    url = f"/app/cockpit/incidents/{cockpit['second_incident']}"
    definitions.deploy(services, SYSTEM, [("approval.bpmn", approval(condition="amount > 50000"))])
    page = plain(client.get(url))
    assert "รุ่นล่าสุด 2" in page and f"/app/cockpit/instances/{cockpit['second']}/migrate?incident=" in page

    migrate = f"/app/cockpit/instances/{cockpit['second']}/migrate"
    confirm = plain(client.get(migrate, params={"incident": cockpit["second_incident"]}))
    assert 'name="confirm" type="checkbox" value="yes"' in confirm and ">รุ่น 2 (ล่าสุด)</option>" in confirm
    unconfirmed = client.post(migrate, data={"csrf_token": token, "version": "2"})
    assert unconfirmed.status_code == 422 and "โปรดทำเครื่องหมายยืนยันการย้ายรุ่น" in plain(unconfirmed)
    assert instance_queries.get(services, SYSTEM, cockpit["second"]).instance.definition_version == 1
    moved = client.post(
        migrate,
        data={"csrf_token": token, "version": "2", "confirm": "yes", "incident": cockpit["second_incident"]},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and moved.headers["location"] == f"{url}?done=migrated"
    assert instance_queries.get(services, SYSTEM, cockpit["second"]).instance.definition_version == 2

    retried = client.post(f"{url}/retry", data={"csrf_token": token}, follow_redirects=False)
    assert retried.status_code == 303 and retried.headers["location"].endswith("?done=retried")
    incident = incidents.get(services, SYSTEM, cockpit["second_incident"])
    assert incident.state == "resolved" and incident.resolution == "retried" and incident.resolved_by == "admin1"
    # on the fixed version the amount that failed goes through
    task_id = instance_queries.get(services, SYSTEM, cockpit["second"]).active_tasks[0].id
    sent = client.post(
        f"/api/v1/tasks/{task_id}/complete", headers=cockpit["staff"], json={"variables": {"amount": 70000}}
    )
    assert sent.status_code == 200, sent.text


def test_cancel_takes_a_reason_and_an_explicit_confirmation(client, services, cockpit):
    token = login(client, "admin1")
    running = plain(client.get("/app/cockpit/instances", params={"key": "test_approval"}))
    assert "กำลังดำเนินการ 2 เรื่อง" in running and "กรอกจำนวนเงิน" in running and "วินาที" in running
    assert f"/app/cockpit/instances/{cockpit['first']}/cancel" in running
    loan = plain(client.get("/app/cockpit/instances", params={"key": "camunda_loan"}))
    assert "รอระบบภายนอก credit-check" in loan

    url = f"/app/cockpit/instances/{cockpit['first']}/cancel"
    assert "ยืนยันว่าจะยกเลิกเรื่อง" in plain(client.get(url))
    unconfirmed = client.post(url, data={"csrf_token": token, "reason": "ยื่นซ้ำ"})
    assert unconfirmed.status_code == 422 and "โปรดทำเครื่องหมายยืนยันการยกเลิก" in plain(unconfirmed)
    no_reason = client.post(url, data={"csrf_token": token, "confirm": "yes"})
    assert no_reason.status_code == 422 and "โปรดระบุเหตุผลที่ยกเลิก" in plain(no_reason)
    assert instance_queries.get(services, SYSTEM, cockpit["first"]).instance.state == "running"

    done = client.post(url, data={"csrf_token": token, "reason": "ยื่นซ้ำ", "confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 303
    assert "ยกเลิกเรื่องแล้ว" in plain(client.get(done.headers["location"]))
    instance = instance_queries.get(services, SYSTEM, cockpit["first"]).instance
    assert instance.state == "cancelled" and instance.end_reason == "ยื่นซ้ำ" and instance.ended_by == "admin1"
    assert client.post(url, data={"csrf_token": token, "reason": "อีก", "confirm": "yes"}).status_code == 409


def test_external_tasks_webhook_attempts_and_audit_verification_read_in_thai(client, cockpit):
    login(client, "admin1")
    locked = plain(client.get("/app/cockpit/external-tasks", params={"show": "locked"}))
    assert "credit-check" in locked and "worker1" in locked and "credit-bot" in locked and "มีผู้ถืออยู่" in locked
    assert re.search(r"ถือถึง.*25\d\d \d\d:\d\d", locked, re.S)
    assert "ไม่มีงานของระบบภายนอกในสถานะนี้" in plain(client.get("/app/cockpit/external-tasks?show=no_retries"))

    hooks = plain(client.get("/app/cockpit/webhooks", params={"state": "pending"}))
    assert "http://127.0.0.1:9/hook" in hooks and "รอส่ง" in hooks and "1 ครั้ง" in hooks
    assert "เชื่อมต่อปลายทางไม่ได้ <code>refused</code>" in hooks  # the last error: the receiver refused
    assert "ไม่มีการส่งในสถานะนี้" in plain(client.get("/app/cockpit/webhooks", params={"state": "delivered"}))
    assert client.get("/app/cockpit/webhooks", params={"state": "nonsense"}).status_code == 200  # shows all

    audit = plain(client.get("/app/cockpit/audit", params={"instance_id": cockpit["loan"]}))
    assert audit.count("ถูกต้องครบถ้วน") == 2, audit
    unknown = client.get("/app/cockpit/audit", params={"instance_id": "no-such-case"})
    assert unknown.status_code == 404 and "ไม่พบกระบวนการที่ดำเนินการ" in plain(unknown)


def test_auditor_reads_every_page_without_a_form_and_is_refused_every_action(client, services, cockpit, make_user):
    auditor = make_user("auditor2", "auditor")  # the API answers him as the pages do
    found = client.get("/api/v1/incidents", headers=auditor, params={"state": "open"})
    assert found.status_code == 200 and found.json()["total"] == 2
    refused = client.post(
        f"/api/v1/incidents/{cockpit['first_incident']}/resolve", headers=auditor, json={"reason": "x"}
    )
    assert refused.status_code == 403
    token = login(client, "auditor1")
    assert 'href="/app/cockpit">ศูนย์ควบคุม' in plain(client.get("/app/"))
    incident = f"/app/cockpit/incidents/{cockpit['first_incident']}"
    for url in (
        "/app/cockpit",
        "/app/cockpit/incidents",
        incident,
        "/app/cockpit/instances",
        "/app/cockpit/external-tasks",
        "/app/cockpit/webhooks",
        f"/app/cockpit/audit?instance_id={cockpit['first']}",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert _actions(plain(page)) == [] and "ท่านดูได้อย่างเดียว" in plain(page), url
    assert "/cancel" not in plain(client.get("/app/cockpit/instances"))
    assert "Gateway_enter" in plain(client.get(incident))

    instance = f"/app/cockpit/instances/{cockpit['first']}"
    assert client.get(f"{instance}/cancel").status_code == 403
    assert client.get(f"{instance}/migrate").status_code == 403
    for url, data in (
        (f"{incident}/resolve", {"reason": "ตรวจแล้ว"}),
        (f"{incident}/resolve", {}),
        (f"{incident}/retry", {}),
        (f"{instance}/cancel", {"reason": "ตรวจแล้ว", "confirm": "yes"}),
        (f"{instance}/cancel", {}),
        (f"{instance}/migrate", {"version": "1", "confirm": "yes"}),
    ):
        refused = client.post(url, data={"csrf_token": token, **data})
        assert refused.status_code == 403, (url, refused.text)
    assert incidents.get(services, SYSTEM, cockpit["first_incident"]).state == "open"
    assert instance_queries.get(services, SYSTEM, cockpit["first"]).instance.state == "running"


@pytest.mark.parametrize("username", ["clerk1"])
def test_staff_are_refused_the_cockpit(client, cockpit, username):
    login(client, username)
    assert "/app/cockpit" not in plain(client.get("/app/"))
    for url in (
        "/app/cockpit",
        "/app/cockpit/incidents",
        f"/app/cockpit/incidents/{cockpit['first_incident']}",
        "/app/cockpit/instances",
        "/app/cockpit/external-tasks",
        "/app/cockpit/webhooks",
        "/app/cockpit/audit",
    ):
        assert client.get(url).status_code == 403, url
    assert client.get(f"/app/cockpit/instances/{cockpit['first']}/cancel").status_code in (403, 404)


def test_an_incident_without_a_case_shows_the_process_diagram_with_its_element(client, services, cockpit):
    """An incident at a start (or of a timer start) has no case: the diagram is the version's as designed."""
    with services.db.write() as session:
        [row] = [r for r, _ in definitions.listing(services, 0, 10, key="test_approval")[0]]
        definition = services.definitions.definition(session, row.id)
        error = EngineError("start failed", "Task_enter", "กรอกจำนวนเงิน", "expression", ("amount",))
        opened = incidents.open_incident(services, session, definition, error, "timer")
        incident_id = opened.id
    login(client, "admin1")
    page = plain(client.get(f"/app/cockpit/incidents/{incident_id}"))
    assert re.search(r'<g data-element-id="Task_enter" class="userTask failed">', page), page
    assert "เกิดขึ้นตอนเริ่มเรื่อง" in page and 'class="userTask active' not in page


TIMED_FAILING = TIMED.replace("BODY", "fee = missing + 1")  # the step after its timer fails on every run


def test_a_retry_that_fails_again_says_so_and_keeps_the_incident_open_with_the_count(client, services, cockpit):
    """A step after a timer fails; retrying without a fix runs it again, fails again: the page says so in Thai,
    the incident stays open and counts the retry, and the case is unchanged."""
    definitions.deploy(services, SYSTEM, [("timed.bpmn", TIMED_FAILING.encode())], DefinitionSource.FILE)
    started = instances.start(services, SYSTEM, "timed_script", None, {})
    time.sleep(1.1)  # the timer's real duration (PT1S) must have passed for the engine to fire it
    timers.fire_due(services)
    [incident] = incidents.listing(services, SYSTEM, incidents.IncidentFilter(instance_id=started.instance.id), 0, 9)[0]
    assert incident.element_id == "compute"
    trail = [e.type for e in instance_queries.audit(services, SYSTEM, started.instance.id, 0, 100)[0]]

    token = login(client, "admin1")
    url = f"/app/cockpit/incidents/{incident.id}"
    failed = client.post(f"{url}/retry", data={"csrf_token": token})
    page = plain(failed)
    assert failed.status_code == 409, page
    assert 'role="alert"' in page and "ลองใหม่แล้วยังไม่สำเร็จที่ขั้นตอน" in page and "ขั้นตอน คำนวณ" in page
    assert "ลองใหม่แล้ว</dt><dd>1 ครั้ง" in page and "ลองดำเนินการใหม่" in page  # still open: retry offered again
    again = incidents.get(services, SYSTEM, incident.id)
    assert again.state == "open" and again.retries == 1
    assert [e.type for e in instance_queries.audit(services, SYSTEM, started.instance.id, 0, 100)[0]] == trail
    assert instance_queries.get(services, SYSTEM, started.instance.id).instance.state == "running"


def test_a_delivery_out_of_attempts_is_listed_as_failed_with_its_last_error(client, services, cockpit):
    """The receiver refuses until the attempts run out: the delivery is ส่งไม่สำเร็จ, counted and filtered as such."""
    services.settings = services.settings.model_copy(update={"webhook_max_attempts": 2})
    services.clock = lambda: datetime.now(UTC) + timedelta(days=1)  # the backoff of the first attempt has passed
    webhook_delivery.deliver_due(services)
    login(client, "admin1")
    failed = plain(client.get("/app/cockpit/webhooks", params={"state": "failed"}))
    assert "ส่งไม่สำเร็จ (" in failed and "ส่งไม่สำเร็จ: 0 รายการ" not in failed
    assert '<strong class="late">ส่งไม่สำเร็จ</strong>' in failed and "http://127.0.0.1:9/hook" in failed
    assert "2 ครั้ง" in failed and "<code>refused</code>" in failed
    assert "ไม่มีการส่งในสถานะนี้" in plain(client.get("/app/cockpit/webhooks", params={"state": "delivered"}))
