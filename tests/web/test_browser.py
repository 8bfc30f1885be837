"""The web app in a real browser: Debian's Chromium driven by Playwright against the live service
(`mso-flow serve` on SQLite and on PostgreSQL). A clerk and a head of section, each in their own browser
context, work the สารบรรณ process from start to end with nothing but the app; an outsider sees no form; a wrong
password, a form error and a CSRF-less POST are refused."""

from __future__ import annotations

import re

import pytest

from tests.documents.files import scanned_letter
from tests.web.conftest import CHROMIUM, browser_login

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the distribution's Chromium (.ci/run installs it)"),
]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
_person = browser_login


def _open(page, task_name: str) -> None:
    page.goto("/app/")
    page.get_by_role("link", name=task_name, exact=True).first.click()
    expect(page.get_by_role("heading", name=task_name)).to_be_visible()


def _claim(page) -> None:
    page.get_by_role("button", name="รับงาน").click()
    expect(page.get_by_role("button", name="ส่งงาน")).to_be_visible()


def _send(page) -> None:
    page.get_by_role("button", name="ส่งงาน").click()
    expect(page.get_by_text("ส่งงานเรียบร้อยแล้ว")).to_be_visible()


def test_clerk_and_head_work_saraban_from_start_to_end(service, browser):
    clerk_context, clerk = _person(browser, service, "clerk1")
    head_context, head = _person(browser, service, "head1")
    try:
        response = clerk.goto("/app/processes")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        clerk.get_by_label("ค้นหากระบวนงาน").fill("สารบรรณ")
        clerk.get_by_role("button", name="ค้นหา").click()
        clerk.get_by_role("link", name="การบริหารงานสารบรรณ").click()
        clerk.get_by_label("เลขที่อ้างอิง").fill("พม 0201/555")
        clerk.get_by_role("button", name="เริ่มกระบวนงาน").click()
        expect(clerk.get_by_text("พม 0201/555")).to_be_visible()
        instance_url = clerk.url

        _open(clerk, "สารบรรณกลางรับหนังสือ")
        expect(clerk.get_by_text("รับหนังสือจากเจ้าของเรื่อง", exact=False)).to_be_visible()
        _claim(clerk)
        clerk.get_by_label("ชั้นความเร็ว").select_option("urgent")
        clerk.get_by_role("button", name="ส่งงาน").click()  # เรื่อง is required and empty
        expect(clerk.locator("#e-subject")).to_contain_text("ต้องกรอก เรื่อง")
        expect(clerk.get_by_label("ชั้นความเร็ว")).to_have_value("urgent")
        clerk.get_by_label("เรื่อง", exact=True).fill("ขอความอนุเคราะห์ข้อมูลสถิติ")
        _send(clerk)

        _open(clerk, "ตรวจสอบความถูกต้องและครบถ้วนของหนังสือ")
        _claim(clerk)
        clerk.get_by_role("group", name="หนังสือครบถ้วนและถูกต้อง").get_by_label("ใช่", exact=True).check()
        _send(clerk)
        _open(clerk, "ลงรับและสแกนหรือแนบไฟล์หนังสือเข้าระบบงานสารบรรณอิเล็กทรอนิกส์")
        _claim(clerk)
        clerk.get_by_label("ไฟล์หนังสือ (สแกนหรือไฟล์)").set_input_files(
            {"name": "หนังสือเข้า.pdf", "mimeType": "application/pdf", "buffer": scanned_letter()}
        )
        clerk.get_by_role("button", name="แนบไฟล์").first.click()
        expect(clerk.get_by_role("link", name="หนังสือเข้า.pdf")).to_be_visible()
        _send(clerk)
        _open(clerk, "คัดแยกหนังสือส่งหน่วยงาน/บุคคลที่เกี่ยวข้อง")
        _claim(clerk)
        clerk.get_by_label("ประเภทเรื่อง").select_option("important")
        _send(clerk)

        review = "สารบรรณพิจารณาถ่วงดุลเรื่องเพื่อส่งต่อไปบุคคล/หน่วยงานเจ้าของเรื่อง/เสนอความเห็นต่อผู้บังคับบัญชา"
        _open(head, review)
        _claim(head)
        head.get_by_label("ความเห็น").fill("เห็นควรส่งกองยุทธศาสตร์")
        head.get_by_role("button", name="เพิ่มความเห็น").click()
        expect(head.get_by_text("เห็นควรส่งกองยุทธศาสตร์")).to_be_visible()
        head.get_by_label("ข้อสั่งการของผู้บังคับบัญชา").fill("ให้กองยุทธศาสตร์ดำเนินการ")
        _send(head)

        _open(clerk, "สแกนและบันทึกข้อสั่งการเข้าระบบสารบรรณอิเล็กทรอนิกส์")
        _claim(clerk)
        _send(clerk)
        _open(clerk, "ส่งหนังสือให้หน่วยงานที่เกี่ยวข้อง")
        _claim(clerk)
        _send(clerk)

        clerk.goto(instance_url)
        expect(clerk.locator(".facts")).to_contain_text("เสร็จสิ้น")
        expect(clerk.locator(".timeline")).to_contain_text("head1")
        expect(clerk.locator(".diagram svg")).to_be_visible()
        expect(clerk.get_by_text("ไม่มีงานที่รออยู่")).to_be_visible()
    finally:
        clerk_context.close()
        head_context.close()


