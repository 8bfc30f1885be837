"""Accounts at the boundary (issue 24): login limits that neither a forged X-Forwarded-For, many addresses nor a
parallel burst get around, and that never lock the right password out for good (item 15); a deactivated user's
browser sessions end for good (item 16); the users page hands out no privileged role (item 4)."""

from __future__ import annotations

import base64
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mso_flow.api.app import create_app
from mso_flow.services.accounts import logins as accounts
from mso_flow.services.accounts.logins import LoginThrottled
from mso_flow.services.platform.context import Services
from mso_flow.settings import Settings
from mso_flow.store import users as users_store
from mso_flow.store.db import Database
from mso_flow.store.models import WebSession
from tests.clock import ManualClock
from tests.live import live_service
from tests.web.conftest import PASSWORD, login

COUNT = "/engine-rest/process-definition/count"  # any Camunda call: HTTP Basic with a password is a login
WRONG = "not-the-password"


def _basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture
def clock(services: Services) -> ManualClock:
    clock = ManualClock()
    services.clock = clock
    return clock


def _attempt(services: Services, password: str, client: str, username: str = "somchai") -> bool | None:
    """True: logged in, False: wrong password, None: refused unseen (the limit's wait)."""
    try:
        return accounts.authenticate_password(services, username, password, client) is not None
    except LoginThrottled:
        return None


def _wait_and_guess(services: Services, clock: ManualClock, client: str) -> int:
    """A guess refused while the limit waits, then made (and wrong) once the wait has passed on the test clock;
    returns how long the wait was."""
    with pytest.raises(LoginThrottled) as throttled:
        accounts.authenticate_password(services, "somchai", WRONG, client)
    seconds = int(throttled.value.extra["retry_after"])
    clock.advance(seconds)
    assert _attempt(services, WRONG, client) is False
    return seconds


# --- item 15: login limits ---------------------------------------------------------------------------------


def test_a_parallel_burst_has_only_the_free_attempts_checked(client, services, person, clock):
    person("somchai", "r")
    barrier = threading.Barrier(10)

    def guess(n: int) -> int:
        barrier.wait()
        return client.get(COUNT, headers=_basic("somchai", f"{WRONG}-{n}")).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = sorted(pool.map(guess, range(10)))
    assert statuses == [401] * accounts.FREE_FAILURES + [429] * (10 - accounts.FREE_FAILURES)


