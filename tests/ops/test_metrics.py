"""`GET /metrics`: Prometheus text that the official parser reads, guarded by a token or loopback, whose counters
and gauges move when work is done."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mso_flow.api.app import create_app
from mso_flow.services.integrations import webhook_delivery
from mso_flow.store.models import Timer
from mso_flow.telemetry import logs
from tests.documents.files import attach_letter
from tests.live import free_port
from tests.receiver import Receiver

CLERK = "เจ้าหน้าที่งานสารบรรณ"
TOKEN = "metrics-secret"
ROUTINE = [
    ("Task_receive", {"subject": "แจ้งเวียน"}),
    ("Task_check", {"documents_complete": True}),
    ("Task_register", {}),
    ("Task_sort", {"importance": "routine"}),
    ("Task_record", {}),
    ("Task_send", {}),
]


@pytest.fixture
def metered(services):
    services.settings = services.settings.model_copy(
        update={"metrics_token": TOKEN, "webhook_allowed_networks": "127.0.0.1/32"}  # the test receiver
    )
    return services


def scrape(client: TestClient) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_need_the_token_or_loopback(services, metered):
    with TestClient(create_app(services=metered), raise_server_exceptions=False) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["content-type"] == "application/problem+json"
        assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    services.settings = services.settings.model_copy(update={"metrics_token": None})
    with TestClient(create_app(services=services), raise_server_exceptions=False) as remote:
        assert remote.get("/metrics").status_code == 403
    with TestClient(create_app(services=services), client=("127.0.0.1", 40000)) as local:
        assert local.get("/metrics").status_code == 200
    with TestClient(create_app(services=services), client=("::1", 40000)) as local6:
        assert local6.get("/metrics").status_code == 200


def test_counters_and_gauges_move_when_work_is_done(metered, saraban, make_user, admin):
    receiver = Receiver(free_port()).start()
    clerk = make_user("clerk1", CLERK)
    integrator = make_user("esaraban", "integrator")
    try:
        with TestClient(create_app(services=metered), raise_server_exceptions=False) as client:
            hook = client.post(
                "/api/v1/webhooks",
                headers=integrator,
                json={"url": receiver.url, "events": ["instance.completed"], "secret": "s" * 32},
            )
            assert hook.status_code == 201, hook.text
            before = scrape(client)
            start_route = "/api/v1/process-definitions/{key}/start"
            started = client.post(f"/api/v1/process-definitions/{saraban}/start", headers=integrator, json={})
            iid = started.json()["id"]
            during = scrape(client)
            assert value(during, "mso_flow_instances_started_total", process=saraban) == (
                value(before, "mso_flow_instances_started_total", process=saraban) + 1
            )
            assert value(during, "mso_flow_http_requests_total", method="POST", route=start_route, status="201") == (
                value(before, "mso_flow_http_requests_total", method="POST", route=start_route, status="201") + 1
            )
            assert (
                value(
                    during,
                    "mso_flow_http_request_duration_seconds_count",
                    method="POST",
                    route=start_route,
                    status="201",
                )
                == value(
                    before,
                    "mso_flow_http_request_duration_seconds_count",
                    method="POST",
                    route=start_route,
                    status="201",
                )
                + 1
            )
            unit = next(k for k in during if k[0] == "mso_flow_tasks_open" and ("role", CLERK) in k[1])
            assert during[unit] == 1
            assert value(during, "mso_flow_tasks_overdue", **dict(unit[1])) == 0
            # a day later the first step (one minute) is overdue
            clock = metered.clock
            metered.clock = lambda: clock() + timedelta(days=1)
            assert value(scrape(client), "mso_flow_tasks_overdue", **dict(unit[1])) == 1
            metered.clock = clock

            for element_id, variables in ROUTINE:
                [task] = client.get("/api/v1/tasks", headers=clerk, params={"process_instance_id": iid}).json()["items"]
                assert task["element_id"] == element_id
                if element_id == "Task_register":  # step ๓ attaches the letter's file (required)
                    attach_letter(client, clerk, task["id"], iid)
                done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=clerk, json={"variables": variables})
                assert done.status_code == 200, done.text
            assert done.json()["instance"]["state"] == "completed"
            after = scrape(client)
            assert value(after, "mso_flow_instances_completed_total", process=saraban) == (
                value(before, "mso_flow_instances_completed_total", process=saraban) + 1
            )
            assert (unit[0], unit[1]) not in after or after[unit] == 0
            assert value(after, "mso_flow_webhook_deliveries", state="pending") == 1
            assert value(after, "mso_flow_webhook_deliveries", state="failed") == 0
            assert value(after, "mso_flow_incidents_open") == 0
            assert value(after, "mso_flow_timer_lag_seconds") == 0

            assert webhook_delivery.deliver_due(metered) == 1
            delivered = scrape(client)
            assert value(delivered, "mso_flow_webhook_deliveries", state="pending") == 0
            assert value(delivered, "mso_flow_webhook_delivery_latency_seconds_count") == (
                value(after, "mso_flow_webhook_delivery_latency_seconds_count") + 1
            )

            with metered.db.write() as session:  # a timer that fell due 90 s ago and was not fired yet
                now = metered.clock()
                session.add(
                    Timer(
                        id=str(uuid.uuid4()),
                        instance_id=None,
                        definition_id="central_saraban:1",
                        element_id="Start",
                        kind="start",
                        due_at=now - timedelta(seconds=90),
                        state="waiting",
                        created_at=now,
                    )
                )
            assert value(scrape(client), "mso_flow_timer_lag_seconds") >= 90
            missing = client.get("/api/v1/no-such-thing", headers=clerk)
            assert missing.status_code == 404
            assert (
                value(scrape(client), "mso_flow_http_requests_total", method="GET", route="unmatched", status="404")
                >= 1
            )
    finally:
        receiver.stop()


def test_a_request_logs_one_json_line_with_its_id_and_no_variables(services, saraban, make_user, caplog):
    clerk = make_user("clerk1", CLERK)
    integrator = make_user("esaraban", "integrator")
    secret_subject = "นายสมชาย ใจดี เลขบัตร 1234567890123"
    with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
        iid = client.post(f"/api/v1/process-definitions/{saraban}/start", headers=integrator, json={}).json()["id"]
        [task] = client.get("/api/v1/tasks", headers=clerk, params={"process_instance_id": iid}).json()["items"]
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="mso_flow"):
            response = client.post(
                f"/api/v1/tasks/{task['id']}/complete",
                headers={**clerk, "X-Request-ID": "req-42"},
                json={"variables": {"subject": secret_subject}},
            )
        assert response.status_code == 200 and response.headers["X-Request-ID"] == "req-42"
        generated = client.get("/api/v1/me", headers={**clerk, "X-Request-ID": "bad id\twith tab"})
        assert generated.headers["X-Request-ID"] != "bad id\twith tab" and len(generated.headers["X-Request-ID"]) == 32
    # the complete's line (the /me request after it may log too, when an earlier test left INFO on)
    [access] = [r for r in caplog.records if r.name == "mso_flow.access" and r.request_id == "req-42"]
    assert (access.request_id, access.user, access.method, access.route, access.status) == (
        "req-42",
        "clerk1",
        "POST",
        "/api/v1/tasks/{task_id}/complete",
        200,
    )
    assert access.duration_ms > 0
    engine = [r for r in caplog.records if r.name == "mso_flow.engine"]
    assert {r.event for r in engine} >= {"task_completed", "task_created"}
    assert all(r.instance_id == iid and r.request_id == "req-42" for r in engine)
    formatter = logs.formatter("json")
    lines = [formatter.format(r) for r in caplog.records]
    parsed = [json.loads(line) for line in lines]
    line = json.loads(formatter.format(access))
    assert line["request_id"] == "req-42" and line["route"] == "/api/v1/tasks/{task_id}/complete"
    assert all("message" in p for p in parsed)
    assert all(secret_subject not in line and "1234567890123" not in line for line in lines)
