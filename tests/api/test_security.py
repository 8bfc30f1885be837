"""Security between integrators and against the network (issue 18): webhooks and external-task locks belong to
their owner, webhooks reach only permitted addresses and record error categories, one slow receiver delays only
itself, webhook filters and timestamped signatures (issue 16), delegation only to candidates."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM
from mso_flow.store import webhooks as webhooks_store
from mso_flow.store.models import Webhook
from tests.conftest import ROOT, SARABAN
from tests.live import free_port
from tests.receiver import Receiver

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "integration.bpmn"
SECRET = "secret-of-the-first-integrator"
CLERK, OTHER_ROLE = "เจ้าหน้าที่งานสารบรรณ", "เจ้าหน้าที่การเงิน"


@pytest.fixture
def deployed(services):
    services.settings.webhook_allowed_networks = "127.0.0.1/32"
    services.settings.webhook_backoff_seconds = 0.1
    definitions.deploy(services, SYSTEM, [("integration.bpmn", FIXTURE.read_bytes())])


@pytest.fixture
def first(make_user, deployed):
    return make_user("eservice", "integrator")


@pytest.fixture
def second(make_user, deployed):
    return make_user("portal", "integrator")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(free_port()).start()
    yield started
    started.stop()


def _subscribe(client, headers, url, **extra):
    body = {"url": url, "events": ["*"], "secret": SECRET} | extra
    response = client.post("/api/v1/webhooks", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _start(client, headers, key="it_timers", variables=None):
    response = client.post(
        f"/api/v1/process-definitions/{key}/start", headers=headers, json={"variables": variables or {}}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _deliveries(client, headers, hook):
    response = client.get(f"/api/v1/webhooks/{hook}/deliveries?limit=100", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def deliver_due(services) -> int:
    from mso_flow.services.integrations.webhook_delivery import (
        deliver_due as deliver,  # a module that main does not have
    )

    return deliver(services)


# 1. ownership


def test_a_webhook_is_seen_and_deleted_only_by_its_creator_and_admins(client, first, second, admin, receiver):
    hook = _subscribe(client, first, receiver.url)
    assert client.get("/api/v1/webhooks", headers=second).json() == {"items": [], "total": 0, "offset": 0, "limit": 50}
    for response in (
        client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=second),
        client.delete(f"/api/v1/webhooks/{hook}", headers=second),
    ):
        assert response.status_code == 404 and response.json()["type"].endswith("webhook_not_found")
    assert [w["id"] for w in client.get("/api/v1/webhooks", headers=admin).json()["items"]] == [hook]
    assert [w["id"] for w in client.get("/api/v1/webhooks", headers=first).json()["items"]] == [hook]
    assert client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=first).status_code == 200
    assert client.delete(f"/api/v1/webhooks/{hook}", headers=first).status_code == 204


def test_an_external_task_lock_belongs_to_the_user_and_a_conflict_names_no_worker(client, first, second, admin):
    _start(client, first, "it_external")
    fetched = client.post(
        "/api/v1/external-tasks/fetch-and-lock",
        headers=first,
        json={"worker_id": "finance-1", "topics": [{"name": "payment", "lock_duration_ms": 60_000}]},
    ).json()
    [task] = fetched
    url = f"/api/v1/external-tasks/{task['id']}"
    # the second integrator knows (or guesses) the worker id: it is not enough
    for action, body in (("complete", {}), ("failure", {"retries": 0})):
        stolen = client.post(f"{url}/{action}", headers=second, json={"worker_id": "finance-1"} | body)
        assert stolen.status_code == 409 and stolen.json()["type"].endswith("external_task_not_locked")
        assert "finance-1" not in stolen.text
    guessed = client.post(f"{url}/complete", headers=second, json={"worker_id": "other"})
    assert guessed.status_code == 409 and "finance-1" not in guessed.text and "worker_id" not in guessed.json()
    assert client.post(f"{url}/complete", headers=first, json={"worker_id": "finance-1"}).status_code == 204


# 2. outbound safety


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:{port}/hook",
        "http://[::1]:{port}/hook",
        "http://2130706434:{port}/hook",  # 127.0.0.2, decimal
        "http://0177.0.0.2:{port}/hook",  # octal
        "http://[::ffff:127.0.0.2]:{port}/hook",  # IPv4-mapped IPv6
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3:{port}/hook",
        "http://192.168.1.1/hook",
        "http://0.0.0.0:{port}/hook",
        "http://224.0.0.1/hook",
        "http://[fe80::1]/hook",
    ],
)
def test_a_subscription_to_an_internal_address_is_refused(client, first, url):
    response = client.post(
        "/api/v1/webhooks",
        headers=first,
        json={"url": url.format(port=free_port()), "events": ["*"], "secret": SECRET},
    )
    assert response.status_code == 422 and response.json()["type"].endswith("webhook_address_blocked"), response.text
    assert client.get("/api/v1/webhooks", headers=first).json()["total"] == 0


def test_the_service_itself_and_its_database_are_refused_even_when_allowlisted(client, services, first):
    services.settings.listen_port = port = free_port()
    targets = [f"http://127.0.0.1:{port}/api/v1/users"]
    if services.db.dialect == "postgresql":
        targets.append("http://127.0.0.1:5432/")
    for url in targets:
        response = client.post("/api/v1/webhooks", headers=first, json={"url": url, "events": ["*"], "secret": SECRET})
        assert response.status_code == 422 and response.json()["type"].endswith("webhook_address_blocked"), url


def test_the_address_is_checked_again_at_delivery(client, services, first):
    """A subscription whose name came to resolve to a refused address (here: written behind the API) is not
    called: the delivery records `blocked_address` and the receiver there sees nothing."""
    inside = Receiver(free_port(), host="127.0.0.2").start()
    try:
        with services.db.write() as session:
            webhooks_store.add(
                session,
                Webhook(
                    id=str(uuid.uuid4()),
                    url=inside.url,
                    events=["*"],
                    secret=SECRET,
                    created_by="eservice",
                    created_at=datetime.now(UTC),
                    active=True,
                    consecutive_failures=0,
                ),
            )
        services.subscriptions.invalidate()
        _start(client, first)
        assert deliver_due(services) == 0
    finally:
        inside.stop()
    assert inside.received == []
    [hook] = client.get("/api/v1/webhooks", headers=first).json()["items"]
    assert {d["last_error"] for d in _deliveries(client, first, hook["id"]) if d["attempts"]} == {"blocked_address"}


class Peer:
    """A misbehaving receiver: `respond(handler)` answers each POST."""

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler], None]):
        self.port = free_port()
        self.hits = 0
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                peer.hits += 1
                respond(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def peer(respond: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[Peer]:
    running = Peer(respond)
    try:
        yield running
    finally:
        running.stop()


def _answer(status: int, body: bytes = b"", **headers: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def test_last_error_is_a_category_and_redirects_are_not_followed(client, services, first, receiver):
    unauthorised = _answer(401, b"invalid token for user svc-backup on db-internal:5432")
    with (
        peer(unauthorised) as denied,
        peer(_answer(503, b"upstream db-internal down")) as broken,
        peer(_answer(302, Location=receiver.url)) as redirecting,
        peer(_answer(204)) as plain,
    ):
        hooks = {
            "denied": _subscribe(client, first, denied.url),
            "broken": _subscribe(client, first, broken.url),
            "redirecting": _subscribe(client, first, redirecting.url),
            "refused": _subscribe(client, first, f"http://127.0.0.1:{free_port()}/hook"),
            "tls": _subscribe(client, first, plain.url.replace("http://", "https://")),  # no TLS there
        }
        _start(client, first)
        assert deliver_due(services) == 0
    errors = {
        name: {d["last_error"] for d in _deliveries(client, first, hook) if d["attempts"]}
        for name, hook in hooks.items()
    }
    assert errors == {
        "denied": {"http_4xx"},
        "broken": {"http_5xx"},
        "redirecting": {"http_3xx"},
        "refused": {"refused"},
        "tls": {"tls"},
    }
    assert receiver.received == []  # the redirect's target was never called


# 3. isolation of deliveries


class Trickle:
    """A receiver that answers one header byte at a time, forever (until released): only an overall deadline
    ends the attempt. Notes when it began answering and when the service hung up."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.began_at: float | None = None
        self.hung_up_at: float | None = None
        trickle = self

        def respond(handler: BaseHTTPRequestHandler) -> None:
            trickle.began_at = time.time()
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            while not trickle.release.is_set():
                try:
                    handler.wfile.write(b"X")
                    handler.wfile.flush()
                except OSError:
                    trickle.hung_up_at = time.time()
                    return
                trickle.release.wait(0.1)

        self.respond = respond


