"""What staff read, through HTTP (TestClient, real database, real BPMN): a case's data under its form labels with
Thai values, honest durations and a CSV for Excel on the reports page, a task of a shared lane counted once in the
total, a manager's inbox without the manager role, a textarea for the head's orders, the designers' notes under
the diagram for designers only, and the icon and font the pages load."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from mso_flow.domain import DefinitionSource
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.instances import queries as instance_queries
from mso_flow.services.platform.context import SYSTEM, Caller, Services
from mso_flow.services.tasks import human_tasks as tasks
from tests.clock import ManualClock
from tests.documents.files import attach_letter_as
from tests.factory import bpmn
from tests.web.conftest import CLERK, HEAD, login, plain

CLERK_CALLER = Caller("clerk1", frozenset({CLERK}))
HEAD_CALLER = Caller("head1", frozenset({HEAD}))


@pytest.fixture
def clock(services: Services) -> ManualClock:
    services.clock = ManualClock()
    return services.clock


def _work(services: Services, caller: Caller, instance_id: str, variables: dict[str, Any]) -> str:
    """Complete the instance's open task as `caller`; return its id."""
    [task] = instance_queries.get(services, SYSTEM, instance_id).active_tasks
    if task.element_id == "Task_register":  # สารบรรณ ๓ scans the letter in (its required file field)
        attach_letter_as(services, caller, task.id, instance_id)
    tasks.complete(services, caller, task.id, variables)
    return task.id


def _to_the_head(services: Services, business_key: str, **start: Any) -> str:
    """A สารบรรณ letter worked by the clerk up to the head of section's step."""
    view = instances.start(services, SYSTEM, "central_saraban", business_key, start)
    for variables in (
        {"subject": "ขอความอนุเคราะห์ข้อมูล", "secrecy": "normal", "speed": "urgent"},
        {"documents_complete": True},
        {},
        {"importance": "important"},
    ):
        _work(services, CLERK_CALLER, view.instance.id, variables)
    return view.instance.id


def _data_section(html: str) -> str:
    return html.split('id="vars-h"')[1].split("</section>")[0]


def test_the_case_page_shows_labels_thai_values_and_ids_on_request(client, services, saraban, person):
    person("clerk1", CLERK)
    instance_id = _to_the_head(services, "พม 0201/อ่าน-1", received_at="2026-12-03T03:15:00+00:00")
    login(client, "clerk1")
    data = _data_section(plain(client.get(f"/app/instances/{instance_id}")))
    shown, ids = data.split("แสดงรหัสตัวแปร")
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th><td>([^<]*)', shown))
    assert rows["ชั้นความเร็ว"] == "ด่วน"
    assert rows["ชั้นความลับ"] == "ปกติ"
    assert rows["หนังสือครบถ้วนและถูกต้อง"] == "ใช่"
    assert rows["ประเภทเรื่อง"] == "เรื่องสำคัญ/นโยบาย/เรื่องใหม่"
    assert rows["received_at"] == "3 ธ.ค. 2569 10:15"  # no form names it: its id, its date the Thai way
    assert list(rows)[:3] == ["เรื่อง", "ชั้นความลับ", "ชั้นความเร็ว"]  # the order the process asks for them
    for raw in ("urgent", "important", "True", "documents_complete", "importance"):
        assert raw not in shown, raw
    assert "<summary>แสดงรหัสตัวแปร</summary>" in data and "<code>documents_complete</code>" in ids

    # a letter classed ลับมาก: the admin reads its values masked, as before
    person("boss", "admin")
    secret = instances.start(services, SYSTEM, "central_saraban", "พม 0201/ลับ-9", {}).instance.id
    _work(services, CLERK_CALLER, secret, {"subject": "สอบสวนวินัย", "secrecy": "secret", "speed": "normal"})
    login(client, "boss")
    data = _data_section(plain(client.get(f"/app/instances/{secret}")))
    assert "ปิดบัง" in data and "สอบสวนวินัย" not in data and "ลับมาก" not in data


def test_the_heads_orders_are_a_textarea(client, services, saraban, person):
    person("head1", HEAD)
    instance_id = _to_the_head(services, "พม 0201/อ่าน-2")
    [task] = instance_queries.get(services, SYSTEM, instance_id).active_tasks
    tasks.claim(services, HEAD_CALLER, task.id)
    login(client, "head1")
    page = plain(client.get(f"/app/tasks/{task.id}"))
    assert re.search(r'<textarea id="f-orders" name="orders"[^>]*>', page), "the orders field is one line"
    assert '<label for="f-orders">ข้อสั่งการของผู้บังคับบัญชา</label>' in page


def test_form_errors_are_listed_in_an_alert_that_takes_the_focus(client, services, saraban, person):
    person("clerk1", CLERK)
    view = instances.start(services, SYSTEM, "central_saraban", "พม 0201/อ่าน-3", {})
    [task] = view.active_tasks
    token = login(client, "clerk1")
    client.post(f"/app/tasks/{task.id}/claim", data={"csrf_token": token})
    page = plain(client.post(f"/app/tasks/{task.id}/complete", data={"csrf_token": token, "speed": "urgent"}))
    alert = page.split('role="alert"')[1].split("</div>")[0]
    assert "data-focus" in alert and '<a href="#f-subject">เรื่อง: ต้องกรอก เรื่อง</a>' in alert
    assert 'aria-invalid="true" aria-describedby="e-subject"' in page


