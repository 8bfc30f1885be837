"""Staff work over HTTP: due dates on the working calendar, overdue lists and counts, assignment, delegation,
bulk claims, comments and lane-to-role mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM
from mso_flow.services.platform.working_days import WorkingCalendar
from tests.factory import approval, bpmn

BKK = ZoneInfo("Asia/Bangkok")
STAFF, DIRECTOR = "เจ้าหน้าที่", "ผู้อำนวยการ"
FRIDAY_BEFORE_KINGS_DAY = datetime(2026, 12, 4, 10, 0, tzinfo=BKK)  # Sat 5 Dec holiday, Mon 7 Dec in lieu


class Clock:
    def __init__(self, now: datetime):
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(services):
    services.clock = Clock(FRIDAY_BEFORE_KINGS_DAY)
    return services.clock


@pytest.fixture
def process(services):
    definitions.deploy(services, SYSTEM, [("approval.bpmn", approval())])
    return "test_approval"


@pytest.fixture
def people(make_user):
    return {
        "integrator": make_user("integrator1", "integrator"),
        "a": make_user("somchai", STAFF),
        "b": make_user("somsri", STAFF),
        "boss": make_user("boss", STAFF, "supervisor"),
        "other_boss": make_user("other_boss", DIRECTOR, "supervisor"),
        "director": make_user("director", DIRECTOR),
        "admin": make_user("root", "admin"),
    }


def _start(client, people, key="test_approval", business_key=None):
    response = client.post(
        f"/api/v1/process-definitions/{key}/start", headers=people["integrator"], json={"business_key": business_key}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _due(task):
    return datetime.fromisoformat(task["due_at"]).astimezone(BKK)


def _audit(client, people, instance_id):
    return client.get(f"/api/v1/process-instances/{instance_id}/audit", headers=people["admin"]).json()["items"]


def test_days_are_working_days_and_hours_elapsed_time(client, clock, process, people):
    instance = _start(client, people)
    task = instance["active_tasks"][0]
    # P1D from Friday 10:00: Saturday 5 Dec (King's birthday), Sunday, Monday 7 Dec (in lieu) are not working days
    assert _due(task) == datetime(2026, 12, 8, 10, 0, tzinfo=BKK)
    clock.now += timedelta(hours=1)
    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=people["a"], json={"variables": {"amount": 90000}}
    ).json()
    approve = done["instance"]["active_tasks"][0]
    assert approve["element_id"] == "Task_approve"
    # PT4H is elapsed time, even late on a Friday
    assert _due(approve) == datetime(2026, 12, 4, 15, 0, tzinfo=BKK)


def test_extra_days_announced_by_the_cabinet_move_due_dates(client, services, clock, process, people, tmp_path):
    holidays_file = tmp_path / "holidays.yaml"
    holidays_file.write_text("- date: 2026-12-08\n  name: วันหยุดพิเศษ (มติคณะรัฐมนตรี)\n", encoding="utf-8")
    services.calendar = WorkingCalendar.from_file(holidays_file)
    task = _start(client, people)["active_tasks"][0]
    assert _due(task) == datetime(2026, 12, 9, 10, 0, tzinfo=BKK)
    assert services.calendar.holiday_name(datetime(2026, 12, 8).date()) == "วันหยุดพิเศษ (มติคณะรัฐมนตรี)"


def test_overdue_due_before_sort_and_counts(client, clock, process, people):
    first = _start(client, people)["active_tasks"][0]
    clock.now += timedelta(days=1, hours=1)  # Saturday 11:00: the next working day is Tuesday 8 Dec as well
    second = _start(client, people)["active_tasks"][0]
    assert _due(second) == datetime(2026, 12, 8, 11, 0, tzinfo=BKK)
    listed = client.get("/api/v1/tasks", headers=people["a"], params={"sort": "-due_at"}).json()
    assert [t["id"] for t in listed["items"]] == [second["id"], first["id"]]

    counts = client.get("/api/v1/tasks/counts", headers=people["boss"]).json()
    assert counts == {STAFF: {"open": 2, "overdue": 0}}

    clock.now = datetime(2026, 12, 8, 10, 30, tzinfo=BKK).astimezone(UTC)  # past the first, not the second
    overdue = client.get("/api/v1/tasks", headers=people["a"], params={"overdue": "true"}).json()
    assert [t["id"] for t in overdue["items"]] == [first["id"]]
    before = client.get("/api/v1/tasks", headers=people["a"], params={"due_before": _due(second).isoformat()}).json()
    assert [t["id"] for t in before["items"]] == [first["id"]]
    assert client.get("/api/v1/tasks/counts", headers=people["a"]).json() == {STAFF: {"open": 2, "overdue": 1}}
    assert client.get("/api/v1/tasks/counts", headers=people["director"]).json() == {
        DIRECTOR: {"open": 0, "overdue": 0}
    }


def test_assignment_by_the_lane_supervisor(client, process, people):
    instance = _start(client, people)
    task_id = instance["active_tasks"][0]["id"]
    url = f"/api/v1/tasks/{task_id}/assignee"

    staff = client.post(url, headers=people["a"], json={"username": "somsri"})
    assert staff.status_code == 403 and staff.json()["type"].endswith("not_supervisor")
    foreign = client.post(url, headers=people["other_boss"], json={"username": "somsri"})
    assert foreign.status_code == 403, "a supervisor of another lane may not assign"
    not_candidate = client.post(url, headers=people["boss"], json={"username": "director"})
    assert not_candidate.status_code == 422 and not_candidate.json()["type"].endswith("assignee_not_candidate")
    unknown = client.post(url, headers=people["admin"], json={"username": "nobody"})
    assert unknown.status_code == 422 and unknown.json()["type"].endswith("unknown_user")
    assert client.get(f"/api/v1/tasks/{task_id}", headers=people["admin"]).json()["assignee"] is None

    assigned = client.post(url, headers=people["boss"], json={"username": "somsri", "reason": "ผู้รับผิดชอบเดิมลา"})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == "somsri"
    reassigned = client.post(url, headers=people["admin"], json={"username": "somchai"})
    assert reassigned.json()["assignee"] == "somchai"
    events = [e for e in _audit(client, people, instance["id"]) if e["type"] == "task_assigned"]
    assert [(e["actor"], e["data"]["assignee"], e["data"]["previous"]) for e in events] == [
        ("boss", "somsri", None),
        ("root", "somchai", "somsri"),
    ]
    assert events[0]["data"]["reason"] == "ผู้รับผิดชอบเดิมลา"

    client.post(f"/api/v1/tasks/{task_id}/complete", headers=people["a"], json={"variables": {"amount": 1}})
    closed = client.post(url, headers=people["boss"], json={"username": "somsri"})
    assert closed.status_code == 409 and closed.json()["type"].endswith("task_not_open")


def test_delegate_and_resolve(client, process, people):
    instance = _start(client, people)
    task_id = instance["active_tasks"][0]["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=people["a"]).status_code == 200

    not_assignee = client.post(f"/api/v1/tasks/{task_id}/delegate", headers=people["b"], json={"username": "boss"})
    assert not_assignee.status_code == 403
    early_resolve = client.post(f"/api/v1/tasks/{task_id}/resolve", headers=people["a"])
    assert early_resolve.status_code == 409 and early_resolve.json()["type"].endswith("not_delegated")

    delegated = client.post(
        f"/api/v1/tasks/{task_id}/delegate", headers=people["a"], json={"username": "somsri", "reason": "ช่วยตรวจ"}
    )
    assert delegated.status_code == 200, delegated.text
    body = delegated.json()
    assert (body["owner"], body["assignee"], body["delegation_state"]) == ("somchai", "somsri", "pending")
    inbox = client.get("/api/v1/tasks", headers=people["b"], params={"assignee": "me"}).json()
    assert [t["id"] for t in inbox["items"]] == [task_id]

    blocked = client.post(f"/api/v1/tasks/{task_id}/complete", headers=people["b"], json={"variables": {"amount": 1}})
    assert blocked.status_code == 409 and blocked.json()["type"].endswith("delegation_pending")
    assert client.post(f"/api/v1/tasks/{task_id}/resolve", headers=people["a"]).status_code == 403

    resolved = client.post(f"/api/v1/tasks/{task_id}/resolve", headers=people["b"], json={"reason": "ตรวจแล้ว"})
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["owner"], body["assignee"], body["delegation_state"]) == ("somchai", "somchai", "resolved")
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=people["a"], json={"variables": {"amount": 1}})
    assert done.status_code == 200, done.text
    types = [e["type"] for e in _audit(client, people, instance["id"])]
    assert types.index("task_delegated") < types.index("task_resolved") < types.index("task_completed")


def test_bulk_claim_is_all_or_nothing(client, process, people):
    ids = [_start(client, people)["active_tasks"][0]["id"] for _ in range(3)]
    assert client.post(f"/api/v1/tasks/{ids[1]}/claim", headers=people["b"]).status_code == 200

    refused = client.post("/api/v1/tasks/claim", headers=people["a"], json={"task_ids": ids})
    assert refused.status_code == 409
    problem = refused.json()
    assert (problem["task_id"], problem["reason"]) == (ids[1], "task_claimed")
    for task_id in (ids[0], ids[2]):
        assert client.get(f"/api/v1/tasks/{task_id}", headers=people["a"]).json()["assignee"] is None

    unknown = client.post("/api/v1/tasks/claim", headers=people["a"], json={"task_ids": [ids[0], "no-such-task"]})
    assert unknown.status_code == 409 and unknown.json()["task_id"] == "no-such-task"
    assert client.get(f"/api/v1/tasks/{ids[0]}", headers=people["a"]).json()["assignee"] is None

    client.post(f"/api/v1/tasks/{ids[1]}/unclaim", headers=people["b"])
    claimed = client.post("/api/v1/tasks/claim", headers=people["a"], json={"task_ids": ids})
    assert claimed.status_code == 200, claimed.text
    assert [(t["id"], t["assignee"]) for t in claimed.json()["items"]] == [(i, "somchai") for i in ids]
    empty = client.post("/api/v1/tasks/claim", headers=people["a"], json={"task_ids": []})
    assert empty.status_code == 422


def test_comments_in_order_and_in_the_audit_trail(client, process, people):
    instance = _start(client, people)
    task_id = instance["active_tasks"][0]["id"]
    url = f"/api/v1/tasks/{task_id}/comments"
    first = client.post(url, headers=people["a"], json={"text": "ขอเอกสารประกอบเพิ่มเติม"})
    assert first.status_code == 201, first.text
    client.post(url, headers=people["boss"], json={"text": "รับทราบ ดำเนินการต่อได้"})
    listed = client.get(url, headers=people["b"]).json()
    assert [(c["author"], c["text"]) for c in listed["items"]] == [
        ("somchai", "ขอเอกสารประกอบเพิ่มเติม"),
        ("boss", "รับทราบ ดำเนินการต่อได้"),
    ]
    assert listed["total"] == 2
    assert client.post(url, headers=people["director"], json={"text": "x"}).status_code == 403
    assert client.get(url, headers=people["director"]).status_code == 403
    assert client.post(url, headers=people["a"], json={"text": ""}).status_code == 422
    assert client.post("/api/v1/tasks/nope/comments", headers=people["a"], json={"text": "x"}).status_code == 404
    commented = [e for e in _audit(client, people, instance["id"]) if e["type"] == "task_commented"]
    assert [e["data"]["text"] for e in commented] == ["ขอเอกสารประกอบเพิ่มเติม", "รับทราบ ดำเนินการต่อได้"]


def test_lane_roles_property_maps_lanes_to_ministry_roles(client, services, people, make_user):
    """A lane may name the ministry's real roles; those roles (not the lane name) work its tasks."""
    root = etree.fromstring(bpmn("test_mapped", [{"id": "work", "name": "ทำงาน", "lane": "staff"}]))
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": "http://camunda.org/schema/1.0/bpmn"}
    lane = root.find(".//bpmn:lane", ns)
    extensions = etree.Element(f"{{{ns['bpmn']}}}extensionElements")
    props = etree.SubElement(extensions, f"{{{ns['camunda']}}}properties")
    etree.SubElement(props, f"{{{ns['camunda']}}}property", name="roles", value="นักจัดการงานทั่วไป, นิติกร")
    lane.insert(0, extensions)
    definitions.deploy(services, SYSTEM, [("mapped.bpmn", etree.tostring(root))])
    lawyer = make_user("lawyer", "นิติกร")
    task = _start(client, people, key="test_mapped")["active_tasks"][0]
    full = client.get(f"/api/v1/tasks/{task['id']}", headers=lawyer).json()
    assert full["candidate_roles"] == ["นักจัดการงานทั่วไป", "นิติกร"]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=people["a"]).status_code == 403
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=lawyer).json()["assignee"] == "lawyer"


