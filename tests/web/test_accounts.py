"""Accounts and sessions of the web app: passwords over the API and the CLI, login, logout, session cookie,
CSRF, slowed failures, security headers, and the offline API explorer."""

from __future__ import annotations

import io
import re
import sys
from datetime import UTC, datetime, timedelta

import pytest

from mso_flow import cli
from mso_flow.services.accounts import logins as accounts
from mso_flow.services.platform.context import SYSTEM
from tests.web.conftest import PASSWORD, csrf_of, login


def test_api_creates_a_user_with_a_password_who_then_changes_it(client, admin):
    short = client.post(
        "/api/v1/users", headers=admin, json={"username": "x", "roles": ["r"], "password": "short", "force": True}
    )
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "password"
    assert client.get("/api/v1/users", headers=admin).json()["total"] == 1  # nothing created

    created = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "somchai", "roles": ["r"], "password": PASSWORD, "force": True},
    )
    assert created.status_code == 201, created.text
    bearer = {"Authorization": f"Bearer {created.json()['token']}"}
    login(client, "somchai")

    wrong = client.put("/api/v1/me/password", headers=bearer, json={"current": "nope-nope-nope", "new": "x" * 12})
    assert wrong.status_code == 403
    changed = client.put("/api/v1/me/password", headers=bearer, json={"current": PASSWORD, "new": "ใหม่-ยาวพอแล้ว-9"})
    assert changed.status_code == 204
    # the old browser session ended with the change, and only the new password logs in
    assert client.get("/app/", follow_redirects=False).status_code == 303
    login(client, "somchai", "ใหม่-ยาวพอแล้ว-9")


def test_wrong_password_stays_on_login_with_no_session(client, person):
    person("somchai", "r")
    form = client.get("/app/login")
    response = client.post(
        "/app/login",
        data={"username": "somchai", "password": "not-the-password", "csrf_token": csrf_of(form.text)},
    )
    assert response.status_code == 401
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in response.text
    assert "mso_session" not in client.cookies
    assert client.get("/app/", follow_redirects=False).headers["location"].startswith("/app/login")


def _login_to(client, target: str):
    client.cookies.clear()
    form = client.get("/app/login")
    return client.post(
        "/app/login",
        data={"username": "somchai", "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": target},
        follow_redirects=False,
    )


