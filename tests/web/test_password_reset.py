"""Admins set or reset a person's web-app password (users page, API, command line): the person must choose their own
at the next login before anything else; the first start without `MSO_FLOW_ADMIN_PASSWORD` prints a one-time
password for `admin` (real database, real argon2, the login form)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys

from mso_flow.cli import prepare
from mso_flow.services.accounts import logins as accounts
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform.context import Caller
from tests.cli import run_cli
from tests.web.conftest import CLERK, PASSWORD, csrf_of, login, open_session, plain

NEW = "รหัสผ่านใหม่ของฉันเอง2"


def test_admin_resets_a_password_and_the_person_must_choose_their_own(client, person):
    person("clerk1", CLERK)
    person("boss", "admin")
    token = login(client, "boss")
    users_page = plain(client.get("/app/users"))
    assert 'action="/app/users/clerk1/password"' in users_page
    assert 'action="/app/users/boss/password"' not in users_page  # not one's own: that is "เปลี่ยนรหัสผ่าน"
    done = client.post("/app/users/clerk1/password", data={"csrf_token": token, "password": ""})
    assert done.status_code == 200
    one_time = re.search(r"รหัสผ่านใช้ครั้งเดียว \(แสดงครั้งเดียว\): <code>([^<]+)</code>", plain(done))[1]
    assert "ได้ (ต้องตั้งรหัสผ่านใหม่)" in plain(done)

    open_session(client, "clerk1", one_time)
    for path in ("/app/", "/app/instances", "/app/processes"):
        redirected = client.get(path, follow_redirects=False)
        assert redirected.status_code == 303 and redirected.headers["location"] == "/app/password"
    page = client.get("/app/password")
    assert "โปรดตั้งรหัสผ่านใหม่ของคุณเองก่อนใช้งาน" in plain(page)
    csrf = csrf_of(page.text)
    same = client.post("/app/password", data={"csrf_token": csrf, "current": one_time, "new": one_time})
    assert same.status_code == 422 and "ไม่ซ้ำกับรหัสผ่านปัจจุบัน" in plain(same)
    changed = client.post(
        "/app/password", data={"csrf_token": csrf, "current": one_time, "new": NEW}, follow_redirects=False
    )
    assert changed.headers["location"] == "/app/login"
    login(client, "clerk1", NEW)
    assert "งานของฉัน" in plain(client.get("/app/"))


def test_a_password_an_admin_set_opens_no_api_until_its_owner_chose_their_own(client, services, person):
    """HTTP Basic on /engine-rest cannot show the change-password page: an admin-set password is refused there
    (403, not 401: the password is right) until its owner has replaced it in the web app."""
    person("clerk1", CLERK)
    person("boss", "admin")
    one_time = accounts.reset_password(services, Caller("boss", frozenset({"admin"})), "clerk1")

    def count(password: str) -> int:
        basic = base64.b64encode(f"clerk1:{password}".encode()).decode()
        return client.get("/engine-rest/process-definition/count", headers={"Authorization": f"Basic {basic}"})

    refused = count(one_time)
    assert refused.status_code == 403, refused.text
    assert "password_change_required" in refused.text or "ต้องตั้งรหัสผ่านใหม่" in refused.text
    assert count("wrong-password-here").status_code == 401
    assert accounts.authenticate_password(services, "clerk1", one_time) is not None  # the web login still opens

    open_session(client, "clerk1", one_time)
    csrf = csrf_of(client.get("/app/password").text)
    changed = client.post(
        "/app/password", data={"csrf_token": csrf, "current": one_time, "new": NEW}, follow_redirects=False
    )
    assert changed.status_code == 303
    assert count(NEW).status_code == 200
    assert count(one_time).status_code == 401


def test_password_set_by_api_policy_and_errors(client, make_user, person):
    admin = make_user("root", "admin")
    clerk = make_user("clerk9", CLERK)
    set_it = client.put("/api/v1/users/clerk9/password", json={"password": PASSWORD}, headers=admin)
    assert set_it.status_code == 200, set_it.text
    assert set_it.json() == {"username": "clerk9", "one_time_password": None, "must_change": True}
    one = client.put("/api/v1/users/clerk9/password", json={}, headers=admin).json()["one_time_password"]
    assert len(one) >= 10
    assert client.put("/api/v1/users/root/password", json={}, headers=admin).status_code == 403  # not one's own
    assert client.put("/api/v1/users/root/password", json={}, headers=clerk).status_code == 403
    short = client.put("/api/v1/users/clerk9/password", json={"password": "สั้น"}, headers=admin)
    assert short.status_code == 422 and short.headers["content-type"].startswith("application/problem+json")
    assert client.put("/api/v1/users/nobody/password", json={}, headers=admin).status_code == 404
    events = client.get("/api/v1/audit/admin", params={"limit": 500}, headers=admin)
    assert events.status_code == 200 and events.text.count('"user_password_reset"') == 2
    assert one not in events.text and PASSWORD not in events.text  # the admin chain never holds a password


def test_people_without_a_password_are_marked_in_the_assign_list(client, services, saraban, person, make_user):
    person("clerk1", CLERK)
    make_user("api_clerk", CLERK)  # made over the API: no password
    person("head1", "หัวหน้าฝ่ายสารบรรณ", "supervisor")
    view = instances.start(services, Caller("clerk1", frozenset({CLERK})), saraban, "พม 1/1", {})
    login(client, "head1")
    page = plain(client.get(f"/app/tasks/{view.active_tasks[0].id}"))
    assert '<option value="api_clerk">api_clerk (ยังไม่มีรหัสผ่าน เข้าเว็บไม่ได้)</option>' in page
    assert '<option value="clerk1">clerk1</option>' in page


def test_first_start_prints_a_one_time_admin_password(client, settings, services, capsys):
    first = settings.model_copy(update={"admin_token": "change-me", "admin_password": None, "deploy_on_start": False})
    prepare(first).db.dispose()
    printed = capsys.readouterr().err
    one_time = re.search(r"รหัสผ่านใช้ครั้งเดียว \(one-time password\): (\S+)", printed)[1]
    prepare(first).db.dispose()
    assert "one-time password" not in capsys.readouterr().err  # at the first start only
    open_session(client, "admin", one_time)
    assert client.get("/app/", follow_redirects=False).headers["location"] == "/app/password"
    accounts.change_password(services, Caller("admin", frozenset({"admin"})), one_time, NEW)
    login(client, "admin", NEW)


def test_command_line_sets_a_password(tmp_path):
    env = {
        "MSO_FLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "MSO_FLOW_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "audit.pem"),
    }

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:  # the installed command, stdin a pipe
        command = [sys.executable, "-m", "mso_flow.cli", *args]
        return subprocess.run(
            command, input=stdin, capture_output=True, text=True, env={**os.environ, **env}, timeout=120
        )

    assert run_cli("db", "upgrade", env=env).returncode == 0
    assert run_cli("users", "create", "somsri", "--role", CLERK, "--force", env=env).returncode == 0
    printed = run_cli("users", "set-password", "somsri", env=env)
    assert printed.returncode == 0, printed.stderr
    assert len(printed.stdout.strip()) >= 10
    chosen = run("users", "set-password", "somsri", "--password-stdin", stdin=PASSWORD + "\n")
    assert chosen.returncode == 0 and chosen.stdout == ""
    assert run_cli("users", "set-password", "nobody", env=env).returncode == 1
