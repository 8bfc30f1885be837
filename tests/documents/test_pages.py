"""Documents in the web app (TestClient, real database, real สารบรรณ BPMN): แนบไฟล์ on the task page as a plain
multipart form with its CSRF token, the required file field refused beside it, the case page listing type, size,
who, when (Thai date, Buddhist year) and versions with a PDF's first page, a new version and a withdrawal with
its reason; the download's headers; outsiders refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.documents import files
from tests.documents.conftest import CLERK, HEAD, OWNER, THAI_NAME
from tests.web.conftest import login, plain
from tests.web.conftest import person as person  # the fixture


def _task_link(html: str, name: str) -> str:
    match = re.search(rf'href="/app/tasks/([0-9a-f-]+)">{re.escape(name)}</a>', html)
    assert match, f"no link to {name}"
    return match[1]


def _send(client: TestClient, task_id: str, token: str, **data: Any) -> Any:
    return client.post(f"/app/tasks/{task_id}/complete", data={"csrf_token": token, **data}, follow_redirects=False)


@pytest.fixture
def at_register(client, saraban, person):
    """The clerk's case at step ๓ (claimed through the pages); returns (instance id, task id, CSRF token)."""
    person("clerk1", CLERK)
    person("head1", HEAD)
    person("owner1", OWNER)
    token = login(client, "clerk1")
    started = client.post(f"/app/processes/{saraban}/start", data={"csrf_token": token}, follow_redirects=False)
    iid = started.headers["location"].rsplit("/", 1)[1]
    for name, data in (
        ("สารบรรณกลางรับหนังสือ", {"subject": "ขอความอนุเคราะห์", "secrecy": "normal", "speed": "urgent"}),
        ("ตรวจสอบความถูกต้องและครบถ้วนของหนังสือ", {"documents_complete": "true"}),
    ):
        task_id = _task_link(plain(client.get(f"/app/instances/{iid}")), name)
        client.post(f"/app/tasks/{task_id}/claim", data={"csrf_token": token})
        assert _send(client, task_id, token, **data).status_code == 303
    task_id = _task_link(
        plain(client.get(f"/app/instances/{iid}")), "ลงรับและสแกนหรือแนบไฟล์หนังสือเข้าระบบงานสารบรรณอิเล็กทรอนิกส์"
    )
    client.post(f"/app/tasks/{task_id}/claim", data={"csrf_token": token})
    return iid, task_id, token


