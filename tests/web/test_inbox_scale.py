"""The inbox at 2,000 open tasks of one role (real database, both backends): the page, the search and the counts per
role come from the database (the API's task query), so they stay right beyond the 500 tasks the inbox used to read.

One case is started through the service; its instance and open task are then copied 1,999 times with Core inserts
(each copy a case of its own with its own business key), which is what 1,999 starts would leave in these tables."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform.context import Caller
from mso_flow.store.models import HumanTask, ProcessInstance, TaskCandidate
from tests.web.conftest import CLERK, login, plain

TASKS = 2000
HELD_BY_OTHER = {n for n in range(1, TASKS) if n % 20 == 0}  # clerk2 holds these: not clerk1's to work


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


@pytest.fixture
def many(services, saraban, person, make_user):
    """2,000 open tasks of the clerks' role, 1,999 of them copies; every 20th copy held by clerk2."""
    person("clerk1", CLERK)
    person("clerk2", CLERK)
    first = instances.start(services, Caller("clerk1", frozenset({CLERK})), saraban, "พม 0201/0000", {})
    now = services.clock()
    with services.db.write() as session:
        instance = _columns(session.get(ProcessInstance, first.instance.id))
        task = _columns(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance["id"])).one())
        new_instances, new_tasks, new_candidates = [], [], []
        for n in range(1, TASKS):
            instance_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
            held = "clerk2" if n in HELD_BY_OTHER else None
            due = now + timedelta(hours=n - 300)  # the first 300 copies are overdue
            new_instances.append({**instance, "id": instance_id, "business_key": f"พม 0201/{n:04d}"})
            new_tasks.append({**task, "id": task_id, "instance_id": instance_id, "assignee": held, "due_at": due})
            new_candidates.append({"task_id": task_id, "role": CLERK, "due_at": due, "assignee": held})
        session.execute(insert(ProcessInstance), new_instances)
        session.execute(insert(HumanTask), new_tasks)
        session.execute(insert(TaskCandidate), new_candidates)
    return make_user("api_clerk", CLERK)


def _task_links(html: str) -> list[str]:
    return re.findall(r'href="/app/tasks/([0-9a-f-]+)"', html)


def test_inbox_pages_searches_and_counts_in_the_database(client, many):
    login(client, "clerk1")
    workable = TASKS - len(HELD_BY_OTHER)
    overdue = len([n for n in range(1, 300) if n not in HELD_BY_OTHER])

    first = plain(client.get("/app/"))
    assert f"งานที่ทำได้ {workable} งาน (แสดง 1–50)" in first
    assert len(_task_links(first)) == 50 and 'rel="next"' in first and 'rel="prev"' not in first
    assert f"{workable} งาน</span>" in first and f"เกินกำหนด {overdue}<" in first  # the role's count
    assert client.get("/app/counts").json() == {CLERK: {"open": workable, "overdue": overdue}}

    second = plain(client.get("/app/", params={"offset": 50}))
    assert not set(_task_links(first)) & set(_task_links(second))
    last = plain(client.get("/app/", params={"offset": workable - 10}))
    assert len(_task_links(last)) == 10 and 'rel="next"' not in last and 'rel="prev"' in last

    # part of a business key, beyond the first 500 tasks by due date: 0201/1200 … 0201/1299, less clerk2's five
    found = plain(client.get("/app/", params={"q": "0201/12"}))
    assert "พบ 95 งาน" in found and len(_task_links(found)) == 50
    assert "พม 0201/1299" in plain(client.get("/app/", params={"q": "0201/1299"}))
    assert "พบ 0 งาน" in plain(client.get("/app/", params={"q": "0201/12%"}))  # a LIKE wildcard is literal
    by_name = plain(client.get("/app/", params={"q": "สารบรรณกลางรับ", "role": CLERK}))
    assert f"พบ {workable} งาน" in by_name
    by_process = plain(client.get("/app/", params={"q": "การบริหารงานสารบรรณ"}))
    assert f"พบ {workable} งาน" in by_process


def test_api_task_search_matches_the_inbox(client, many):
    response = client.get("/api/v1/tasks", params={"q": "0201/12", "limit": 10}, headers=many)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 95 and len(response.json()["items"]) == 10
    everyone = client.get("/api/v1/tasks", params={"limit": 1}, headers=many).json()["total"]
    assert everyone == TASKS - len(HELD_BY_OTHER)