def test_two_worker_processes_count_one_burst_together(services, person, clock):
    """Two service processes on one database (each its own connection pool): the count is the database's."""
    person("somchai", "r")
    other = dataclasses.replace(services, db=Database(services.settings.database_url, pool_size=10))
    barrier = threading.Barrier(10)

    def guess(n: int) -> bool | None:
        barrier.wait()
        return _attempt(services if n % 2 else other, WRONG, "10.0.0.1")

    try:
        with ThreadPoolExecutor(10) as pool:
            outcomes = list(pool.map(guess, range(10)))
    finally:
        other.db.dispose()
    assert outcomes.count(False) == accounts.FREE_FAILURES and outcomes.count(None) == 10 - accounts.FREE_FAILURES


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(services, person, clock):
    person("somchai", "r")
    person("somsri", "r")
    settings = Settings(**services.settings.model_dump() | {"trusted_proxies": "10.9.0.0/16, 192.0.2.1"})
    trusting = dataclasses.replace(services, settings=settings)
    assert trusting.settings.trusted_proxies == "10.9.0.0/16,192.0.2.1/32"
    app = create_app(services=trusting)

    # a client that is not a proxy: its X-Forwarded-For is ignored, every guess is its own address's
    with TestClient(app, client=("203.0.113.7", 40000)) as direct:
        statuses = [
            direct.get(COUNT, headers=_basic("somchai", WRONG) | {"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n in range(5)
        ]
    assert statuses == [401] * accounts.FREE_FAILURES + [429] * 2
    # through a trusted proxy the forwarded address is the client's: one address is limited, another is not
    with TestClient(app, client=("10.9.3.4", 40000)) as proxy:
        same = [
            proxy.get(COUNT, headers=_basic("somsri", WRONG) | {"X-Forwarded-For": "198.51.100.1"}).status_code
            for _ in range(4)
        ]
        assert same == [401] * accounts.FREE_FAILURES + [429]
        other = proxy.get(COUNT, headers=_basic("somsri", PASSWORD) | {"X-Forwarded-For": "198.51.100.2"})
        assert other.status_code == 200, other.text


def test_the_account_limit_holds_across_addresses_and_the_right_password_gets_in_after_the_wait(
    services, person, clock
):
    person("somchai", "r")
    for n in range(accounts.PER_ACCOUNT.free):  # one guess from each of many addresses
        assert _attempt(services, WRONG, f"198.51.100.{n}") is False
    assert _attempt(services, PASSWORD, "203.0.113.1") is None  # from a new address, the right password waits too
    waits = [_wait_and_guess(services, clock, f"203.0.113.{n}") for n in range(2, 14)]
    assert waits[:3] == [1, 2, 4] and waits[-1] == accounts.PER_ACCOUNT.max_delay.total_seconds() == 300
    assert _attempt(services, PASSWORD, "203.0.113.99") is None
    clock.advance(accounts.PER_ACCOUNT.max_delay.total_seconds())
    assert _attempt(services, PASSWORD, "203.0.113.99") is True  # a delay, never a lockout
    assert _attempt(services, WRONG, "198.51.100.1") is False  # the count starts anew


def test_one_address_delays_only_the_names_guessed_from_it_and_never_for_good(services, person, clock):
    """Everyone behind one NAT address shares it: a guesser there holds back only the name it guesses."""
    person("somchai", "r")
    person("somsri", "r")
    nat = "192.0.2.10"
    for _ in range(accounts.FREE_FAILURES):
        assert _attempt(services, WRONG, nat) is False
    assert _attempt(services, PASSWORD, nat) is None
    assert _attempt(services, PASSWORD, nat, "somsri") is True  # a colleague behind the same address
    waits = [_wait_and_guess(services, clock, nat) for _ in range(14)]
    assert max(waits) == accounts.PER_ADDRESS.max_delay.total_seconds() == 900
    assert _attempt(services, PASSWORD, nat) is None
    clock.advance(accounts.PER_ADDRESS.max_delay.total_seconds())
    assert _attempt(services, PASSWORD, nat) is True


@pytest.mark.slow
def test_the_served_service_ignores_forwarded_addresses_by_default(tmp_path: Path):
    """`mso-flow serve` as deployed: a client on the same host (a proxy, or anyone there) forging X-Forwarded-For
    is counted at its own address unless MSO_FLOW_TRUSTED_PROXIES names it."""
    database = f"sqlite:///{tmp_path / 'limits.db'}"
    env = {"MSO_FLOW_DEPLOY_ON_START": "false", "MSO_FLOW_BACKGROUND": "false"}
    with live_service(database, tmp_path, workers=1, extra_env=env) as live, live.client() as admin:
        created = admin.post(
            "/api/v1/users", json={"username": "somchai", "roles": ["r"], "password": PASSWORD, "force": True}
        )
        assert created.status_code == 201, created.text
        statuses = [
            admin.get(COUNT, headers=_basic("somchai", WRONG) | {"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n in range(6)
        ]
    assert statuses == [401] * accounts.FREE_FAILURES + [429] * 3


# --- item 16: deactivation ends sessions -------------------------------------------------------------------


def test_a_deactivated_users_sessions_end_for_good(client, services, admin, person):
    person("somchai", "r")
    login(client, "somchai")
    assert client.get("/app/", follow_redirects=False).status_code == 200
    assert client.patch("/api/v1/users/somchai", headers=admin, json={"active": False}).status_code == 200
    assert client.patch("/api/v1/users/somchai", headers=admin, json={"active": True}).status_code == 200
    assert client.get("/app/", follow_redirects=False).headers["location"].startswith("/app/login")
    with services.db.read() as session:
        assert session.scalar(select(func.count()).where(WebSession.username == "somchai")) == 0
    login(client, "somchai")  # a new login opens a new session


# --- item 4: the users page -------------------------------------------------------------------------------


def test_the_users_page_refuses_a_privileged_role(client, services, person):
    person("boss", "admin")
    csrf = login(client, "boss")
    page = client.post(
        "/app/users", data={"csrf_token": csrf, "username": "dpo", "roles": "privacy_officer", "password": PASSWORD}
    )
    assert page.status_code == 403
    assert "บรรทัดคำสั่ง" in page.text and "เพิ่มผู้ใช้ dpo แล้ว" not in page.text
    with services.db.read() as session:
        assert users_store.by_username(session, "dpo") is None