def test_reports_show_seconds_below_a_minute_and_a_csv_for_excel(client, services, saraban, person, clock):
    view = instances.start(services, SYSTEM, "central_saraban", "พม 0201/เวลา", {})
    clock.advance(10)
    _work(services, CLERK_CALLER, view.instance.id, {"subject": "ทดสอบ", "speed": "urgent"})
    person("director1", "manager:กองกลาง")
    login(client, "director1")
    page = plain(client.get("/app/reports"))
    step = page.split("สารบรรณกลางรับหนังสือ</td>")[1].split("</tr>")[0]
    assert "10 วินาที" in step and "1 นาที</td>" in step  # the median against the standard of one minute

    response = client.get("/app/reports/kpi.csv")
    assert response.content.startswith("\ufeff".encode())  # UTF-8 with a byte-order mark, for Excel
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(table[0])[:5] == ["กระบวนงาน", "หน่วยงาน", "ขั้นตอน", "ผู้รับผิดชอบ", "จำนวนที่เสร็จ"]
    [receive] = [row for row in table if row["ขั้นตอน"] == "สารบรรณกลางรับหนังสือ"]
    assert receive["ค่ามัธยฐาน"] == "10 วินาที"
    assert receive["ค่ามัธยฐาน (นาที)"] == "0.2" and receive["เวลามาตรฐาน (นาที)"] == "1.0"
    assert receive["ทันกำหนด (%)"] == "100.0" and receive["รหัสขั้นตอน"] == "Task_receive"
    ascii_table = client.get("/app/reports/kpi.csv", params={"headers": "ascii"}).content.decode("utf-8-sig")
    assert ascii_table.startswith("process,unit,step,lane,count,median,median_minutes")


def test_a_task_of_a_shared_lane_counts_once_in_the_overdue_total(client, services, person, clock):
    xml = bpmn(
        "test_shared_lane",
        [{"id": "pay", "name": "ตรวจเอกสารเบิกจ่าย", "lane": "both", "duration": "PT5M"}],
        lanes=[{"id": "both", "name": "งานธุรการ/งานการเงิน"}],
    )
    definitions.deploy(services, SYSTEM, [("shared.bpmn", xml)], DefinitionSource.FILE)
    instances.start(services, SYSTEM, "test_shared_lane", None, {})
    clock.advance(3600)
    person("boss", "admin")
    login(client, "boss")
    page = plain(client.get("/app/reports"))
    table = page.split('id="late-h"')[1].split("</table>")[0]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", table)]
    rows = {cells[i]: cells[i + 1 : i + 3] for i in range(0, len(cells), 3)}
    assert rows["งานธุรการ"] == ["1", "1 เกินกำหนด"] and rows["งานการเงิน"] == ["1", "1 เกินกำหนด"]
    assert rows["รวมทุกบทบาท (งานละหนึ่งครั้ง)"] == ["1", "1 เกินกำหนด"]


def test_a_managers_inbox_counts_work_roles_only(client, saraban, person):
    person("director2", CLERK, "manager:กองกลาง")
    login(client, "director2")
    page = plain(client.get("/app/"))
    assert CLERK in page and "manager:" not in page
    assert list(client.get("/app/counts").json()) == [CLERK]


def test_the_designers_notes_under_the_diagram_are_for_designers(client, saraban, person):
    person("clerk1", CLERK)
    person("designer1", "designer")
    login(client, "clerk1")
    clerk_page = plain(client.get("/app/processes/central_saraban"))
    assert 'class="legend"' not in clerk_page and "dashed:" not in clerk_page and "Task_fix" not in clerk_page
    assert "เส้นประ: ขั้นตอนหรือเส้นทางที่ไม่มีในผังของคู่มือ" in clerk_page
    login(client, "designer1")
    designer_page = plain(client.get("/app/processes/central_saraban"))
    assert 'class="legend"' in designer_page and "dashed:" in designer_page


def test_the_pages_load_an_icon_and_the_served_thai_font(client):
    login_page = plain(client.get("/app/login"))
    assert '<link rel="icon" href="/app/static/favicon.svg" type="image/svg+xml">' in login_page
    for url, kind in (
        ("/favicon.ico", "image/vnd.microsoft.icon"),
        ("/app/static/favicon.ico", "image/"),
        ("/app/static/favicon.svg", "image/svg+xml"),
        ("/app/static/apple-touch-icon.png", "image/png"),
        ("/app/static/fonts/sarabun-thai-400-normal.woff2", "font/woff2"),
        ("/app/static/fonts/OFL.txt", "text/plain"),
    ):
        response = client.get(url)
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind), url
    css = client.get("/app/static/app.css").text
    faces = re.findall(r'url\("(fonts/[^"]+)"\)', css)
    assert "fonts/sarabun-thai-400-normal.woff2" in faces and "fonts/sarabun-thai-700-normal.woff2" in faces
    assert all(client.get(f"/app/static/{face}").status_code == 200 for face in faces)
    assert "SIL OPEN FONT LICENSE" in client.get("/app/static/fonts/OFL.txt").text
