"""Take the web app's screenshots in docs/images/ with Playwright in the distribution's Chromium.

    pip install -e '.[test]' && python tools/take_screenshots.py

Starts `mso-flow serve` on a throw-away SQLite database with every process of bpmn/, creates a clerk, a head
of section and a manager with passwords, works some cases over the API so the dashboard has figures (some
steps late: the สารบรรณ steps have one-minute standards, so the script waits a minute once), then logs each
person in through the login page and saves the inbox, a task, an instance, the cases page and the dashboard at
1280×900, the inbox, a task, an instance and the cases page on a 390×844 phone, and the สารบรรณ diagram as designed
and in progress. Thai needs Thai fonts (Debian:
fonts-thai-tlwg).

    python tools/take_screenshots.py --cockpit

takes only the operators' Cockpit (incidents, an incident on its diagram, running instances; desktop and phone)
on a service of its own: a process whose condition fails for one amount, a few failed and running cases, and an
external task whose worker gave up.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import live_service

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "รหัสผ่านสำหรับภาพตัวอย่าง"
CLERK = "เจ้าหน้าที่งานสารบรรณ"
HEAD = "หัวหน้าฝ่ายสารบรรณ"


def _value(field: dict[str, Any]) -> Any:
    enum = field["enum"]
    return {"boolean": True, "long": 1, "date": "2026-11-25", "enum": enum[0]["id"] if enum else ""}.get(
        field["type"], "ทดสอบ"
    )


_STAFF: dict[tuple[str, ...], dict[str, str]] = {}


def _staff(api: httpx.Client, roles: list[str]) -> dict[str, str]:
    """The Authorization header of a person holding these candidate roles, created at first need (an admin gives
    staff tasks to people; he does not work them)."""
    held = tuple(sorted(r for r in roles if not r.startswith("user:")))[:50]
    if held not in _STAFF:
        body = {"username": f"staff{len(_STAFF) + 1}", "roles": list(held), "force": True}
        token = api.post("/api/v1/users", json=body).raise_for_status().json()["token"]
        _STAFF[held] = {"Authorization": f"Bearer {token}"}
    return _STAFF[held]


def _scan() -> bytes:
    """A scanned letter: one A4-shaped page as a PDF (Pillow writes it)."""
    page = Image.new("RGB", (620, 877), "white")
    ImageDraw.Draw(page).rectangle((40, 40, 580, 120), outline="black", width=3)
    out = io.BytesIO()
    page.save(out, format="PDF")
    return out.getvalue()


def _advance(api: httpx.Client, instance_id: str, steps: int) -> None:
    """Complete the first open task `steps` times, as a person of its roles, filling its form with plausible
    values and attaching a scanned letter to its file fields."""
    for _ in range(steps):
        active = api.get(f"/api/v1/process-instances/{instance_id}").json()["active_tasks"]
        if not active:
            return
        task = api.get(f"/api/v1/tasks/{active[0]['id']}").json()
        variables = {f["id"]: _value(f) for f in task["form"] if f["type"] != "file"}
        staff = _staff(api, task["candidate_roles"])
        for field in (f for f in task["form"] if f["type"] == "file"):  # attached by whoever works the step
            api.post(
                f"/api/v1/process-instances/{instance_id}/documents",
                files={"file": ("หนังสือเข้า.pdf", _scan(), "application/pdf")},
                data={"task_id": task["id"], "field": field["id"]},
                headers=staff,
            ).raise_for_status()
        if task["element_id"] == "Task_sort":
            variables["importance"] = "important"
        api.post(
            f"/api/v1/tasks/{task['id']}/complete", json={"variables": variables}, headers=staff
        ).raise_for_status()


def _prepare(api: httpx.Client) -> None:
    per_unit: dict[str, str] = {}
    for d in api.get("/api/v1/process-definitions", params={"limit": 500}).json()["items"]:
        per_unit.setdefault(d["unit"] or "", d["key"])
    chosen = ["central_saraban", *[k for k in list(per_unit.values())[:7] if k != "central_saraban"]]
    units = [f"manager:{unit}" for unit, key in per_unit.items() if unit and key in chosen]  # the reports he reads
    for username, roles in (
        ("somchai", [CLERK]),
        ("somsri", [HEAD, "supervisor"]),
        ("manager", units),
    ):
        body = {"username": username, "roles": roles, "password": PASSWORD, "force": True}
        api.post("/api/v1/users", json=body).raise_for_status()
    late = []
    for n, key in enumerate(chosen):
        for i in range(3):
            started = api.post(
                f"/api/v1/process-definitions/{key}/start",
                json={"business_key": f"พม 0201/{600 + n * 3 + i}", "variables": {}},
            )
            if started.status_code != 201:
                continue
            instance_id = started.json()["id"]
            if key == "central_saraban" and i < 2:
                late.append(instance_id)
            else:
                _advance(api, instance_id, 2 + i * 3)
    time.sleep(62)  # the สารบรรณ steps are due within a minute: let some be late
    for instance_id in late[:1]:
        _advance(api, instance_id, 9)
    for key in ("central_saraban",):
        for i in range(3):
            api.post(
                f"/api/v1/process-definitions/{key}/start", json={"business_key": f"พม 0201/{700 + i}", "variables": {}}
            )


def _login(browser: Any, url: str, username: str, **options: Any) -> Page:
    context = browser.new_context(base_url=url, locale="th-TH", timezone_id="Asia/Bangkok", **options)
    page = context.new_page()
    page.goto("/app/login")
    page.get_by_label("ชื่อผู้ใช้").fill(username)
    page.get_by_label("รหัสผ่าน").fill(PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.wait_for_url("**/app/")
    return page


def _failing_process() -> bytes:
    """A payment approval whose condition divides by zero for one amount (as a defect slips past a simulation)."""
    sys.path.insert(0, str(ROOT))  # the BPMN writer of tools/ (not installed with the package)
    from tools.manual_to_bpmn.bpmn_writer import write_bpmn
    from tools.manual_to_bpmn.model import ProcessReading

    amount = {"id": "amount", "label": "จำนวนเงิน (บาท)", "type": "long", "required": True}
    branches = [
        {"name": "เกินวงเงิน", "condition": "100 / (amount - 70000) > 0", "to": "approve"},
        {"name": "ไม่เกิน", "default": True, "to": "end"},
    ]
    reading = {
        "key": "finance_subsidy",
        "unit": "finance",
        "unit_name": "กองคลัง",
        "name": "การเบิกจ่ายเงินอุดหนุนองค์กรสวัสดิการชุมชน",
        "source": {"section": "ตัวอย่าง", "lines": [1, 2], "basis": "flowchart"},
        "lanes": [{"id": "staff", "name": "เจ้าหน้าที่การเงิน"}, {"id": "director", "name": "ผู้อำนวยการกองคลัง"}],
        "steps": [
            {
                "id": "enter",
                "name": "ตรวจเอกสารและบันทึกจำนวนเงิน",
                "lane": "staff",
                "duration": "P1D",
                "form": [amount],
                "decision": {"name": "เกินวงเงินที่ต้องขออนุมัติหรือไม่", "branches": branches},
            },
            {"id": "approve", "name": "ผู้อำนวยการกองคลังอนุมัติ", "lane": "director", "duration": "P1D", "next": "end"},
        ],
    }
    return write_bpmn(ProcessReading.model_validate(reading))


def _prepare_cockpit(api: httpx.Client) -> None:
    api.post("/api/v1/deployments", files=[("files", ("finance_subsidy.bpmn", _failing_process()))]).raise_for_status()
    clerk = _staff(api, ["เจ้าหน้าที่การเงิน"])
    for n, amount in enumerate((70000, 70000, 12000, 70000)):
        body = {"business_key": f"กค 0405/{n + 31}"}
        started = api.post("/api/v1/process-definitions/finance_subsidy/start", json=body, headers=clerk).json()
        task = started["active_tasks"][0]["id"]
        if n != 2:
            api.post(f"/api/v1/tasks/{task}/complete", json={"variables": {"amount": amount}}, headers=clerk)
    for i in range(3):
        api.post("/api/v1/process-definitions/central_saraban/start", json={"business_key": f"พม 0201/{800 + i}"})


def cockpit_screens(browser: Any, url: str) -> list[str]:
    """The Cockpit's incidents, an incident on its diagram and the running instances, at 1280×900 and 390×844."""
    desktop = {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1}
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2}
    admin = _login(browser, url, "admin", **desktop)
    small = _login(browser, url, "admin", **phone)
    names = []
    for name, path in (
        ("cockpit_incidents", "/app/cockpit/incidents"),
        ("cockpit_instances", "/app/cockpit/instances?key=finance_subsidy"),
    ):
        admin.goto(path)
        admin.screenshot(path=OUT / f"{name}.png", full_page=False)
        small.goto(path)
        small.screenshot(path=OUT / f"{name}_phone.png", full_page=True)
        names += [name, f"{name}_phone"]
    admin.goto("/app/cockpit/incidents")
    admin.locator("tbody a").first.click()
    admin.screenshot(path=OUT / "cockpit_incident.png", full_page=True)
    return [*names, "cockpit_incident"]