def test_session_cookie_is_httponly_lax_and_ends_at_logout(client, person):
    person("somchai", "r")
    response = _login_to(client, "/app/processes")
    assert response.headers["location"] == "/app/processes"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("mso_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie
    inbox = client.get("/app/")
    assert "งานของฉัน" in inbox.text
    client.post("/app/logout", data={"csrf_token": csrf_of(inbox.text)})
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_app(client, person):
    person("somchai", "r")
    assert _login_to(client, "//evil.example/").headers["location"] == "/app/"
    assert _login_to(client, "https://evil.example/app/").headers["location"] == "/app/"


def test_posts_without_the_csrf_token_are_refused(client, person):
    person("somchai", "r")
    form = client.get("/app/login")
    assert client.post("/app/login", data={"username": "somchai", "password": PASSWORD}).status_code == 403
    assert (
        client.post(
            "/app/login", data={"username": "somchai", "password": PASSWORD, "csrf_token": "forged"}
        ).status_code
        == 403
    )
    assert "mso_session" not in client.cookies
    assert csrf_of(form.text)
    token = login(client, "somchai")
    assert client.post("/app/logout", data={}).status_code == 403
    assert client.post("/app/logout", data={"csrf_token": token + "x"}).status_code == 403
    assert client.get("/app/").status_code == 200  # still logged in: nothing happened
    client.cookies.clear()
    assert client.post("/app/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 403
    assert client.post("/app/processes/x/start", data={"csrf_token": token}, follow_redirects=False).status_code == 403


def test_repeated_failures_are_slowed_per_name_and_address(client, services, person):
    person("somchai", "r")
    now = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    services.clock = lambda: now
    for _ in range(accounts.FREE_FAILURES):
        assert accounts.authenticate_password(services, "somchai", "wrong-wrong", "10.0.0.1") is None
    refused = client.post(
        "/app/login",
        data={"username": "somchai", "password": "wrong", "csrf_token": csrf_of(client.get("/app/login").text)},
    )
    assert refused.status_code == 401  # the test client's address is another pair, not yet slowed
    with pytest.raises(accounts.LoginThrottled) as throttled:
        accounts.authenticate_password(services, "somchai", PASSWORD, "10.0.0.1")
    assert throttled.value.extra["retry_after"] == 1
    # without a client address (HTTP Basic of the façade checks its own way) the password is simply checked
    caller = accounts.authenticate_password(services, "somchai", PASSWORD)
    assert caller is not None and caller.roles == frozenset({"r"})
    # one more failure after the wait doubles it; the right password after the wait clears the count
    now += timedelta(seconds=1)
    assert accounts.authenticate_password(services, "somchai", "wrong-wrong", "10.0.0.1") is None
    with pytest.raises(accounts.LoginThrottled) as throttled:
        accounts.authenticate_password(services, "somchai", PASSWORD, "10.0.0.1")
    assert throttled.value.extra["retry_after"] == 2
    now += timedelta(seconds=2)
    assert accounts.authenticate_password(services, "somchai", PASSWORD, "10.0.0.1") is not None
    assert accounts.authenticate_password(services, "somchai", "wrong-wrong", "10.0.0.1") is None  # counting anew


def test_throttled_login_page_says_to_wait(client, services, person):
    person("somchai", "r")
    now = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    services.clock = lambda: now
    responses = []
    for _ in range(accounts.FREE_FAILURES + 1):
        form = client.get("/app/login")
        responses.append(
            client.post(
                "/app/login", data={"username": "somchai", "password": PASSWORD, "csrf_token": csrf_of(form.text)}
            )
            if len(responses) == accounts.FREE_FAILURES
            else client.post(
                "/app/login", data={"username": "somchai", "password": "wrong", "csrf_token": csrf_of(form.text)}
            )
        )
    statuses = [r.status_code for r in responses]
    assert statuses == [401] * accounts.FREE_FAILURES + [429]  # even the right password waits
    assert "โปรดรอ 1 วินาที" in responses[-1].text
    assert "mso_session" not in client.cookies


def test_pages_carry_security_headers(client, person):
    person("somchai", "r")
    for response in (client.get("/app/login"), client.get("/app/static/app.css")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
    assert client.get("/", follow_redirects=False).headers["location"] == "/app/"


def test_templates_escape_what_people_type(client, services, person):
    person("somchai", "r")
    accounts.create_user(services, SYSTEM, "boss", ["admin"], PASSWORD)
    token = login(client, "boss")
    page = client.post("/app/users", data={"csrf_token": token, "username": "<script>x</script>", "roles": "r"})
    assert page.status_code == 422
    assert "<script>x</script>" not in page.text and "&lt;script&gt;" in page.text


def test_api_explorer_works_offline(client):
    html = client.get("/docs").text
    scripts = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert scripts and all("cdn" not in s and s.startswith("http://testserver/") for s in scripts), scripts
    for url in scripts:
        assert client.get(url).status_code == 200


def test_cli_creates_a_user_with_a_password_from_stdin(settings, services, monkeypatch, capsys):
    monkeypatch.setenv("MSO_FLOW_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSO_FLOW_AUDIT_SIGNING_KEY_FILE", str(settings.audit_signing_key_file))
    cli.get_settings.cache_clear()
    try:
        monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
        assert cli.main(["users", "create", "somchai", "--role", "r", "--force", "--password-stdin"]) == 1
        monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
        assert cli.main(["users", "create", "somchai", "--role", "r", "--force", "--password-stdin"]) == 0
    finally:
        cli.get_settings.cache_clear()
    assert capsys.readouterr().out.strip()  # the API token, printed once
    assert accounts.authenticate_password(services, "somchai", PASSWORD) is not None


def test_bootstrap_admin_password(settings, services):
    bootstrap = settings.model_copy(update={"admin_password": PASSWORD, "deploy_on_start": False})
    cli.prepare(bootstrap).db.dispose()
    admin = accounts.authenticate_password(services, "admin", PASSWORD)
    assert admin is not None and admin.is_admin
    cli.prepare(bootstrap).db.dispose()  # a second start keeps it
    assert accounts.authenticate_password(services, "admin", PASSWORD) is not None


def test_session_ends_after_eight_idle_hours_and_use_keeps_it(client, services, person):
    person("somchai", "r")
    now = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    services.clock = lambda: now
    login(client, "somchai")
    now += timedelta(hours=7)
    assert client.get("/app/", follow_redirects=False).status_code == 200  # used: alive for 8 more hours
    now += timedelta(hours=7, minutes=59)
    assert client.get("/app/", follow_redirects=False).status_code == 200
    now += timedelta(hours=8, minutes=1)
    assert client.get("/app/", follow_redirects=False).headers["location"].startswith("/app/login")