def test_a_receiver_slower_than_the_deadline_delays_only_itself(client, services, first, admin):
    services.settings.webhook_timeout_seconds = 5.0
    services.settings.webhook_breaker_failures = 1
    slow = Trickle()
    healthy = [Receiver(free_port()).start(), Receiver(free_port()).start()]
    try:
        with peer(slow.respond) as sloth:
            slow_hook = _subscribe(client, first, sloth.url, events=["instance.started"])  # first in the outbox
            for target in healthy:
                _subscribe(client, first, target.url, events=["instance.started"])
            _start(client, first)
            assert deliver_due(services) == 2  # returns: the deadline ended the trickling attempt
            for _ in range(100):
                if slow.hung_up_at is None:
                    time.sleep(0.1)
            assert slow.began_at is not None and slow.hung_up_at is not None and not slow.release.is_set()
            arrived = [
                datetime.fromisoformat(d["delivered_at"]).timestamp()
                for hook in client.get("/api/v1/webhooks", headers=first).json()["items"]
                if hook["id"] != slow_hook
                for d in _deliveries(client, first, hook["id"])
            ]
            # both healthy receivers had their delivery before the slow attempt's deadline
            assert len(arrived) == 2 and max(arrived) < slow.began_at + services.settings.webhook_timeout_seconds
            [stalled] = _deliveries(client, first, slow_hook)
            assert stalled["state"] == "pending" and stalled["last_error"] == "timeout"

            # the breaker is open: the slow subscription is paused, the others are served
            listed = {h["id"]: h for h in client.get("/api/v1/webhooks", headers=first).json()["items"]}
            assert listed[slow_hook]["paused_until"] is not None
            assert sum(1 for h in listed.values() if h["paused_until"]) == 1
            time.sleep(0.2)  # past the (0.1 s) retry of the slow delivery
            hits = sloth.hits
            _start(client, first)
            assert deliver_due(services) == 2
            assert sloth.hits == hits
            slow.release.set()
    finally:
        slow.release.set()
        for target in healthy:
            target.stop()
    assert [len(target.received) for target in healthy] == [2, 2]


