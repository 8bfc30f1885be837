"""History that can be trusted (hash-chained audit, verify, export), KPI reports on seeded data, and diagrams."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mso_flow.engine.parsing import parse_document
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM
from tests.api.test_staff_work import STAFF, Clock
from tests.factory import approval

BKK = ZoneInfo("Asia/Bangkok")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BKK)
BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def clock(services):
    services.clock = Clock(MONDAY)
    return services.clock


@pytest.fixture
def people(make_user):
    return {
        "integrator": make_user("integrator1", "integrator"),
        "clerk": make_user("somchai", STAFF),
        "director": make_user("director", "ผู้อำนวยการ"),
        "admin": make_user("root", "admin"),
    }


@pytest.fixture
def process(services):
    definitions.deploy(services, SYSTEM, [("approval.bpmn", approval())])
    return "test_approval"


def _start(client, people):
    response = client.post("/api/v1/process-definitions/test_approval/start", headers=people["integrator"], json={})
    assert response.status_code == 201, response.text
    return response.json()


def _complete(client, headers, task_id, variables):
    response = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def _run_to_end(client, people):
    instance = _start(client, people)
    done = _complete(client, people["clerk"], instance["active_tasks"][0]["id"], {"amount": 90000})
    _complete(client, people["director"], done["instance"]["active_tasks"][0]["id"], {})
    return instance["id"]


def _verify(client, people, instance_id):
    response = client.get(f"/api/v1/process-instances/{instance_id}/audit/verify", headers=people["admin"])
    assert response.status_code == 200, response.text
    return response.json()


def _tamper(services, statement: str, **params) -> None:
    """Change history behind the service's back (on PostgreSQL, as a superuser who lifts the trigger)."""
    with services.db.engine.begin() as connection:
        if services.db.dialect == "postgresql":
            connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        connection.execute(text(statement), params)
        if services.db.dialect == "postgresql":
            connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))


def test_verify_accepts_an_untouched_chain(client, process, people):
    instance_id = _run_to_end(client, people)
    assert _verify(client, people, instance_id) == {"ok": True, "events": 8, "first_bad_seq": None, "reason": None}


def test_an_edited_event_is_named(client, services, process, people):
    instance_id = _run_to_end(client, people)
    _tamper(
        services,
        "UPDATE audit_event SET actor = 'someone_else' WHERE instance_id = :i AND seq = 4",
        i=instance_id,
    )
    assert _verify(client, people, instance_id) == {
        "ok": False,
        "events": 8,
        "first_bad_seq": 4,
        "reason": "content_changed",
    }


def test_a_deleted_event_is_named(client, services, process, people):
    instance_id = _run_to_end(client, people)
    _tamper(services, "DELETE FROM audit_event WHERE instance_id = :i AND seq = 3", i=instance_id)
    result = _verify(client, people, instance_id)
    assert (result["ok"], result["first_bad_seq"], result["reason"]) == (False, 3, "missing_event")


def test_a_deleted_last_event_is_noticed(client, services, process, people):
    instance_id = _run_to_end(client, people)
    _tamper(services, "DELETE FROM audit_event WHERE instance_id = :i AND seq = 8", i=instance_id)
    result = _verify(client, people, instance_id)
    assert (result["ok"], result["first_bad_seq"], result["reason"]) == (False, 8, "missing_event")


def test_postgresql_refuses_to_change_history(client, services, process, people):
    if services.db.dialect != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's; SQLite relies on the service having no update path")
    instance_id = _run_to_end(client, people)
    for statement in ("UPDATE audit_event SET actor = 'x' WHERE instance_id = :i", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), services.db.engine.begin() as connection:
            connection.execute(text(statement), {"i": instance_id})
    assert _verify(client, people, instance_id)["ok"] is True


