"""The สารบรรณ process of the manual, driven end to end over HTTP by staff of each lane."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.documents.files import attach_letter

CLERK = "เจ้าหน้าที่งานสารบรรณ"
HEAD = "หัวหน้าฝ่ายสารบรรณ"
OWNER = "เจ้าของเรื่อง"


@pytest.fixture
def staff(make_user):
    return {
        "integrator": make_user("esaraban", "integrator"),
        "clerk": make_user("clerk1", CLERK),
        "head": make_user("head1", HEAD),
        "owner": make_user("owner1", OWNER),
    }


def _only_task(client, headers, instance_id):
    body = client.get("/api/v1/tasks", headers=headers, params={"process_instance_id": instance_id}).json()
    assert body["total"] == 1, body
    return body["items"][0]


def _work(client, headers, instance_id, element_id, variables):
    task = _only_task(client, headers, instance_id)
    assert task["element_id"] == element_id
    if element_id == "Task_register":  # step ๓ scans or attaches the letter's file (required)
        attach_letter(client, headers, task["id"], instance_id)
    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["assignee"] is not None
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"variables": variables})
    assert done.status_code == 200, done.text
    return done.json()


def test_every_lane_works_the_process_to_its_end_with_a_loop(client, saraban, staff):
    started = client.post(
        f"/api/v1/process-definitions/{saraban}/start",
        headers=staff["integrator"],
        json={"business_key": "กก-2567/001", "variables": {"channel": "e-saraban"}},
    )
    assert started.status_code == 201, started.text
    instance = started.json()
    assert instance["state"] == "running"
    assert instance["business_key"] == "กก-2567/001"
    assert [t["element_id"] for t in instance["active_tasks"]] == ["Task_receive"]
    iid = instance["id"]

    _work(client, staff["clerk"], iid, "Task_receive", {"subject": "ขอความอนุเคราะห์ข้อมูล", "speed": "urgent"})
    result = _work(client, staff["clerk"], iid, "Task_check", {"documents_complete": False})
    assert [t["element_id"] for t in result["instance"]["active_tasks"]] == ["Task_owner_fix"]
    assert result["instance"]["active_tasks"][0]["lane"] == OWNER
    _work(client, staff["owner"], iid, "Task_owner_fix", {})
    _work(client, staff["clerk"], iid, "Task_check", {"documents_complete": True})
    _work(client, staff["clerk"], iid, "Task_register", {})
    _work(client, staff["clerk"], iid, "Task_sort", {"importance": "important"})
    _work(client, staff["head"], iid, "Task_review", {"orders": "ให้กองยุทธศาสตร์ดำเนินการ"})
    _work(client, staff["clerk"], iid, "Task_record", {})
    last = _work(client, staff["clerk"], iid, "Task_send", {})

    final = last["instance"]
    assert final["state"] == "completed"
    assert final["active_tasks"] == []
    assert final["ended_at"] is not None
    assert final["variables"]["subject"] == "ขอความอนุเคราะห์ข้อมูล"
    assert final["variables"]["orders"] == "ให้กองยุทธศาสตร์ดำเนินการ"

    audit = client.get(
        f"/api/v1/process-instances/{iid}/audit", headers=staff["integrator"], params={"limit": 500}
    ).json()
    events = audit["items"]
    assert [e["seq"] for e in events] == list(range(1, audit["total"] + 1))
    completed = [(e["element_id"], e["actor"]) for e in events if e["type"] == "task_completed"]
    assert completed == [
        ("Task_receive", "clerk1"),
        ("Task_check", "clerk1"),
        ("Task_owner_fix", "owner1"),
        ("Task_check", "clerk1"),
        ("Task_register", "clerk1"),
        ("Task_sort", "clerk1"),
        ("Task_review", "head1"),
        ("Task_record", "clerk1"),
        ("Task_send", "clerk1"),
    ]
    assert events[0]["type"] == "instance_started" and events[0]["actor"] == "esaraban"
    assert events[-1]["type"] == "instance_completed"
    claims = [e for e in events if e["type"] == "task_claimed"]
    assert len(claims) == 9
    times = [datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    for event in events:
        if event["type"] == "task_completed":
            created = next(e for e in events if e["type"] == "task_created" and e["task_id"] == event["task_id"])
            claimed = next(e for e in events if e["type"] == "task_claimed" and e["task_id"] == event["task_id"])
            assert created["seq"] < claimed["seq"] < event["seq"]


def test_routine_letters_skip_the_supervisor(client, saraban, staff):
    iid = client.post(f"/api/v1/process-definitions/{saraban}/start", headers=staff["integrator"], json={}).json()["id"]
    _work(client, staff["clerk"], iid, "Task_receive", {"subject": "แจ้งเวียน"})
    _work(client, staff["clerk"], iid, "Task_check", {"documents_complete": True})
    _work(client, staff["clerk"], iid, "Task_register", {})
    result = _work(client, staff["clerk"], iid, "Task_sort", {"importance": "routine"})
    assert [t["element_id"] for t in result["instance"]["active_tasks"]] == ["Task_record"]


def test_task_due_dates_come_from_the_manual_durations(client, saraban, staff):
    instance = client.post(f"/api/v1/process-definitions/{saraban}/start", headers=staff["integrator"], json={}).json()
    task = client.get(f"/api/v1/tasks/{instance['active_tasks'][0]['id']}", headers=staff["clerk"]).json()
    created, due = datetime.fromisoformat(task["created_at"]), datetime.fromisoformat(task["due_at"])
    assert due - created == timedelta(minutes=1)  # step ๑: ๑ นาที
    assert task["lane"] == CLERK and task["candidate_roles"] == [CLERK]
    assert [f["id"] for f in task["form"]] == ["subject", "secrecy", "speed"]
    speed = next(f for f in task["form"] if f["id"] == "speed")
    assert [v["name"] for v in speed["enum"]] == ["ปกติ", "ด่วน", "ด่วนมาก", "ด่วนที่สุด"]


def test_unassigned_task_is_claimed_and_completed_in_one_step(client, saraban, staff):
    instance = client.post(f"/api/v1/process-definitions/{saraban}/start", headers=staff["integrator"], json={}).json()
    task_id = instance["active_tasks"][0]["id"]
    done = client.post(
        f"/api/v1/tasks/{task_id}/complete", headers=staff["clerk"], json={"variables": {"subject": "x"}}
    )
    assert done.status_code == 200, done.text
    assert done.json()["task"]["assignee"] == "clerk1"
    assert done.json()["task"]["completed_by"] == "clerk1"
    assert done.json()["task"]["state"] == "completed"
