"""Documents in a real browser: Debian's Chromium driven by Playwright against `mso-flow serve` (SQLite and
PostgreSQL). A clerk attaches a scanned letter (a real PDF with a Thai name) at step ๓ of สารบรรณ, the head of
section opens it on step ๕ (its first page previewed, the download keeping its Thai name) and drops a signed
version on the case page; an outsider gets 403/404 on every face (web, v1, Camunda); the audit chain verifies with
each version's SHA-256; sending the step without its file is refused beside the field."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.documents.files import scanned_letter
from tests.live import LiveService
from tests.web.conftest import CHROMIUM, CLERK, HEAD, OWNER, PASSWORD, _database, browser  # noqa: F401
from tests.web.test_browser import _claim, _open, _person, _send

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the distribution's Chromium (.ci/run installs it)"),
]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
THAI_NAME = "หนังสือเข้า พม 0201-555.pdf"
REGISTER = "ลงรับและสแกนหรือแนบไฟล์หนังสือเข้าระบบงานสารบรรณอิเล็กทรอนิกส์"
REVIEW = "สารบรรณพิจารณาถ่วงดุลเรื่องเพื่อส่งต่อไปบุคคล/หน่วยงานเจ้าของเรื่อง/เสนอความเห็นต่อผู้บังคับบัญชา"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    from tests.conftest import BACKENDS, SARABAN
    from tests.live import live_service

    if request.param not in BACKENDS:
        pytest.skip(f"{request.param} is not among MSO_FLOW_TEST_BACKENDS")
    work = tmp_path_factory.mktemp("documents-browser")
    (work / "bpmn" / "central").mkdir(parents=True)
    (work / "bpmn" / "central" / SARABAN.name).write_bytes(SARABAN.read_bytes())
    with (
        _database(request.param, work) as database_url,
        live_service(
            database_url, work, workers=1, bpmn_dir=work / "bpmn", extra_env={"MSO_FLOW_BACKGROUND": "false"}
        ) as live,
    ):
        tokens = {}
        with live.client() as api:
            for username, role in (("clerk1", CLERK), ("head1", HEAD), ("owner1", OWNER)):
                body = {"username": username, "roles": [role], "password": PASSWORD, "force": True}
                created = api.post("/api/v1/users", json=body)
                assert created.status_code == 201, created.text
                tokens[username] = created.json()["token"]
        live.tokens = tokens  # type: ignore[attr-defined]
        yield live


def _drop(page, selector: str, name: str, data: bytes) -> None:
    """Drop a file on an element, as a person dragging it from their desktop does."""
    page.eval_on_selector(
        selector,
        """(form, [name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: "application/pdf"}));
            form.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
            form.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [name, base64.b64encode(data).decode()],
    )


