"""The cases page (`/app/instances`) through HTTP on a real database: found by part of the business key, process,
state and start dates, among the cases the person may see (staff: the processes they work a lane of)."""

from __future__ import annotations

import re
from datetime import timedelta

from mso_flow.api.web.thai import BANGKOK
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform.context import SYSTEM, Caller
from tests.web.conftest import CLERK, OWNER, login, plain


def _cases(html: str) -> list[str]:
    return re.findall(r'href="/app/instances/([0-9a-f-]+)"', html)


def test_cases_found_by_key_part_process_state_and_dates(client, services, saraban, person):
    person("clerk1", CLERK)
    clerk = Caller("clerk1", frozenset({CLERK}))
    started = [instances.start(services, clerk, saraban, key, {}).instance for key in ("พม 0201/77", "พม 0201/78")]
    other = instances.start(services, clerk, saraban, "กค 0300/1", {}).instance
    instances.cancel(services, SYSTEM, other.id, "ทดสอบ")
    login(client, "clerk1")

    every = client.get("/app/instances")
    assert every.status_code == 200 and "ค้นหาเรื่อง" in plain(every) and "พบ 3 เรื่อง" in plain(every)
    assert "การบริหารงานสารบรรณ" in plain(every) and "ขั้นตอนปัจจุบัน: สารบรรณกลางรับหนังสือ" in plain(every)
    part = client.get("/app/instances", params={"q": "0201"})
    assert set(_cases(plain(part))) == {i.id for i in started}
    assert "พบ 0 เรื่อง" in plain(client.get("/app/instances", params={"q": "0201%"}))  # a wildcard is literal
    cancelled = client.get("/app/instances", params={"state": "cancelled", "key": saraban})
    assert _cases(plain(cancelled)) == [other.id] and ">ยกเลิก<" in plain(cancelled)

    today = services.clock().astimezone(BANGKOK).date()
    same_day = client.get("/app/instances", params={"from": today.isoformat(), "to": today.isoformat()})
    assert "พบ 3 เรื่อง" in plain(same_day)
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert "พบ 0 เรื่อง" in plain(client.get("/app/instances", params={"from": tomorrow}))
    wrong = client.get("/app/instances", params={"from": "31-12-2569"})
    assert wrong.status_code == 422 and "วันที่เริ่มต้นไม่ถูกต้อง" in plain(wrong)
    assert client.get("/app/instances", params={"state": "lost"}).status_code == 422


def test_cases_only_of_processes_the_person_works(client, services, saraban, person):
    person("clerk1", CLERK)
    instances.start(services, Caller("clerk1", frozenset({CLERK})), saraban, "พม 0201/77", {})
    person("owner1", OWNER)  # a lane of the process: sees the case (not its data)
    login(client, "owner1")
    assert "พบ 1 เรื่อง" in plain(client.get("/app/instances"))
    person("stranger", "งานที่ไม่มีในกระบวนงานใด")
    login(client, "stranger")
    assert "พบ 0 เรื่อง" in plain(client.get("/app/instances"))
    assert client.get("/app/instances", params={"key": saraban}).status_code == 403


def test_an_unknown_page_is_the_apps_thai_404(client, person):
    person("clerk1", CLERK)
    login(client, "clerk1")
    missing = client.get("/app/no-such-page")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "ไม่พบหน้านี้" in plain(missing)
    assert client.get("/app/static/app.css").status_code == 200  # static files are still served
