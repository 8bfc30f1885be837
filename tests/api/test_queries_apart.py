"""Queries apart (issue 28 item 2): commands answer ids and states; the faces read what they show through queries
that return frozen views, never ORM rows; and a read of personal values is logged once, by the query that shows
them — a face that shows nothing (a 204 of /engine-rest, a redirect of the web app) logs none."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy import func, select

from mso_flow.services.accounts import logins as accounts
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import incidents
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.instances import queries as instance_queries
from mso_flow.services.integrations import webhooks
from mso_flow.services.operations import cockpit
from mso_flow.services.platform.context import SYSTEM, Caller
from mso_flow.services.platform.defects import ProcessDefect
from mso_flow.services.tasks import comments
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.services.tasks import queries as task_queries
from mso_flow.store.models import Base, PersonalDataRead, ProcessInstance
from tests.api import test_personal_data
from tests.api.test_personal_data import REPORTER, STAFF, _ok
from tests.api.test_privacy_boundaries import PROBE
from tests.factory import approval
from tests.web.conftest import PASSWORD, login, plain

API, ROOT = "/api/v1", "/engine-rest"
people = test_personal_data.people  # the hotline's people: its e-service, staff, admin, auditor, privacy officer


def _reads(services, instance_id: str) -> int:
    with services.db.read() as session:
        return session.scalar(
            select(func.count()).select_from(PersonalDataRead).where(PersonalDataRead.instance_id == instance_id)
        )


def _received(client, people) -> tuple[str, str]:
    """A hotline case just received from the e-service: its id and its first task's (nothing personal yet)."""
    body = {"name": "hotline_intake", "business_key": f"1300-{uuid.uuid4().hex[:8]}"}
    instance_id = _ok(client.post(f"{API}/messages", headers=people["system"], json=body))["instance_id"]
    [task] = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["staff"]))["active_tasks"]
    return instance_id, task["id"]


def _recorded(client, people) -> tuple[str, str]:
    """A case whose reporter is recorded (a sealed personal value), completed through /engine-rest; its id and its
    open task's."""
    instance_id, first = _received(client, people)
    typed = {"channel": {"value": "hotline", "type": "String"}, "reporter_name": {"value": REPORTER, "type": "String"}}
    done = client.post(f"{ROOT}/task/{first}/complete", headers=people["staff"], json={"variables": typed})
    assert done.status_code == 204, done.text
    [task] = _ok(client.get(f"{API}/process-instances/{instance_id}", headers=people["admin"]))["active_tasks"]
    return instance_id, task["id"]


def test_engine_rest_shows_nothing_and_logs_no_read_v1_shows_the_case_and_logs_one(client, services, people):
    instance_id, task_id = _recorded(client, people)
    staff = people["staff"]
    before = _reads(services, instance_id)
    # /engine-rest: a claim and an unclaim answer 204, the task without its variables; nothing is shown
    assert client.post(f"{ROOT}/task/{task_id}/claim", headers=staff, json={}).status_code == 204
    assert _ok(client.get(f"{ROOT}/task/{task_id}", headers=staff))["assignee"] == "somchai"
    assert client.post(f"{ROOT}/task/{task_id}/assignee", headers=staff, json={"userId": None}).status_code == 204
    assert _reads(services, instance_id) == before
    # v1: the claim answers with the case's values, read once and logged once
    claimed = _ok(client.post(f"{API}/tasks/{task_id}/claim", headers=staff))
    assert claimed["assignee"] == "somchai" and claimed["variables"]["reporter_name"] == REPORTER
    assert _reads(services, instance_id) == before + 1
    # v1: the completion answers with the task and the case, one read logged for both
    done = _ok(client.post(f"{API}/tasks/{task_id}/complete", headers=staff, json={"variables": {"problem": "ป่วย"}}))
    assert done["task"]["state"] == "completed" and done["task"]["variables"]["reporter_name"] == REPORTER
    assert done["instance"]["variables"]["reporter_name"] == REPORTER and done["instance"]["active_tasks"]
    assert _reads(services, instance_id) == before + 2
    # /engine-rest: completing the next task answers 204 and logs nothing
    [next_task] = done["instance"]["active_tasks"]
    values = {"case_number": "ศชส-1", "contact_location": "บ้านเลขที่ 1", "urgency": "normal"}
    typed = {name: {"value": value, "type": "String"} for name, value in values.items()}
    answer = client.post(f"{ROOT}/task/{next_task['id']}/complete", headers=staff, json={"variables": typed})
    assert answer.status_code == 204, answer.text
    assert _reads(services, instance_id) == before + 2


def test_the_web_task_page_logs_one_read_not_two(client, services, people):
    """The task page reads the task with the case's values once (one read logged); the case's reference it also
    shows is read as a record that opens nothing (before, the whole case was disclosed again and logged twice)."""
    instance_id, task_id = _recorded(client, people)
    accounts.set_password(services, "somchai", PASSWORD)
    login(client, "somchai")
    before = _reads(services, instance_id)
    page = client.get(f"/app/tasks/{task_id}")
    assert page.status_code == 200 and instance_id in plain(page)
    assert _reads(services, instance_id) == before + 1