def test_a_clerk_attaches_the_scanned_letter_and_the_head_reads_it(client, at_register):
    iid, task_id, token = at_register
    page = plain(client.get(f"/app/tasks/{task_id}"))
    assert '<label for="u-letter_file">ไฟล์หนังสือ (สแกนหรือไฟล์)</label>' in page
    assert 'enctype="multipart/form-data"' in page and 'accept="application/pdf,image/*"' in page
    assert "แนบไฟล์" in page

    refused = _send(client, task_id, token)
    assert refused.status_code == 422
    assert re.search(r'id="e-letter_file">ต้องแนบไฟล์ ไฟล์หนังสือ', plain(refused)), plain(refused)

    letter = files.scanned_letter()
    no_csrf = client.post(
        f"/app/tasks/{task_id}/documents?field=letter_file",
        data={"field": "letter_file"},
        files={"file": (THAI_NAME, letter, "application/pdf")},
    )
    assert no_csrf.status_code == 403
    wrong = client.post(
        f"/app/tasks/{task_id}/documents?field=letter_file",
        data={"csrf_token": token, "field": "letter_file"},
        files={"file": ("หนังสือ.pdf", files.windows_exe(), "application/pdf")},
    )
    assert wrong.status_code == 415
    assert re.search(r'id="e-letter_file">ไม่รับไฟล์ชนิด', plain(wrong)), plain(wrong)
    attached = client.post(
        f"/app/tasks/{task_id}/documents?field=letter_file",
        data={"csrf_token": token, "field": "letter_file"},
        files={"file": (THAI_NAME, letter, "application/pdf")},
        follow_redirects=False,
    )
    assert attached.status_code == 303, attached.text
    assert attached.headers["location"] == f"/app/tasks/{task_id}#documents"
    page = plain(client.get(f"/app/tasks/{task_id}"))
    assert THAI_NAME in page and "PDF" in page
    assert 'id="u-letter_file"' not in page  # one file for this field: no second upload form
    assert _send(client, task_id, token).status_code == 303

    case = client.get(f"/app/instances/{iid}")
    html = plain(case)
    assert "frame-src 'self'" in case.headers["content-security-policy"]
    assert "x-frame-options" in case.headers
    assert THAI_NAME in html and "ฉบับที่ 1" in html and "แนบโดย clerk1" in html
    assert re.search(r"เมื่อ \d{1,2} [ก-๙.]+ 25\d\d \d\d:\d\d", html)  # Thai date, Buddhist year
    assert "/preview.png" in html and "<iframe sandbox" in html
    document_id = re.search(r'/app/documents/([0-9a-f-]+)/content"', html)[1]
    preview = client.get(f"/app/documents/{document_id}/preview.png")
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")
    pages = client.get(f"/app/documents/{document_id}/pages")  # what the sandboxed frame shows
    assert pages.status_code == 200 and f"/app/documents/{document_id}/preview.png?page=1" in pages.text
    assert "sandbox" in pages.headers["content-security-policy"] and "script" not in pages.text
    assert client.get(f"/app/documents/{document_id}/preview.png?page=2").status_code == 404
    inline = client.get(f"/app/documents/{document_id}/content?inline=1")
    assert inline.headers["content-disposition"].startswith("inline;")
    assert "frame-ancestors 'self'" in inline.headers["content-security-policy"]
    assert inline.headers["x-frame-options"] == "SAMEORIGIN"
    download = client.get(f"/app/documents/{document_id}/content")
    assert download.content == letter and download.headers["content-disposition"].startswith("attachment;")
    assert "frame-ancestors 'none'" in download.headers["content-security-policy"]

    # step ๔ to the head of section, who opens the letter on step ๕ and adds a signed version
    sort_id = _task_link(plain(client.get(f"/app/instances/{iid}")), "คัดแยกหนังสือส่งหน่วยงาน/บุคคลที่เกี่ยวข้อง")
    client.post(f"/app/tasks/{sort_id}/claim", data={"csrf_token": token})
    assert _send(client, sort_id, token, importance="important").status_code == 303
    head_token = login(client, "head1")
    html = plain(client.get(f"/app/instances/{iid}"))
    assert THAI_NAME in html and "เพิ่มฉบับใหม่" in html and "ถอนเอกสาร" not in html  # the clerk attached it
    assert client.get(f"/app/documents/{document_id}/content").content == letter
    signed = files.scanned_letter("signed")
    added = client.post(
        f"/app/documents/{document_id}/versions",
        data={"csrf_token": head_token},
        files={"file": ("หนังสือ ลงนาม.pdf", signed, "application/pdf")},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    html = plain(client.get(f"/app/instances/{iid}"))
    assert "ฉบับที่ 2" in html and "ฉบับก่อนหน้า (1)" in html and "เพิ่มฉบับใหม่ของเอกสาร" in html
    assert client.get(f"/app/documents/{document_id}/content?version=1").content == letter

    outsider_token = login(client, "owner1")
    assert "เอกสาร" not in plain(client.get(f"/app/instances/{iid}")).split("ความคืบหน้า")[0].split("งานที่รออยู่")[1]
    assert client.get(f"/app/documents/{document_id}/content").status_code == 403
    assert client.get(f"/app/documents/{document_id}/preview.png").status_code == 403
    withdraw = client.post(f"/app/documents/{document_id}/withdraw", data={"csrf_token": outsider_token, "reason": "x"})
    assert withdraw.status_code == 403
    assert client.get("/app/documents/nope/content").status_code == 404

    clerk_token = login(client, "clerk1")
    withdrawn = client.post(
        f"/app/documents/{document_id}/withdraw",
        data={"csrf_token": clerk_token, "reason": "สแกนผิดหน้า"},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    html = plain(client.get(f"/app/instances/{iid}"))
    assert "ถอนแล้ว" in html and "เหตุผล: สแกนผิดหน้า" in html and "ถอนเอกสาร" in html  # the timeline says so


def test_the_task_page_offers_no_upload_to_whom_may_not_attach(client, at_register):
    _, task_id, _ = at_register
    login(client, "owner1")
    page = client.get(f"/app/tasks/{task_id}")
    assert page.status_code == 403
    assert 'enctype="multipart/form-data"' not in plain(page)
