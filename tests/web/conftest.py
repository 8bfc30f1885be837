"""Helpers of the web app's tests: people with passwords, logging in through the login form, and for the browser
tests the live service (`mso-flow serve` on SQLite and on PostgreSQL, one per test module) and Debian's Chromium
driven by Playwright."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mso_flow.services.accounts import logins as accounts
from mso_flow.services.platform.context import SYSTEM, Services
from tests.cli import run_cli
from tests.conftest import BACKENDS, SARABAN
from tests.live import LiveService, live_service, postgres_database

PASSWORD = "รหัสผ่านยาวพอสมควร1"
CLERK = "เจ้าหน้าที่งานสารบรรณ"
HEAD = "หัวหน้าฝ่ายสารบรรณ"
OWNER = "เจ้าของเรื่อง"
MANAGER = "manager:กองกลาง"
CHROMIUM = Path("/usr/bin/chromium")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def plain(response: Any) -> str:
    """A page's text without the line-break hints placed between Thai words."""
    return str(response.text).replace("<wbr>", "")


def csrf_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "page has no CSRF token"
    return match[1]


def open_session(client: TestClient, username: str, password: str = PASSWORD) -> None:
    """Log in through the form (a fresh client session), without opening any page."""
    client.cookies.clear()
    form = client.get("/app/login")
    response = client.post(
        "/app/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text), "next": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; return the session's CSRF token (read from the inbox)."""
    open_session(client, username, password)
    return csrf_of(client.get("/app/").text)


@pytest.fixture
def person(services: Services) -> Callable[..., str]:
    """Create a user with roles and the test password; return the username."""

    def make(username: str, *roles: str) -> str:
        accounts.create_user(services, SYSTEM, username, list(roles), PASSWORD, force=True)
        return username

    return make


# --- the browser tests ------------------------------------------------------------------------------------


@contextmanager
def _database(backend: str, work: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{work / 'mso_flow.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(scope="module", params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The live service with the สารบรรณ process, a clerk, a head of section, a clerk of another lane, the
    manager of กองกลาง (API tokens in `service.tokens`) and a privacy officer, all with the test password."""
    work = tmp_path_factory.mktemp("browser")
    bpmn = work / "bpmn" / "central"
    bpmn.mkdir(parents=True)
    shutil.copy(SARABAN, bpmn / SARABAN.name)
    with (
        _database(request.param, work) as database_url,
        live_service(
            database_url,
            work,
            workers=1,
            bpmn_dir=work / "bpmn",
            extra_env={"MSO_FLOW_ADMIN_PASSWORD": PASSWORD, "MSO_FLOW_BACKGROUND": "false"},
        ) as live,
    ):
        tokens = {}
        with live.client() as api:
            for username, role in (("clerk1", CLERK), ("head1", HEAD), ("owner1", OWNER), ("manager1", MANAGER)):
                response = api.post(
                    "/api/v1/users", json={"username": username, "roles": [role], "password": PASSWORD, "force": True}
                )
                assert response.status_code == 201, response.text
                tokens[username] = response.json()["token"]
        # a privacy officer is made at the command line only
        env = {
            "MSO_FLOW_DATABASE_URL": database_url,
            "MSO_FLOW_AUDIT_SIGNING_KEY_FILE": str(work / "audit-ed25519.pem"),
        }
        command = ["users", "create", "dpo1", "--role", "privacy_officer", "--password-stdin"]
        created = run_cli(*command, env=env, stdin=PASSWORD + "\n")
        assert created.returncode == 0, created.stderr
        live.tokens = tokens  # type: ignore[attr-defined]
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium (no browser is downloaded)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def browser_login(browser: Any, service: LiveService, username: str, **options: Any) -> tuple[Any, Any]:
    """A browser context of its own (`options`: e.g. a viewport), logged in through the login page."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=service.url, locale="th-TH", timezone_id="Asia/Bangkok", **options)
    page = context.new_page()
    page.goto("/app/")
    expect(page).to_have_url(re.compile(r"/app/login"))
    page.get_by_label("ชื่อผู้ใช้").fill(username)
    page.get_by_label("รหัสผ่าน").fill(PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(page.get_by_role("heading", name="งานของฉัน")).to_be_visible()
    return context, page