def test_the_inbox_follows_every_change_of_hands(client, clock, process, people):
    """The inbox (open work I hold or may work, by due date) reads the candidate index: claims, unclaims,
    assignments, delegations and completions must all show in it at once."""
    tasks = []
    for _ in range(3):
        tasks.append(_start(client, people)["active_tasks"][0])
        clock.now += timedelta(minutes=1)  # due dates one minute apart

    def inbox(who):
        body = client.get("/api/v1/tasks", headers=people[who], params={"sort": "due_at"}).json()
        assert body["total"] == len(body["items"])
        return [t["id"] for t in body["items"]]

    ids = [t["id"] for t in tasks]
    assert inbox("a") == ids and inbox("b") == ids
    assert client.post(f"/api/v1/tasks/{ids[0]}/claim", headers=people["a"]).status_code == 200
    assert inbox("a") == ids and inbox("b") == ids[1:]
    assert client.post(f"/api/v1/tasks/{ids[0]}/unclaim", headers=people["a"]).status_code == 200
    assert inbox("b") == ids
    assigned = client.post(f"/api/v1/tasks/{ids[1]}/assignee", headers=people["boss"], json={"username": "somsri"})
    assert assigned.status_code == 200
    assert inbox("a") == [ids[0], ids[2]] and inbox("b") == ids
    delegated = client.post(f"/api/v1/tasks/{ids[1]}/delegate", headers=people["b"], json={"username": "somchai"})
    assert delegated.status_code == 200
    assert inbox("a") == ids and inbox("b") == [ids[0], ids[2]]
    assert client.post(f"/api/v1/tasks/{ids[1]}/resolve", headers=people["a"]).status_code == 200
    assert inbox("a") == [ids[0], ids[2]] and inbox("b") == ids
    done = client.post(f"/api/v1/tasks/{ids[2]}/complete", headers=people["a"], json={"variables": {"amount": 1}})
    assert done.status_code == 200
    assert inbox("a") == [ids[0]] and inbox("b") == [ids[0], ids[1]]
