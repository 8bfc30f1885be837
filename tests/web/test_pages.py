"""The pages of the web app through HTTP (TestClient, real database, real สารบรรณ BPMN): what each person sees
and may do, form errors beside their field with nothing changed, and the designer's and admin's pages."""

from __future__ import annotations

import re

import pytest

from mso_flow.services.platform.context import SYSTEM, Caller
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.services.tasks import queries as task_queries
from tests.conftest import ROOT, SARABAN
from tests.web.conftest import CLERK, HEAD, OWNER, csrf_of, login, plain

DMN = ROOT / "tests" / "fixtures" / "approver_level.dmn"
PURCHASE = ROOT / "tests" / "fixtures" / "purchase_approval.bpmn"


def _task_id(html: str, name: str) -> str:
    match = re.search(rf'href="/app/tasks/([0-9a-f-]+)">{re.escape(name)}</a>', html)
    assert match, f"no link to {name}"
    return match[1]


@pytest.fixture
def started(client, saraban, person):
    """The clerk starts a สารบรรณ case from its process page; returns the instance id."""
    person("clerk1", CLERK)
    token = login(client, "clerk1")
    page = client.get("/app/processes", params={"q": "สารบรรณ"})
    assert "การบริหารงานสารบรรณ" in plain(page) and "กองกลาง" in plain(page)
    response = client.post(
        f"/app/processes/{saraban}/start",
        data={"csrf_token": token, "business_key": "พม 0201/77"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def test_clerk_claims_fills_and_sends_from_the_inbox(client, services, started):
    inbox = client.get("/app/")
    assert "งานของฉัน" in plain(inbox) and "พม 0201/77" in plain(inbox)
    assert f"{CLERK}" in plain(inbox)
    task_id = _task_id(plain(inbox), "สารบรรณกลางรับหนังสือ")
    page = client.get(f"/app/tasks/{task_id}")
    assert "รับหนังสือจากเจ้าของเรื่อง" in plain(page)  # the manual's text for the step
    assert "รับงาน" in plain(page) and "ส่งงาน" not in plain(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', plain(page))[1]
    client.post(f"/app/tasks/{task_id}/claim", data={"csrf_token": token})
    page = client.get(f"/app/tasks/{task_id}")
    assert 'value="urgent"' in plain(page) and ">ด่วน</option>" in plain(page)
    assert '<label for="f-subject">เรื่อง</label> <span class="req">(จำเป็น)</span>' in plain(page)
    assert "คืนงาน" in plain(page) and "ส่งงาน" in plain(page)

    missing = client.post(f"/app/tasks/{task_id}/complete", data={"csrf_token": token, "speed": "urgent"})
    assert missing.status_code == 422
    assert re.search(r'id="e-subject">ต้องกรอก เรื่อง<', plain(missing)), plain(missing)
    assert 'value="urgent" selected' in plain(missing)  # what was chosen is kept
    assert task_queries.task_record(services, SYSTEM, task_id).state == "open"  # nothing changed

    done = client.post(
        f"/app/tasks/{task_id}/complete",
        data={"csrf_token": token, "subject": "ขอความอนุเคราะห์ข้อมูล", "speed": "urgent"},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/app/?sent=1"
    after = client.get("/app/?sent=1")
    assert "ส่งงานเรียบร้อยแล้ว" in plain(after)
    assert "ตรวจสอบความถูกต้องและครบถ้วนของหนังสือ" in plain(after)


def test_instance_page_shows_progress_timeline_and_variables(client, started):
    page = client.get(f"/app/instances/{started}")
    assert page.status_code == 200
    assert "<svg" in plain(page) and "พม 0201/77" in plain(page)
    assert "clerk1" in plain(page) and "เริ่มกระบวนงาน" in plain(page)
    assert re.search(r"\d{1,2} [ก-๙.]+ 25\d\d \d\d:\d\d", plain(page))  # Thai date with the Buddhist year
    assert 'href="/app/tasks/' in plain(page)


def test_outsider_sees_neither_form_nor_buttons(client, services, started, person):
    task_id = _task_id(plain(client.get("/app/")), "สารบรรณกลางรับหนังสือ")
    person("owner1", OWNER)  # works another step of the process, not this one
    token = login(client, "owner1")
    page = client.get(f"/app/tasks/{task_id}")
    assert "ส่งงาน" not in plain(page) and "รับงาน" not in plain(page) and 'name="subject"' not in plain(page)
    refused = client.post(f"/app/tasks/{task_id}/claim", data={"csrf_token": token})
    assert refused.status_code == 403
    assert task_queries.task_record(services, SYSTEM, task_id).assignee is None


def test_supervisor_assigns_to_people_who_may_take_it(client, started, person):
    task_id = _task_id(plain(client.get("/app/")), "สารบรรณกลางรับหนังสือ")
    person("clerk2", CLERK)
    person("head1", HEAD)
    person("boss", CLERK, "supervisor")
    token = login(client, "boss")
    page = client.get(f"/app/tasks/{task_id}")
    assert "มอบหมายงาน" in plain(page)
    options = re.findall(r'<option value="([^"]+)"', plain(page).split('id="assignee"')[1].split("</select>")[0])
    assert set(options) == {"clerk1", "clerk2", "boss"}
    client.post(f"/app/tasks/{task_id}/assign", data={"csrf_token": token, "username": "clerk2"})
    assert "มอบหมายให้ clerk2 แล้ว (โดย boss)" in plain(client.get(f"/app/tasks/{task_id}"))
    login(client, "clerk1")
    assert "มอบหมายงาน" not in plain(client.get(f"/app/tasks/{task_id}"))


def test_head_of_section_assigns_a_clerks_task_of_his_process(client, services, started, person):
    """The head of the registry section (his own lane's role and `supervisor`, no clerk role) gives a clerk's task
    to a clerk: confirmed in Thai, and the task then reads "assigned to", not "claimed"."""
    task_id = _task_id(plain(client.get("/app/")), "สารบรรณกลางรับหนังสือ")
    person("clerk2", CLERK)
    person("head1", HEAD, "supervisor")
    person("nohead", HEAD)  # the head's lane without `supervisor`
    token = login(client, "nohead")
    refused = client.post(f"/app/tasks/{task_id}/assign", data={"csrf_token": token, "username": "clerk2"})
    assert refused.status_code == 403
    token = login(client, "head1")
    page = client.get(f"/app/tasks/{task_id}")
    assert page.status_code == 200 and "มอบหมายงาน" in plain(page)
    options = re.findall(r'<option value="([^"]+)"', plain(page).split('id="assignee"')[1].split("</select>")[0])
    assert set(options) == {"clerk1", "clerk2"}  # candidates only, not the head himself
    done = client.post(f"/app/tasks/{task_id}/assign", data={"csrf_token": token, "username": "clerk2"})
    assert done.status_code == 200 and str(done.url).endswith("?done=assigned")
    assert '<p class="notice" role="status">มอบหมายงานให้ clerk2 แล้ว</p>' in plain(done)
    assert task_queries.task_record(services, SYSTEM, task_id).assignee == "clerk2"
    login(client, "clerk2")
    inbox = plain(client.get("/app/"))
    assert "มอบหมายให้ clerk2 แล้ว (โดย head1)" in inbox and "รับงานแล้ว" not in inbox
    token = login(client, "clerk1")
    refused = client.post(f"/app/tasks/{task_id}/assign", data={"csrf_token": token, "username": "clerk1"})
    assert refused.status_code == 403  # a clerk is no supervisor
    assert task_queries.task_record(services, SYSTEM, task_id).assignee == "clerk2"


def test_claimed_task_reads_claimed_and_confirms(client, started):
    task_id = _task_id(plain(client.get("/app/")), "สารบรรณกลางรับหนังสือ")
    token = csrf_of(client.get(f"/app/tasks/{task_id}").text)
    page = client.post(f"/app/tasks/{task_id}/claim", data={"csrf_token": token})
    assert "รับงานแล้ว" in plain(page) and "clerk1 รับงานแล้ว" in plain(page) and "มอบหมายให้" not in plain(page)


def test_comments_in_thai(client, started):
    task_id = _task_id(plain(client.get("/app/")), "สารบรรณกลางรับหนังสือ")
    page = client.get(f"/app/tasks/{task_id}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', plain(page))[1]
    client.post(f"/app/tasks/{task_id}/comments", data={"csrf_token": token, "text": "รอเอกสารแนบจากกอง"})
    page = client.get(f"/app/tasks/{task_id}")
    assert "รอเอกสาร" in plain(page) and 'for="comment-text">ความเห็น<' in plain(page)


def test_inbox_filters_by_role_and_searches(client, started):
    assert "สารบรรณกลางรับหนังสือ" in plain(client.get("/app/", params={"q": "พม 0201"}))
    assert "สารบรรณกลางรับหนังสือ" not in plain(client.get("/app/", params={"q": "ไม่มีเรื่องนี้"}))
    assert "สารบรรณกลางรับหนังสือ" in plain(client.get("/app/", params={"role": CLERK}))
    assert client.get("/app/counts").json()[CLERK]["open"] == 1
    assert client.get("/app/", params={"role": HEAD}).status_code == 403


def test_duplicate_business_key_shows_the_running_case(client, saraban, started):
    token = re.search(r'name="csrf_token" value="([^"]+)"', plain(client.get("/app/")))[1]
    again = client.post(f"/app/processes/{saraban}/start", data={"csrf_token": token, "business_key": "พม 0201/77"})
    assert str(again.url).endswith(f"/app/instances/{started}?duplicate=1")
    assert "มีเรื่องที่กำลังดำเนินการอยู่แล้ว" in plain(again)


def test_reports_dashboard_in_hours_and_days(client, services, started, person):
    task_id = _task_id(plain(client.get("/app/")), "สารบรรณกลางรับหนังสือ")
    clerk = Caller("clerk1", frozenset({CLERK}))  # the clerk of the case works it (an admin is not its candidate)
    tasks.complete(services, clerk, task_id, {"subject": "ทดสอบ"})
    assert client.get("/app/reports").status_code == 403  # a clerk manages no unit
    person("director1", "manager:กองกลาง")
    login(client, "director1")
    page = client.get("/app/reports")
    assert page.status_code == 200
    assert plain(page).count("<svg xmlns") == 2 and "กองกลาง" in plain(page)
    assert "1 นาที" in plain(page) and "สารบรรณกลางรับหนังสือ" in plain(page)
    assert "median_seconds" not in plain(page)
    csv = client.get("/app/reports/kpi.csv")
    assert csv.headers["content-type"].startswith("text/csv") and "central_saraban" in plain(csv)


def test_designer_uploads_and_sees_errors_and_warnings_with_file_line_element(client, services, person):
    person("designer1", "designer")
    token = login(client, "designer1")
    broken = SARABAN.read_bytes().replace(b'sourceRef="Task_send"', b'sourceRef="Task_nowhere"')
    page = client.post("/app/definitions", data={"csrf_token": token}, files={"files": ("broken.bpmn", broken)})
    assert page.status_code == 422
    problems = plain(page).split('class="problems cards"')[1]
    assert "ไฟล์ไม่ผ่านการตรวจสอบ" in plain(page)
    assert re.search(
        r"<td[^>]*>ข้อผิดพลาด</td><td[^>]*>broken.bpmn</td><td[^>]*>\d+</td><td[^>]*>Flow_13</td>", problems
    ), problems
    assert "/app/definitions/central_saraban" not in plain(client.get("/app/definitions"))  # nothing deployed
    outside_lanes = SARABAN.read_bytes().replace(b"<bpmn:flowNodeRef>Task_send</bpmn:flowNodeRef>", b"")
    warned = client.post(
        "/app/definitions", data={"csrf_token": token}, files={"files": ("central_saraban.bpmn", outside_lanes)}
    )
    assert warned.status_code == 200 and "รุ่นใหม่ 1" in plain(warned) and "พร้อมคำเตือน" in plain(warned)
    findings = plain(warned).split('class="problems cards"')[1]
    assert re.search(
        r"<td[^>]*>คำเตือน</td><td[^>]*>central_saraban.bpmn</td><td[^>]*>\d+</td><td[^>]*>Task_send</td>", findings
    )
    renamed = SARABAN.read_bytes().replace("ส่งหนังสือให้หน่วยงานที่เกี่ยวข้อง".encode(), "ส่งหนังสือออก".encode())
    v2 = client.post("/app/definitions", data={"csrf_token": token}, files={"files": ("central_saraban.bpmn", renamed)})
    assert "รุ่นใหม่ 2" in plain(v2) and "ส่งหนังสือออก" in plain(v2) and "พร้อมคำเตือน" not in plain(v2)
    versions = client.get("/app/definitions/central_saraban")
    assert "รุ่น 2" in plain(versions) and "รุ่น 1" in plain(versions)
    assert plain(versions).count("คำเตือน 1 รายการ") == 1  # version 1 keeps its warning, version 2 has none
    assert "ยังไม่มีตารางการตัดสินใจ" in plain(client.get("/app/definitions"))
    files = [("files", (path.name, path.read_bytes())) for path in (DMN, PURCHASE)]
    decided = client.post("/app/definitions", data={"csrf_token": token}, files=files)
    assert decided.status_code == 200 and "ตารางการตัดสินใจ Who approves the purchase: รุ่นใหม่ 1" in plain(decided)
    listed = plain(client.get("/app/definitions")).split('id="dmn-h"')[1]
    assert re.search(r"<td[^>]*>approver_level</td><td[^>]*>1</td><td[^>]*>approver_level.dmn</td>", listed)
    login(client, "designer1")
    person("clerk9", CLERK)
    login(client, "clerk9")
    assert client.get("/app/definitions").status_code == 403


def test_admin_creates_a_user_who_can_log_in(client, person, saraban):
    person("boss", "admin")
    token = login(client, "boss")
    page = client.post(
        "/app/users",
        data={"csrf_token": token, "username": "somsri", "roles": f"{CLERK}\n{HEAD}", "password": "รหัสผ่าน-ของ-สมศรี"},
    )
    assert page.status_code == 201 and "somsri" in plain(page) and HEAD in plain(page)
    login(client, "somsri", "รหัสผ่าน-ของ-สมศรี")
    assert client.get("/app/users").status_code == 403


def test_a_case_stopped_by_a_process_defect_shows_its_incident(client, services, person):
    """A defect the designers' verdict could not see (a division by zero at one amount) stops the clerk's step:
    the case's page says so in Thai, with the step, and that the administrators were told."""
    from mso_flow.domain import DefinitionSource
    from mso_flow.services.definitions import deployment as definitions
    from mso_flow.services.instances import lifecycle as instances
    from tests.factory import approval

    xml = approval(condition="100 / (amount - 70000) > 0")
    definitions.deploy(services, SYSTEM, [("a.bpmn", xml)], DefinitionSource.FILE)  # as start-up deploys bpmn/
    person("staff1", "เจ้าหน้าที่")
    caller = Caller("staff1", frozenset({"เจ้าหน้าที่"}))
    view = instances.start(services, caller, "test_approval", None, {})
    token = login(client, "staff1")
    task_id = view.active_tasks[0].id
    sent = client.post(f"/app/tasks/{task_id}/complete", data={"csrf_token": token, "amount": "70000"})
    assert sent.status_code == 422 and "ผู้ดูแลระบบ" in plain(sent)
    page = plain(client.get(f"/app/instances/{view.instance.id}"))
    assert "เหตุขัดข้อง" in page and "เกินวงเงินหรือไม่" in page and "ยังไม่แก้ไข" in page
    quiet = plain(
        client.get(f"/app/instances/{instances.start(services, caller, 'test_approval', None, {}).instance.id}")
    )
    assert "เหตุขัดข้อง" not in quiet


def test_required_yes_no_is_an_explicit_choice_and_an_unheld_lane_asks_first(client, services, started, person):
    """The check step's required yes/no is two options with none chosen; left unchosen it is reported missing. Sent
    to the owner's lane, which no active user holds, it asks before sending; confirmed, it sends."""
    task_id = _task_id(plain(client.get("/app/")), "สารบรรณกลางรับหนังสือ")
    token = csrf_of(client.get(f"/app/tasks/{task_id}").text)
    client.post(f"/app/tasks/{task_id}/complete", data={"csrf_token": token, "subject": "ขอข้อมูล", "speed": "normal"})
    check = _task_id(plain(client.get("/app/")), "ตรวจสอบความถูกต้องและครบถ้วนของหนังสือ")
    client.post(f"/app/tasks/{check}/claim", data={"csrf_token": token})
    page = plain(client.get(f"/app/tasks/{check}"))
    assert "<legend>หนังสือครบถ้วนและถูกต้อง <span" in page
    radios = re.findall(r'<input id="f-documents_complete[^"]*" name="documents_complete" type="radio"[^>]*>', page)
    assert len(radios) == 2 and not any("checked" in r for r in radios) and 'type="checkbox"' not in page

    missing = client.post(f"/app/tasks/{check}/complete", data={"csrf_token": token})
    assert missing.status_code == 422 and 'id="e-documents_complete"' in plain(missing)
    asked = client.post(f"/app/tasks/{check}/complete", data={"csrf_token": token, "documents_complete": "false"})
    assert asked.status_code == 409 and "ขั้นตอนถัดไปยังไม่มีผู้ใช้ที่ทำงานได้" in plain(asked)
    assert "เจ้าของเรื่องแก้ไขหนังสือ" in plain(asked) and 'name="unheld_ok" value="1"' in plain(asked)
    assert re.search(r'value="false" required checked', plain(asked))  # the choice is kept
    assert task_queries.task_record(services, SYSTEM, check).state == "open"  # nothing was sent

    person("owner1", OWNER)  # now someone holds the owner's lane: no question
    sent = client.post(
        f"/app/tasks/{check}/complete",
        data={"csrf_token": token, "documents_complete": "true"},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and task_queries.task_record(services, SYSTEM, check).state == "completed"


def test_confirmed_send_to_an_unheld_lane(client, services, started):
    task_id = _task_id(plain(client.get("/app/")), "สารบรรณกลางรับหนังสือ")
    token = csrf_of(client.get(f"/app/tasks/{task_id}").text)
    client.post(f"/app/tasks/{task_id}/complete", data={"csrf_token": token, "subject": "ขอข้อมูล", "speed": "normal"})
    check = _task_id(plain(client.get("/app/")), "ตรวจสอบความถูกต้องและครบถ้วนของหนังสือ")
    data = {"csrf_token": token, "documents_complete": "false", "unheld_ok": "1"}
    sent = client.post(f"/app/tasks/{check}/complete", data=data, follow_redirects=False)
    assert sent.status_code == 303 and task_queries.task_record(services, SYSTEM, check).state == "completed"