def _incident(services) -> str:
    """An approval whose gateway divides by zero for 70000, sent 70000: the id of the incident it opens."""
    definitions.deploy(services, SYSTEM, [("approval.bpmn", approval(condition="100 / (amount - 70000) > 0"))])
    started = instances.start(services, SYSTEM, "test_approval", None, {})
    clerk = Caller("clerk", frozenset({"เจ้าหน้าที่"}))
    with pytest.raises(ProcessDefect) as failed:
        tasks.complete(services, clerk, started.active_tasks[0].id, {"amount": 70000})
    return failed.value.extra["incident_id"]


def test_the_faces_get_frozen_views_and_no_row_of_the_store(client, services, people):
    services.settings = services.settings.model_copy(update={"webhook_allowed_networks": "127.0.0.0/8"})
    integrator, admin = Caller("bot", frozenset({"integrator"})), Caller("admin", frozenset({"admin"}))
    hook = webhooks.create(services, integrator, "http://127.0.0.1:9/hook", ["*"], "s" * 32)
    instance_id, task_id = _recorded(client, people)
    staff = Caller("somchai", frozenset({STAFF}))
    change = tasks.claim(services, staff, task_id)
    comment = comments.add(services, staff, task_id, "โทรกลับผู้แจ้งแล้ว")
    [view] = task_queries.changed(services, staff, [change])
    case = instance_queries.get(services, staff, instance_id)
    trail, _ = instance_queries.audit(services, staff, instance_id, 0, 50)
    listed, _ = task_queries.listing(services, staff, task_queries.TaskFilter(), 0, 10)
    done = tasks.complete(services, staff, task_id, {"problem": "ป่วย"})
    shown = [change, comment, view, view.task, case, case.instance, *case.active_tasks, *trail, *listed, done]
    incident_id = _incident(services)
    found = incidents.get(services, admin, incident_id)
    page = cockpit.incident_page(services, admin, incidents.IncidentFilter(), 0, 10)
    detail = cockpit.incident(services, admin, incident_id)
    running, _, _ = cockpit.running(services, admin, None, 0, 10)
    delivered, _, _ = cockpit.webhook_deliveries(services, admin, None, 0, 10)
    hooks, _ = webhooks.listing(services, integrator, 0, 10)
    resolved = incidents.resolve(services, admin, incident_id, "แก้เงื่อนไขแล้ว")
    assert incident_id in [x.id for x in page.items] and delivered and hooks == [hook]
    assert (found.state, resolved.state, resolved.resolution) == ("open", "resolved", "แก้เงื่อนไขแล้ว")
    cockpit_views = [found, page, *page.items, detail, detail.incident, detail.definition, *running]
    shown += [*cockpit_views, *(r.view for r in running), *(x for pair in delivered for x in pair), *hooks, resolved]
    for value in shown:
        assert dataclasses.is_dataclass(value) and not isinstance(value, Base), value
        for field in dataclasses.fields(value):
            assert not isinstance(getattr(value, field.name), Base), (value, field.name)
        first = dataclasses.fields(value)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, first, None)
    assert (done.task_id, done.task_state, done.instance_id) == (task_id, "completed", instance_id)
    assert done.instance_state == "running" and len(done.open_task_ids) == 1


def test_a_start_discloses_and_logs_sealed_values_only_for_a_face_that_shows_them(client, services, make_user):
    """A start of a process with personal fields answers `Started` (nothing opened): v1 shows the new case's values
    to its starter (one read logged); /engine-rest answers the instance without them and logs nothing, unless asked
    `withVariablesInReturn` (then one read)."""
    definitions.deploy(services, SYSTEM, [("probe.bpmn", PROBE)])
    starter = make_user("probe_starter", "integrator", "probe_staff")
    secret = "นายสมหมาย ทดสอบ 0899999999"

    def start(face: str, **extra) -> tuple[str, dict]:
        if face == "v1":
            body = {"variables": {"contact": secret}}
            answer = client.post(f"{API}/process-definitions/privacy_probe/start", headers=starter, json=body)
        else:
            body = {"variables": {"contact": {"value": secret, "type": "String"}}}
            url = f"{ROOT}/process-definition/key/privacy_probe/start"
            answer = client.post(url, headers=starter, json=body | extra)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["id"], answer.json()

    instance_id, shown = start("v1")
    assert shown["variables"]["contact"] == secret and shown["active_tasks"]
    assert _reads(services, instance_id) == 1
    instance_id, shown = start("engine-rest")
    assert "variables" not in shown and _reads(services, instance_id) == 0
    instance_id, shown = start("engine-rest", withVariablesInReturn=True)
    assert shown["variables"]["contact"]["value"] == secret and _reads(services, instance_id) == 1
    with services.db.read() as session:  # the value is stored sealed: the reads above opened it
        stored = session.get(ProcessInstance, instance_id).variables["contact"]
    assert secret not in str(stored)