def test_outsider_sees_no_form_and_csrfless_posts_are_refused(service, browser):
    clerk_context, clerk = _person(browser, service, "clerk1")
    outsider_context, outsider = _person(browser, service, "owner1")
    try:
        clerk.goto("/app/processes/central_saraban")
        clerk.get_by_role("button", name="เริ่มกระบวนงาน").click()
        task_link = clerk.locator(".list a").first
        task_url = task_link.get_attribute("href")
        outsider.goto(task_url)
        expect(outsider.get_by_role("alert")).to_contain_text("ไม่มีสิทธิ์")
        expect(outsider.get_by_role("button", name="รับงาน")).to_have_count(0)
        expect(outsider.get_by_role("button", name="ส่งงาน")).to_have_count(0)
        expect(outsider.locator("form[action$='/complete']")).to_have_count(0)

        refused = clerk_context.request.post(f"{service.url}{task_url}/claim", form={"x": "1"})
        assert refused.status == 403
        clerk.goto(task_url)
        expect(clerk.get_by_role("button", name="รับงาน")).to_be_visible()  # the claim did not happen
    finally:
        clerk_context.close()
        outsider_context.close()


def test_a_letter_classed_secret_is_masked_for_the_admin_and_read_by_its_clerk(service, browser):
    clerk_context, clerk = _person(browser, service, "clerk1")
    admin_context, admin = _person(browser, service, "admin")
    try:
        clerk.goto("/app/processes/central_saraban")
        clerk.get_by_label("เลขที่อ้างอิง").fill("พม 0201/ลับ-1")
        clerk.get_by_role("button", name="เริ่มกระบวนงาน").click()
        expect(clerk.get_by_text("พม 0201/ลับ-1")).to_be_visible()
        instance_url = clerk.url
        clerk.locator(".list a", has_text="สารบรรณกลางรับหนังสือ").first.click()
        _claim(clerk)
        clerk.get_by_label("เรื่อง", exact=True).fill("สอบสวนวินัยข้าราชการ ก.")
        clerk.get_by_label("ชั้นความลับ").select_option("secret")
        clerk.get_by_label("ชั้นความเร็ว").select_option("normal")
        _send(clerk)

        admin.goto(instance_url)
        data = admin.locator("section", has=admin.get_by_role("heading", name="ข้อมูลของเรื่อง"))
        expect(data).to_contain_text("ปิดบัง")
        expect(admin.get_by_text("สอบสวนวินัยข้าราชการ ก.")).to_have_count(0)
        clerk.goto(instance_url)
        expect(clerk.get_by_text("สอบสวนวินัยข้าราชการ ก.")).to_be_visible()
        expect(clerk.get_by_role("button", name="ลบข้อมูลส่วนบุคคล")).to_have_count(0)  # a clerk may not erase

        officer_context, officer = _person(browser, service, "dpo1")
        try:
            officer.goto(instance_url)
            expect(officer.get_by_text("สอบสวนวินัยข้าราชการ ก.")).to_be_visible()
            officer.get_by_label("เหตุผล").fill("ครบกำหนดทำลายตามระเบียบงานสารบรรณ")
            officer.get_by_label("ยุติเรื่องที่ยังดำเนินการอยู่ก่อนลบ").check()
            officer.get_by_role("button", name="ลบข้อมูลส่วนบุคคล").click()
            expect(officer.get_by_text("ข้อมูลส่วนบุคคลของเรื่องนี้ถูกลบแล้ว")).to_be_visible()
            expect(officer.locator(".timeline")).to_contain_text("ลบข้อมูลส่วนบุคคล")
            expect(officer.get_by_text("สอบสวนวินัยข้าราชการ ก.")).to_have_count(0)
        finally:
            officer_context.close()
        clerk.goto(instance_url)
        expect(clerk.get_by_text("สอบสวนวินัยข้าราชการ ก.")).to_have_count(0)  # gone for its clerk too
    finally:
        clerk_context.close()
        admin_context.close()


def test_wrong_password_is_refused(service, browser):
    context = browser.new_context(base_url=service.url)
    try:
        page = context.new_page()
        page.goto("/app/login")
        page.get_by_label("ชื่อผู้ใช้").fill("clerk1")
        page.get_by_label("รหัสผ่าน").fill("ไม่ใช่รหัสผ่านนี้แน่นอน")
        page.get_by_role("button", name="เข้าสู่ระบบ").click()
        expect(page.get_by_text("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/app/login"))
        assert not [c for c in context.cookies() if c["name"] == "mso_session"]
    finally:
        context.close()