def main_cockpit() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        database = f"sqlite:///{Path(work) / 'screens.db'}"
        env = {"MSO_FLOW_BACKGROUND": "false", "MSO_FLOW_ADMIN_PASSWORD": PASSWORD}
        with live_service(database, Path(work), workers=1, extra_env=env) as live, live.client() as api:
            _prepare_cockpit(api)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                names = cockpit_screens(browser, live.url)
                browser.close()
    for name in names:
        print(OUT / f"{name}.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        database = f"sqlite:///{Path(work) / 'screens.db'}"
        env = {"MSO_FLOW_BACKGROUND": "false"}
        with (
            live_service(database, Path(work), workers=1, extra_env=env, start_seconds=900) as live,
            live.client() as api,
        ):
            _prepare(api)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                desktop = {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1}
                clerk = _login(browser, live.url, "somchai", **desktop)
                clerk.screenshot(path=OUT / "web_inbox.png", full_page=True)
                clerk.get_by_role("link", name="สารบรรณกลางรับหนังสือ").first.click()
                clerk.get_by_role("button", name="รับงาน").click()
                clerk.get_by_label("ชั้นความเร็ว").select_option("urgent")
                clerk.get_by_role("button", name="ส่งงาน").click()  # shows the required เรื่อง beside its field
                clerk.screenshot(path=OUT / "web_task.png", full_page=True)
                clerk.get_by_role("link", name="ดูความคืบหน้า").click()
                clerk.screenshot(path=OUT / "web_instance.png", full_page=True)
                instance_url = clerk.url
                wide = _login(browser, live.url, "somchai", viewport={"width": 2800, "height": 900}, bypass_csp=True)
                for url, name in (
                    (instance_url, "central_saraban_instance"),
                    ("/app/processes/central_saraban", "central_saraban"),
                ):
                    wide.goto(url)
                    wide.add_style_tag(content="main { max-width: none; }")  # the whole diagram, not a scrolled part
                    wide.locator(".diagram svg").screenshot(path=OUT / f"{name}.png")
                clerk.goto("/app/instances?q=0201%2F70")
                clerk.screenshot(path=OUT / "web_cases.png", full_page=True)
                cases_url = clerk.url
                phone = _login(
                    browser, live.url, "somchai", viewport={"width": 390, "height": 844}, device_scale_factor=2
                )
                phone.screenshot(path=OUT / "web_inbox_phone.png", full_page=False)
                phone.get_by_role("link", name="สารบรรณกลางรับหนังสือ").first.click()
                phone.screenshot(path=OUT / "web_task_phone.png", full_page=False)
                phone.goto(instance_url)
                phone.screenshot(path=OUT / "web_instance_phone.png", full_page=False)
                phone.goto(cases_url)
                phone.screenshot(path=OUT / "web_cases_phone.png", full_page=False)
                manager = _login(browser, live.url, "manager", **desktop)
                manager.goto("/app/reports")
                manager.set_viewport_size({"width": 1280, "height": 1400})
                manager.screenshot(path=OUT / "web_dashboard.png", full_page=False)
                browser.close()
    for name in (
        "web_inbox",
        "web_task",
        "web_instance",
        "web_cases",
        "web_dashboard",
        "web_inbox_phone",
        "web_task_phone",
        "web_instance_phone",
        "web_cases_phone",
        "central_saraban",
    ):
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main_cockpit() if "--cockpit" in sys.argv[1:] else main()