def test_export_as_json_lines_and_csv(client, process, people):
    instance_id = _run_to_end(client, people)
    url = f"/api/v1/process-instances/{instance_id}/audit/export"
    jsonl = client.get(url, headers=people["admin"])
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, 9))
    assert all(events[i]["prev_hash"] == events[i - 1]["hash"] for i in range(1, 8))
    assert events[0]["type"] == "instance_started" and events[-1]["type"] == "instance_completed"

    exported = client.get(url, headers=people["admin"], params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["seq"], r["type"], r["hash"]) for r in rows] == [(str(e["seq"]), e["type"], e["hash"]) for e in events]
    created = next(r for r in rows if r["type"] == "task_created")
    assert json.loads(created["data"])["lane"] == STAFF
    assert client.get(url, headers=people["admin"], params={"format": "xml"}).status_code == 422
    assert client.get(url, headers=people["clerk"]).status_code == 200
    outsider = client.post(
        "/api/v1/users", headers=people["admin"], json={"username": "x", "roles": ["อื่น"], "force": True}
    )
    other = {"Authorization": f"Bearer {outsider.json()['token']}"}
    assert client.get(url, headers=other).status_code == 403


def _seed_kpi_data(client, clock, people):
    """Three instances started Monday 09:00 (step `enter` due Tuesday 09:00, P1D on the working calendar):
    entered after 1 h, 2 h and 30 h (late); the third is large and approved 1 h later (PT4H: on time)."""
    ids = []
    for hours, amount in ((1, 100), (2, 100), (30, 90000)):
        clock.now = MONDAY.astimezone(UTC)
        instance = _start(client, people)
        clock.now += timedelta(hours=hours)
        done = _complete(client, people["clerk"], instance["active_tasks"][0]["id"], {"amount": amount})
        if amount > 50000:
            clock.now += timedelta(hours=1)
            _complete(client, people["director"], done["instance"]["active_tasks"][0]["id"], {})
        ids.append(instance["id"])
    clock.now = MONDAY.astimezone(UTC)
    return ids


def test_kpi_equals_hand_computed_figures(client, clock, process, people):
    _seed_kpi_data(client, clock, people)
    report = client.get("/api/v1/reports/kpi", headers=people["admin"], params={"key": "test_approval"}).json()
    [p] = report["processes"]
    # instances took 1 h, 2 h, 31 h: median 2 h; p90 = 2 h + 0.8 * (31 h - 2 h); two of three had every step on time
    assert (p["key"], p["count"], p["unit"]) == ("test_approval", 3, "หน่วยทดสอบ")
    assert p["median_seconds"] == pytest.approx(7200, abs=0.5)
    assert p["p90_seconds"] == pytest.approx(7200 + 0.8 * (111600 - 7200), abs=0.5)
    assert p["on_time_ratio"] == pytest.approx(2 / 3)
    enter, approve = p["steps"]
    assert (enter["element_id"], enter["name"], enter["count"]) == ("Task_enter", "กรอกจำนวนเงิน", 3)
    assert enter["median_seconds"] == pytest.approx(7200, abs=0.5)
    assert enter["p90_seconds"] == pytest.approx(7200 + 0.8 * (108000 - 7200), abs=0.5)
    assert (enter["standard_duration"], enter["standard_seconds"]) == ("P1D", 86400)
    assert enter["on_time_ratio"] == pytest.approx(2 / 3)
    assert (approve["element_id"], approve["count"], approve["standard_seconds"]) == ("Task_approve", 1, 14400)
    assert approve["median_seconds"] == pytest.approx(3600, abs=0.5)
    assert approve["p90_seconds"] == pytest.approx(3600, abs=0.5)
    assert approve["on_time_ratio"] == 1.0


