"""The bell and the notifications page of the web app (TestClient; the browser test is in test_browser.py):
the unread count in every page's header, the list, marking read with the session's CSRF token, the e-mail
setting, the admins' delivery page, and the e-mail field of the users page."""

from __future__ import annotations

import re

from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.notifications import loop
from mso_flow.services.platform.context import SYSTEM, Caller
from tests.conftest import SARABAN
from tests.web.conftest import CLERK, csrf_of, login, plain


def _case(services, business_key: str) -> None:
    instances.start(services, Caller("e-office", frozenset({"integrator"})), "central_saraban", business_key, {})


def _bell(html: str) -> str:
    match = re.search(r'<a class="bell"[^>]*aria-label="([^"]+)"', html)
    assert match, "no bell in the header"
    return match[1]


def test_the_bell_counts_unread_notifications_and_the_page_marks_them_read(client, services, person):
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", SARABAN.read_bytes())])
    person("clerk1", CLERK)
    _case(services, "พม 0201/1")
    _case(services, "พม 0201/2")
    loop.run_once(services)  # no relay: in the app only
    login(client, "clerk1")
    inbox = client.get("/app/")
    assert _bell(inbox.text) == "การแจ้งเตือน ยังไม่ได้อ่าน 2 รายการ"

    listing = client.get("/app/notifications")
    text = plain(listing)
    assert listing.status_code == 200 and "<h1>การแจ้งเตือน</h1>" in text
    assert text.count('<strong class="new">ใหม่</strong>') == 2  # unread says so in words, not colour alone
    assert "เลขที่ พม 0201/1" in text and "งานใหม่: สารบรรณกลางรับหนังสือ" in text
    ids = re.findall(r'action="/app/notifications/([0-9a-f-]{36})/read"', listing.text)
    assert len(ids) == 2

    refused = client.post(f"/app/notifications/{ids[0]}/read", data={}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    done = client.post(
        f"/app/notifications/{ids[0]}/read", data={"csrf_token": csrf_of(listing.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    again = client.get("/app/notifications")
    assert _bell(again.text) == "การแจ้งเตือน ยังไม่ได้อ่าน 1 รายการ"
    assert client.get("/app/notifications/count").json() == {"unread": 1}
    client.post("/app/notifications/read-all", data={"csrf_token": csrf_of(again.text)})
    assert client.get("/app/notifications/count").json() == {"unread": 0}
    assert "ใหม่</strong>" not in client.get("/app/notifications").text


def test_the_email_setting_and_the_delivery_page(client, services, person):
    person("clerk1", CLERK)
    person("boss", "admin")
    token = login(client, "clerk1")
    page = client.get("/app/notifications").text
    assert "ยังไม่มีที่อยู่อีเมล" in page and '<label for="email-mode">รับการแจ้งเตือนทางอีเมล</label>' in page
    saved = client.post("/app/notifications/settings", data={"csrf_token": token, "email": "digest"})
    assert saved.status_code == 200 and "บันทึกการตั้งค่าแล้ว" in saved.text
    assert 'value="digest" selected' in saved.text
    bad = client.post("/app/notifications/settings", data={"csrf_token": token, "email": "weekly"})
    assert bad.status_code == 422
    assert client.get("/app/notifications/deliveries").status_code == 403
    assert "สถานะการส่งอีเมลแจ้งเตือน" not in client.get("/app/notifications").text

    login(client, "boss")
    deliveries = client.get("/app/notifications/deliveries")
    assert deliveries.status_code == 200 and "<h1>สถานะการส่งอีเมลแจ้งเตือน</h1>" in deliveries.text


def test_the_users_page_takes_an_email(client, services, person):
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", SARABAN.read_bytes())])
    person("boss", "admin")
    token = login(client, "boss")
    form = {"csrf_token": token, "username": "clerk9", "roles": CLERK, "password": "", "email": "clerk9@example.go.th"}
    created = client.post("/app/users", data=form)
    assert created.status_code == 201 and ">clerk9@example.go.th</td>" in created.text
    wrong = client.post("/app/users", data=form | {"username": "clerk10", "email": "not-an-address"})
    assert wrong.status_code == 422 and "ที่อยู่อีเมลไม่ถูกต้อง" in wrong.text
    assert '<label for="new-email">' in wrong.text
