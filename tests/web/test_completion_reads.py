"""Completing a task in the web app logs no personal-data read (issue 28): the page shows nothing of the case
after the completion (it goes back to the inbox), so neither the form's lookup nor the command opens a sealed
value for it. (Before, a preliminary `tasks.get` opened the case's values and logged a read nobody saw.)"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from mso_flow.domain import TaskState
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.integrations import messages
from mso_flow.services.platform.context import SYSTEM, Caller
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.services.tasks import queries as task_queries
from mso_flow.store.models import HumanTask, PersonalDataRead
from tests.conftest import BPMN_DIR
from tests.web.conftest import login

HOTLINE = BPMN_DIR / "inspection" / "inspection_hotline_1300.bpmn"
STAFF = "ศูนย์ช่วยเหลือสังคม"
REPORTER = "นางสาวมาลัย ทดสอบลับ 0812345678"


def _open_task(services, instance_id: str) -> HumanTask:
    with services.db.read() as session:
        return session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == TaskState.OPEN)
        ).one()


def _reads(services, instance_id: str) -> int:
    with services.db.read() as session:
        return session.scalar(
            select(func.count()).select_from(PersonalDataRead).where(PersonalDataRead.instance_id == instance_id)
        )


def test_a_completion_in_the_web_app_logs_no_read(client, services, person):
    definitions.deploy(services, SYSTEM, [("inspection/inspection_hotline_1300.bpmn", HOTLINE.read_bytes())])
    person("somchai", STAFF)
    staff = Caller("somchai", frozenset({STAFF}))
    started = messages.send(services, SYSTEM, "hotline_intake", f"1300-{uuid.uuid4().hex[:8]}", None, {})
    instance_id = started.instance_id
    first = _open_task(services, instance_id)
    tasks.complete(services, staff, first.id, {"channel": "hotline", "reporter_name": REPORTER})
    second = _open_task(services, instance_id)
    tasks.claim(services, staff, second.id)
    task_queries.get(services, staff, second.id)  # the task shown to the staff member: one read, logged
    before = _reads(services, instance_id)
    assert before >= 1

    csrf = login(client, "somchai")
    form = {"csrf_token": csrf, "problem": "ถูกทำร้ายร่างกาย"}
    response = client.post(f"/app/tasks/{second.id}/complete", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert _open_task_state(services, second.id) == TaskState.COMPLETED
    assert _reads(services, instance_id) == before


def _open_task_state(services, task_id: str) -> str:
    with services.db.read() as session:
        return session.get(HumanTask, task_id).state
