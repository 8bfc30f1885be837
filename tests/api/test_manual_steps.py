"""What staff and designers see of the manual: the step's text in the task view, inferred elements drawn dashed,
roles from the roles file (composite lanes split with a warning), and due dates counted as the manual says."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from mso_flow.engine.lane_roles import RoleMap, known_roles
from mso_flow.engine.model import UserTaskDef
from mso_flow.engine.parsing import parse_document
from mso_flow.services.platform.working_days import WorkingCalendar

ROOT = Path(__file__).resolve().parents[2]
MODELER_FILE = ROOT / "tests" / "fixtures" / "modeler_leave_request.bpmn"
SVG = "{http://www.w3.org/2000/svg}"
CLERK, OWNER = "เจ้าหน้าที่งานสารบรรณ", "เจ้าของเรื่อง"


@pytest.fixture
def people(make_user):
    return {
        "integrator": make_user("esaraban", "integrator"),
        "clerk": make_user("clerk1", CLERK),
        "designer": make_user("designer1", "designer"),
    }


def _task(client, headers, instance_id):
    items = client.get("/api/v1/tasks", headers=headers, params={"process_instance_id": instance_id}).json()["items"]
    assert len(items) == 1, items
    return client.get(f"/api/v1/tasks/{items[0]['id']}", headers=headers).json()


def test_the_task_view_carries_the_manual_step(client, saraban, people):
    started = client.post(f"/api/v1/process-definitions/{saraban}/start", headers=people["integrator"], json={})
    task = _task(client, people["clerk"], started.json()["id"])
    manual = task["manual"]
    assert manual["text"].startswith("ลำดับ ๑: - รับหนังสือจากเจ้าของเรื่อง")
    assert manual["section"] == "กองกลาง ๑) กระบวนการ : บริหารงานสารบรรณ"
    assert manual["lines"] == "963-963"
    assert (manual["duration_text"], manual["standard_duration"]) == ("๑ นาที", "PT1M")
    assert (manual["source"], manual["inferred_reason"], manual["deadline"]) == ("manual", None, None)

    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=people["clerk"]).json()
    assert claimed["manual"] == manual, "every task response carries the step"
    client.post(f"/api/v1/tasks/{task['id']}/complete", headers=people["clerk"], json={"variables": {"subject": "ก"}})
    check = _task(client, people["clerk"], started.json()["id"])
    client.post(f"/api/v1/tasks/{check['id']}/claim", headers=people["clerk"])
    variables = {"variables": {"documents_complete": False}}
    done = client.post(f"/api/v1/tasks/{check['id']}/complete", headers=people["clerk"], json=variables).json()
    fix = next(t for t in done["instance"]["active_tasks"] if t["lane"] == OWNER)
    owner = client.get(f"/api/v1/tasks/{fix['id']}", headers=people["integrator"]).json()
    assert owner["manual"]["source"] == "inferred"
    assert "ไม่มีลำดับขั้นตอน" in owner["manual"]["inferred_reason"]


def test_the_diagram_draws_what_reading_added_dashed_and_lists_it(client, saraban, people):
    response = client.get(f"/api/v1/process-definitions/{saraban}/diagram.svg", headers=people["clerk"])
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    groups = {g.get("data-element-id"): g for g in root.iter(f"{SVG}g") if g.get("data-element-id")}
    for inferred in ("Task_owner_fix", "Lane_owner", "Gateway_join_Task_check"):
        group = groups[inferred]
        assert "inferred" in group.get("class").split()
        assert any(child.get("stroke-dasharray") == "7 4" for child in group), inferred
    for drawn in ("Task_receive", "Lane_clerk", "Gateway_check"):
        assert "inferred" not in groups[drawn].get("class").split()
        assert all(child.get("stroke-dasharray") in (None, "none") for child in groups[drawn])
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    lines = [t.text for t in legend.iter(f"{SVG}text")]
    assert lines[0].startswith("เส้นประ: ไม่มีในผังของคู่มือ")
    assert any(line.startswith("- เจ้าของเรื่องแก้ไขหนังสือ (userTask Task_owner_fix): ") for line in lines)
    assert len(lines) == 1 + sum(1 for g in groups.values() if "inferred" in g.get("class").split())


def test_a_file_without_inferred_elements_has_no_legend(client, people, services):
    from mso_flow.services.definitions import deployment as definitions
    from mso_flow.services.platform.context import SYSTEM

    definitions.deploy(services, SYSTEM, [("leave.bpmn", MODELER_FILE.read_bytes())])
    response = client.get("/api/v1/process-definitions/central_modeler_leave/diagram.svg", headers=people["clerk"])
    root = etree.fromstring(response.content)
    classes = [(g.get("class") or "").split() for g in root.iter(f"{SVG}g")]
    assert not [c for c in classes if "legend" in c or "inferred" in c]


def test_roles_come_from_the_roles_file_and_an_unnamed_composite_lane_is_split_with_a_warning(client, saraban, people):
    deployed = client.post(
        "/api/v1/deployments",
        headers=people["designer"],
        files=[("files", ("leave.bpmn", MODELER_FILE.read_bytes(), "application/xml"))],
    )
    assert deployed.status_code == 201, deployed.text
    [warning] = deployed.json()["warnings"]
    assert "'ผู้อำนวยการกอง/หัวหน้ากลุ่ม'" in warning and "ผู้อำนวยการกอง, หัวหน้ากลุ่ม" in warning
    assert warning.startswith("leave.bpmn:19: Lane_0c6b2yd: warning: ")
    [finding] = deployed.json()["definitions"][0]["warnings"]
    assert (finding["element_id"], finding["severity"]) == ("Lane_0c6b2yd", "warning")
    detail = client.get("/api/v1/process-definitions/central_modeler_leave", headers=people["designer"]).json()
    roles = {t["element_id"]: t["candidate_roles"] for t in detail["user_tasks"]}
    assert roles == {"Activity_0q3n1ab": ["เจ้าหน้าที่"], "Activity_1k9d0zz": ["ผู้อำนวยการกอง", "หัวหน้ากลุ่ม"]}
    again = client.post(
        "/api/v1/deployments",
        headers=people["designer"],
        files=[("files", ("leave.bpmn", MODELER_FILE.read_bytes(), "application/xml"))],
    )
    assert again.status_code == 200 and again.json()["unchanged"] == ["central_modeler_leave:1"]
    assert again.json()["warnings"] == [warning], "not deployed again, and the verdict says the same"

    saraban_detail = client.get(f"/api/v1/process-definitions/{saraban}", headers=people["designer"]).json()
    review = next(t for t in saraban_detail["user_tasks"] if t["element_id"] == "Task_review")
    assert review["candidate_roles"] == ["หัวหน้าฝ่ายสารบรรณ", "ผอ.กก."], "named in bpmn/roles.yaml"


def test_known_roles_of_parsed_processes() -> None:
    roles = RoleMap({"เจ้าหน้าที่": ("นิติกร", "เจ้าหน้าที่")})
    [process] = parse_document(MODELER_FILE.read_bytes(), "leave.bpmn", roles)
    assert process.definition.split_lanes == ("ผู้อำนวยการกอง/หัวหน้ากลุ่ม",)
    assert known_roles([process.definition]) == ["นิติกร", "ผู้อำนวยการกอง", "หัวหน้ากลุ่ม", "เจ้าหน้าที่"]
    named = RoleMap({"ผู้อำนวยการกอง/หัวหน้ากลุ่ม": ("ผู้อำนวยการกองกลาง",)})
    [process] = parse_document(MODELER_FILE.read_bytes(), "leave.bpmn", named)
    assert process.definition.split_lanes == ()
    assert known_roles([process.definition]) == ["ผู้อำนวยการกองกลาง", "เจ้าหน้าที่"]


FRIDAY = datetime(2026, 7, 3, 2, 0, tzinfo=UTC)  # 09:00 in Bangkok


def test_due_dates_count_working_or_calendar_days_and_deadlines_from_receipt() -> None:
    calendar = WorkingCalendar()
    working = UserTaskDef("a", "ก", "x", standard_duration="P3D", duration_basis="working")
    assert calendar.due_for(working, FRIDAY, FRIDAY) == datetime(2026, 7, 8, 2, 0, tzinfo=UTC)  # Mon, Tue, Wed
    calendar_days = UserTaskDef("b", "ข", "x", standard_duration="P3D", duration_basis="calendar")
    assert calendar.due_for(calendar_days, FRIDAY, FRIDAY) == datetime(2026, 7, 6, 2, 0, tzinfo=UTC)  # Sun → Mon
    received = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    visit = UserTaskDef("c", "ค", "x", deadline="PT24H", deadline_from="receipt", duration_basis="calendar")
    assert calendar.due_for(visit, FRIDAY, received) == datetime(2026, 7, 2, 2, 0, tzinfo=UTC), "from receipt"
    report = UserTaskDef("d", "ง", "x", deadline="P30D", deadline_from="task", duration_basis="calendar")
    assert calendar.due_for(report, FRIDAY, received) == datetime(2026, 8, 3, 2, 0, tzinfo=UTC)  # Sun 2 Aug → Mon
    both = UserTaskDef("e", "จ", "x", standard_duration="P3D", deadline="P1D", deadline_from="task")
    assert calendar.due_for(both, FRIDAY, FRIDAY) == datetime(2026, 7, 6, 2, 0, tzinfo=UTC), "the earlier wins"
    assert calendar.due_for(None, FRIDAY, FRIDAY) is None
