"""The bell in a real browser: Debian's Chromium driven by Playwright against the live service (`mso-flow serve`
with its background loops, on SQLite and on PostgreSQL). A case reaches the clerk's role; the bell in the header
counts it, the notifications page lists it, and marking it read empties the bell."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS, SARABAN
from tests.live import LiveService, live_service
from tests.web.conftest import CHROMIUM, CLERK, PASSWORD, _database
from tests.web.test_browser import _person

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the distribution's Chromium (.ci/run installs it)"),
]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture(scope="module", params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    work = tmp_path_factory.mktemp("bell")
    bpmn = work / "bpmn" / "central"
    bpmn.mkdir(parents=True)
    shutil.copy(SARABAN, bpmn / SARABAN.name)
    with (
        _database(request.param, work) as database_url,
        live_service(database_url, work, workers=1, bpmn_dir=work / "bpmn") as live,
    ):
        yield live


def test_the_bell_counts_a_new_task_and_the_page_marks_it_read(service, browser):
    with service.client() as api:
        for username, roles in (("clerk1", [CLERK]), ("office", ["integrator"])):
            body = {"username": username, "roles": roles, "password": PASSWORD, "force": True}
            created = api.post("/api/v1/users", json=body)
            assert created.status_code == 201, created.text
            if username == "office":
                office = created.json()["token"]
    context, page = _person(browser, service, "clerk1")
    try:
        bell = page.locator("a.bell")
        expect(bell).to_have_attribute("aria-label", "การแจ้งเตือน ยังไม่ได้อ่าน 0 รายการ")
        with service.client(office) as api:
            started = api.post("/api/v1/process-definitions/central_saraban/start", json={"business_key": "พม 0201/9"})
            assert started.status_code == 201, started.text
        deadline = time.monotonic() + 30  # the background loop fans out within a poll interval
        while "ยังไม่ได้อ่าน 1 รายการ" not in (bell.get_attribute("aria-label") or ""):
            assert time.monotonic() < deadline, "the bell never counted the new task"
            page.wait_for_timeout(300)
            page.reload()
        expect(bell.locator("[data-unread-count]")).to_have_text("1")

        bell.click()
        expect(page.get_by_role("heading", name="การแจ้งเตือน")).to_be_visible()
        expect(page.get_by_text("ใหม่", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("งานใหม่: สารบรรณกลางรับหนังสือ"))).to_be_visible()
        expect(page.get_by_text("เลขที่ พม 0201/9")).to_be_visible()
        page.get_by_role("button", name=re.compile("^อ่านแล้ว")).click()
        expect(page.get_by_text("ไม่มีการแจ้งเตือน")).to_have_count(0)
        expect(page.get_by_text("ใหม่", exact=True)).to_have_count(0)
        expect(bell).to_have_attribute("aria-label", "การแจ้งเตือน ยังไม่ได้อ่าน 0 รายการ")
        expect(bell.locator("[data-unread-count]")).to_be_hidden()

        page.get_by_role("link", name=re.compile("งานใหม่: สารบรรณกลางรับหนังสือ")).click()
        expect(page.get_by_role("heading", name="สารบรรณกลางรับหนังสือ")).to_be_visible()
    finally:
        context.close()
