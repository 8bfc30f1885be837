"""Helpers of the web app's tests: people with passwords, and logging in through the login form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mso_flow.services import accounts
from mso_flow.services.context import SYSTEM, Services

PASSWORD = "รหัสผ่านยาวพอสมควร1"
CLERK = "เจ้าหน้าที่งานสารบรรณ"
HEAD = "หัวหน้าฝ่ายสารบรรณ"
OWNER = "เจ้าของเรื่อง"
CHROMIUM = Path("/usr/bin/chromium")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def plain(response: Any) -> str:
    """A page's text without the line-break hints placed between Thai words."""
    return str(response.text).replace("<wbr>", "")


def csrf_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "page has no CSRF token"
    return match[1]


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; return the session's CSRF token (read from the inbox)."""
    client.cookies.clear()
    form = client.get("/app/login")
    response = client.post(
        "/app/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text), "next": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/app/").text)


@pytest.fixture
def person(services: Services) -> Callable[..., str]:
    """Create a user with roles and the test password; return the username."""

    def make(username: str, *roles: str) -> str:
        accounts.create_user(services, SYSTEM, username, list(roles), PASSWORD, force=True)
        return username

    return make


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (the browser tests skip without either)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()