def test_the_background_deliverer_keeps_serving_others_while_a_receiver_hangs(client, services, first):
    """The service's own loop does not wait for a hanging sequence: later events reach the healthy receiver
    while the slow attempt is still within its deadline."""
    from mso_flow.services.integrations.webhook_delivery import Deliverer  # a module that main does not have

    services.settings.webhook_timeout_seconds = 60.0
    services.settings.scheduler_interval_seconds = 0.1
    slow, healthy, stop = Trickle(), Receiver(free_port()).start(), threading.Event()
    loop = threading.Thread(target=lambda: asyncio.run(Deliverer(services).run(stop)), daemon=True)
    try:
        with peer(slow.respond) as sloth:
            _subscribe(client, first, sloth.url, events=["instance.started"])
            _subscribe(client, first, healthy.url, events=["instance.started"])
            loop.start()
            for expected in (1, 2, 3):
                _start(client, first)
                _wait_until(lambda n=expected: len(healthy.received) == n)
            assert slow.began_at is not None and slow.hung_up_at is None  # still hanging on the first event
            assert sloth.hits == 1
            slow.release.set()
    finally:
        slow.release.set()
        stop.set()
        loop.join(timeout=30)
        healthy.stop()
    assert not loop.is_alive()


def _wait_until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


# 4. webhooks that fit integrators


