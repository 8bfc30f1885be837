"""Staff and heads of section in Chromium against the live service (SQLite and PostgreSQL): a clerk delegates a
task and the delegate gives it back, a head of section assigns a clerk's task (confirmed in Thai, shown as
assigned, not claimed), and the cases page finds a case by part of its business key; every page on the way passes
axe-core (no serious or critical WCAG 2.1 AA violation) and fits a 390 px phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import CHROMIUM, CLERK, HEAD, PASSWORD, browser_login
from tests.web.test_browser_quality import DESKTOP, _api, _check_page, axe_source  # noqa: F401 (a fixture)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the distribution's Chromium (.ci/run installs it)"),
]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def _people(service: Any) -> str:
    """A second clerk and a head of section who supervises; a case waiting at its first step (its task id)."""
    with _api(service) as admin:
        for username, roles in (("clerk2", [CLERK]), ("head2", [HEAD, "supervisor"])):
            made = admin.post("/api/v1/users", json={"username": username, "roles": roles, "password": PASSWORD})
            assert made.status_code in (201, 409), made.text
    with _api(service, "clerk1") as clerk:
        started = clerk.post(
            "/api/v1/process-definitions/central_saraban/start", json={"business_key": "พม 0201/ฝากงาน-9"}
        )
        instance_id = started.raise_for_status().json()["id"]
        return clerk.get("/api/v1/tasks", params={"process_instance_id": instance_id}).json()["items"][0]["id"]


def test_delegate_resolve_assign_and_find_the_case(service, browser, axe_source):  # noqa: F811
    task_id = _people(service)
    problems: dict[str, list[str]] = {}
    contexts = []
    try:
        context, clerk = browser_login(browser, service, "clerk1", viewport=DESKTOP)
        contexts.append(context)
        clerk.goto(f"/app/tasks/{task_id}")
        clerk.get_by_role("button", name="รับงาน").click()
        expect(clerk.get_by_role("status")).to_have_text("รับงานแล้ว")
        _check_page(clerk, axe_source, "task (held, may delegate)", problems)
        clerk.get_by_label("ผู้รับฝากงาน").select_option("clerk2")
        clerk.get_by_label("เหตุผล (ถ้ามี)").fill("ลาประชุมครึ่งวัน")
        clerk.get_by_role("button", name="ฝากงาน", exact=True).click()
        expect(clerk.get_by_role("status")).to_have_text("ฝากงานให้ clerk2 ทำแทนแล้ว")
        expect(clerk.get_by_text("ฝากให้ clerk2 ทำแทน clerk1")).to_be_visible()

        context, delegate = browser_login(browser, service, "clerk2", viewport=DESKTOP)
        contexts.append(context)
        delegate.goto(f"/app/tasks/{task_id}")
        expect(delegate.get_by_role("heading", name="ส่งงานคืนเจ้าของ")).to_be_visible()
        _check_page(delegate, axe_source, "task (delegated: resolve)", problems)
        delegate.get_by_label("บันทึกถึงเจ้าของงาน (ถ้ามี)").fill("ตรวจเอกสารแนบแล้ว")
        delegate.get_by_role("button", name="ส่งคืนเจ้าของงาน").click()
        expect(delegate.get_by_role("status")).to_have_text("ส่งงานคืน clerk1 แล้ว")

        context, head = browser_login(browser, service, "head2", viewport=DESKTOP)
        contexts.append(context)
        head.goto(f"/app/tasks/{task_id}")
        _check_page(head, axe_source, "task (head: assign)", problems)
        head.get_by_label("ผู้รับงาน").select_option("clerk2")
        head.get_by_role("button", name="มอบหมายงาน").click()
        expect(head.get_by_role("status")).to_have_text("มอบหมายงานให้ clerk2 แล้ว")
        expect(head.get_by_text("มอบหมายให้ clerk2 แล้ว (โดย head2)")).to_be_visible()

        head.get_by_role("link", name="ค้นหาเรื่อง").click()
        head.get_by_label("เลขที่อ้างอิง").fill("ฝากงาน")
        head.get_by_role("button", name="ค้นหา").click()
        expect(head.get_by_role("status")).to_have_text("พบ 1 เรื่อง")
        _check_page(head, axe_source, "cases", problems)
        head.get_by_role("link", name="พม 0201/ฝากงาน-9").click()
        expect(head.get_by_role("heading", name="การบริหารงานสารบรรณ")).to_be_visible()

        with _api(service, "clerk1") as api:
            task = api.get(f"/api/v1/tasks/{task_id}").json()
        assert task["assignee"] == "clerk2" and task["delegation_state"] is None
    finally:
        for context in contexts:
            context.close()
    assert not problems, "\n".join(f"{page}: {p}" for page, found in problems.items() for p in found)