def test_a_scanned_letter_goes_from_the_clerk_to_the_head_of_section(service, browser):  # noqa: F811
    letter, signed = scanned_letter("MSO 0201/555"), scanned_letter("MSO 0201/555 signed", pages=2)
    clerk_context, clerk = _person(browser, service, "clerk1")
    head_context, head = _person(browser, service, "head1")
    outsider_context, outsider = _person(browser, service, "owner1")
    try:
        clerk.goto("/app/processes/central_saraban")
        clerk.get_by_label("เลขที่อ้างอิง").fill("พม 0201/555")
        clerk.get_by_role("button", name="เริ่มกระบวนงาน").click()
        expect(clerk.get_by_text("พม 0201/555")).to_be_visible()
        instance_url = clerk.url
        instance_id = instance_url.rsplit("/", 1)[1]
        clerk.locator(".list a", has_text="สารบรรณกลางรับหนังสือ").first.click()
        _claim(clerk)
        clerk.get_by_label("เรื่อง", exact=True).fill("ขอความอนุเคราะห์ข้อมูลสถิติ")
        clerk.get_by_label("ชั้นความเร็ว").select_option("urgent")
        _send(clerk)
        _open(clerk, "ตรวจสอบความถูกต้องและครบถ้วนของหนังสือ")
        _claim(clerk)
        clerk.get_by_role("group", name="หนังสือครบถ้วนและถูกต้อง").get_by_label("ใช่", exact=True).check()
        _send(clerk)

        _open(clerk, REGISTER)
        _claim(clerk)
        clerk.get_by_role("button", name="ส่งงาน").click()  # without the letter's file
        expect(clerk.locator("#e-letter_file")).to_contain_text("ต้องแนบไฟล์ ไฟล์หนังสือ")
        clerk.get_by_label("ไฟล์หนังสือ (สแกนหรือไฟล์)").set_input_files(
            {"name": THAI_NAME, "mimeType": "application/pdf", "buffer": letter}
        )
        clerk.locator("form[action*='field=letter_file']").get_by_role("button", name="แนบไฟล์").click()
        expect(clerk.get_by_role("link", name=THAI_NAME)).to_be_visible()
        expect(clerk.get_by_label("ไฟล์หนังสือ (สแกนหรือไฟล์)")).to_have_count(0)  # one file for the field
        _send(clerk)
        _open(clerk, "คัดแยกหนังสือส่งหน่วยงาน/บุคคลที่เกี่ยวข้อง")
        _claim(clerk)
        clerk.get_by_label("ประเภทเรื่อง").select_option("important")
        _send(clerk)

        _open(head, REVIEW)
        head.get_by_role("link", name="ดูความคืบหน้า").click()
        document = head.locator("article.document", has_text=THAI_NAME)
        expect(document).to_contain_text("PDF")
        expect(document).to_contain_text("แนบโดย clerk1")
        expect(document).to_contain_text(re.compile(r"\d{1,2} [ก-๙.]+ 25\d\d"))  # Thai date, Buddhist year
        preview = document.get_by_role("img", name=f"หน้าแรกของ {THAI_NAME}")
        expect(preview).to_be_visible()
        head.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=preview.element_handle())
        expect(document.locator("iframe[sandbox]")).to_have_count(1)
        with head.expect_download() as download:
            document.get_by_role("link", name=THAI_NAME).click()
        assert download.value.suggested_filename == THAI_NAME
        assert Path(download.value.path()).read_bytes() == letter

        _drop(head, f"article.document:has-text('{THAI_NAME}') form.upload", "หนังสือ ลงนามแล้ว.pdf", signed)
        expect(head.locator("article.document").first).to_contain_text("ฉบับที่ 2")
        expect(head.locator(".timeline")).to_contain_text("เพิ่มฉบับใหม่ของเอกสาร")

        # the outsider: nothing on the case page, and 403/404 on every face
        outsider.goto(instance_url)
        expect(outsider.locator("article.document")).to_have_count(0)
        document_id = head.locator("article.document h3").first.get_attribute("id").removeprefix("d-")
        for path in (f"/app/documents/{document_id}/content", f"/app/documents/{document_id}/preview.png"):
            assert outsider_context.request.get(f"{service.url}{path}").status == 403
        assert outsider_context.request.get(f"{service.url}/app/documents/nope/content").status == 404
        token = service.tokens["owner1"]
        with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {token}"}) as api:
            assert api.get(f"/api/v1/documents/{document_id}/content").status_code == 403
            assert api.get(f"/api/v1/process-instances/{instance_id}/documents").status_code == 403
            assert api.get("/api/v1/documents/nope").status_code == 404
            basic = base64.b64encode(f"owner1:{token}".encode()).decode()
            tasks = api.get("/api/v1/tasks", params={"process_instance_id": instance_id}).json()["items"]
            assert tasks == []  # the outsider sees none of its tasks
        with service.client() as admin:
            [task] = admin.get("/api/v1/tasks", params={"process_instance_id": instance_id}).json()["items"]
            camunda = httpx.get(
                f"{service.url}/engine-rest/task/{task['id']}/attachment", headers={"Authorization": f"Basic {basic}"}
            )
            assert camunda.status_code == 403 and camunda.json()["type"] == "AuthorizationException"

            audit = admin.get(f"/api/v1/process-instances/{instance_id}/audit", params={"limit": 500}).json()
            hashes = [e["data"]["sha256"] for e in audit["items"] if e["type"].startswith("document_")]
            assert hashes == [hashlib.sha256(letter).hexdigest(), hashlib.sha256(signed).hexdigest()]
            assert admin.get(f"/api/v1/process-instances/{instance_id}/audit/verify").json()["ok"] is True
    finally:
        for context in (clerk_context, head_context, outsider_context):
            context.close()