def _readme_verifier() -> Callable[..., bool]:
    """The verification snippet of docs/security.md, as published."""
    text = (ROOT / "docs" / "security.md").read_text()
    match = re.search(r"<!-- webhook-verification -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/security.md has no webhook verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "docs/security.md", "exec"), namespace)
    return namespace["verify"]  # type: ignore[no-any-return]


def test_filters_timestamped_signature_and_payloads_without_variables(client, services, first, admin):
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", SARABAN.read_bytes())])
    only_timers, central_unit, everything = (Receiver(free_port()).start() for _ in range(3))
    try:
        _subscribe(client, first, only_timers.url, events=["instance.started"], process_keys=["it_timers"])
        _subscribe(
            client, first, central_unit.url, events=["instance.started"], units=["กองกลาง"], include_variables=False
        )
        _subscribe(client, first, everything.url, events=["instance.started"])
        timers_id = _start(client, first, "it_timers", {"citizen_id": "3100500123456"})
        saraban_id = _start(client, first, "central_saraban", {"subject": "ขอความอนุเคราะห์"})
        assert deliver_due(services) == 4
    finally:
        for target in (only_timers, central_unit, everything):
            target.stop()
    assert [e["process_instance_id"] for e in only_timers.events()] == [timers_id]
    [central] = central_unit.events()
    assert central["process_instance_id"] == saraban_id and "variables" not in central["data"]
    assert sorted(e["process_instance_id"] for e in everything.events()) == sorted([timers_id, saraban_id])
    full = next(e for e in everything.events() if e["process_instance_id"] == timers_id)
    assert full["data"]["variables"] == {"citizen_id": "3100500123456"}

    verify = _readme_verifier()
    headers, body = everything.received[0]
    assert int(headers["x-mso-timestamp"]) == pytest.approx(time.time(), abs=120)
    assert verify(SECRET.encode(), headers["x-mso-timestamp"], headers["x-mso-signature"], body)
    assert not verify(SECRET.encode(), headers["x-mso-timestamp"], headers["x-mso-signature"], body + b" ")
    stale = str(int(headers["x-mso-timestamp"]) - 3600)  # a replay with an old timestamp fails twice over
    assert not verify(SECRET.encode(), stale, headers["x-mso-signature"], body)
    old_style = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-mso-signature"] != old_style
    assert json.loads(body)["event"] == headers["x-mso-event"]


def test_webhook_filters_are_validated(client, first):
    body = {"url": "http://127.0.0.1:9/hook", "events": ["*"], "secret": SECRET}
    for bad in ({"process_keys": [""]}, {"units": "กองกลาง"}, {"include_variables": "maybe"}):
        response = client.post("/api/v1/webhooks", headers=first, json=body | bad)
        assert response.status_code == 422, bad


# 6. delegation


def test_a_task_is_delegated_only_to_someone_holding_one_of_its_roles(client, services, make_user):
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", SARABAN.read_bytes())])
    starter = make_user("eservice", "integrator")
    clerk = make_user("somchai", CLERK)
    make_user("somsri", CLERK)
    make_user("outsider", OTHER_ROLE)
    instance_id = _start(client, starter, "central_saraban", {"subject": "หนังสือเชิญประชุม"})
    [task] = client.get(f"/api/v1/process-instances/{instance_id}", headers=clerk).json()["active_tasks"]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=clerk).status_code == 200
    refused = client.post(f"/api/v1/tasks/{task['id']}/delegate", headers=clerk, json={"username": "outsider"})
    assert refused.status_code == 422 and refused.json()["type"].endswith("assignee_not_candidate")
    accepted = client.post(f"/api/v1/tasks/{task['id']}/delegate", headers=clerk, json={"username": "somsri"})
    assert accepted.status_code == 200 and accepted.json()["assignee"] == "somsri"