def test_kpi_filters_and_csv(client, clock, process, people):
    _seed_kpi_data(client, clock, people)
    headers = people["admin"]
    later = {"from": (MONDAY + timedelta(hours=3)).isoformat()}
    [p] = client.get("/api/v1/reports/kpi", headers=headers, params=later).json()["processes"]
    assert (p["count"], [s["count"] for s in p["steps"]]) == (1, [1, 1])
    assert client.get("/api/v1/reports/kpi", headers=headers, params={"unit": "กองกลาง"}).json()["processes"] == []
    by_unit = client.get("/api/v1/reports/kpi", headers=headers, params={"unit": "หน่วยทดสอบ"}).json()
    assert [p["key"] for p in by_unit["processes"]] == ["test_approval"]
    bad = client.get("/api/v1/reports/kpi", headers=headers, params={"from": "2026-12-01T00:00:00"})
    assert bad.status_code == 422
    exported = client.get("/api/v1/reports/kpi", headers={**headers, "Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["element_id"], r["count"]) for r in rows] == [("", "3"), ("Task_enter", "3"), ("Task_approve", "1")]
    assert rows[1]["step"] == "กรอกจำนวนเงิน"


def test_overdue_report_per_unit_and_role(client, clock, process, people):
    _start(client, people)
    _start(client, people)
    clock.now = (MONDAY + timedelta(days=1, hours=1)).astimezone(UTC)  # past Tuesday 09:00
    _start(client, people)
    report = client.get("/api/v1/reports/overdue", headers=people["admin"]).json()
    assert report["by_unit"] == [{"name": "หน่วยทดสอบ", "open": 3, "overdue": 2}]
    assert report["by_role"] == [{"name": STAFF, "open": 3, "overdue": 2}]


def _svg(response) -> etree._Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    return etree.fromstring(response.content)


def _titles(root: etree._Element) -> dict[str, str]:
    return {
        g.get("data-element-id"): g.find(f"{SVG}title").text
        for g in root.iter(f"{SVG}g")
        if g.get("data-element-id") and g.find(f"{SVG}title") is not None
    }


def test_every_process_of_bpmn_renders_with_all_its_task_names(client, services, people):
    definitions.deploy_directory(services, BPMN_DIR)
    for path in sorted(BPMN_DIR.rglob("*.bpmn")):
        [process] = parse_document(path.read_bytes(), str(path))
        model = process.definition
        root = _svg(client.get(f"/api/v1/process-definitions/{model.key}/diagram.svg", headers=people["clerk"]))
        titles = _titles(root)
        for task in model.user_tasks:
            assert titles.get(task.element_id) == task.name, f"{path.name}: {task.element_id}"
        for lane in model.lanes:
            assert lane in titles.values(), f"{path.name}: lane {lane}"
        drawn = " ".join(t.text or "" for t in root.iter(f"{SVG}tspan", f"{SVG}text"))
        assert model.user_tasks[0].name.split()[0][:4] in drawn


def test_instance_diagram_marks_completed_and_active_tasks(client, process, people):
    instance = _start(client, people)
    done = _complete(client, people["clerk"], instance["active_tasks"][0]["id"], {"amount": 90000})
    assert done["instance"]["active_tasks"][0]["element_id"] == "Task_approve"
    root = _svg(client.get(f"/api/v1/process-instances/{instance['id']}/diagram.svg", headers=people["admin"]))
    groups = {g.get("data-element-id"): g for g in root.iter(f"{SVG}g") if g.get("data-element-id")}
    enter, approve = groups["Task_enter"], groups["Task_approve"]
    assert "completed" in enter.get("class") and "active" not in enter.get("class")
    assert "active" in approve.get("class")
    badges = {g.get("data-count-for"): "".join(g.itertext()) for g in root.iter(f"{SVG}g") if g.get("data-count-for")}
    assert badges == {"Task_enter": "1", "Task_approve": "1"}
    definition = _svg(client.get("/api/v1/process-definitions/test_approval/diagram.svg", headers=people["admin"]))
    plain = {g.get("data-element-id"): g for g in definition.iter(f"{SVG}g") if g.get("data-element-id")}
    assert "completed" not in plain["Task_enter"].get("class")
    missing = client.get("/api/v1/process-instances/nope/diagram.svg", headers=people["admin"])
    assert missing.status_code == 404
