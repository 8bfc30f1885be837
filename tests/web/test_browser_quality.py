"""The web app as people with phones, keyboards and screen readers use it, in Debian's Chromium against the live
service: every page passes axe-core (WCAG 2.1 AA, no serious or critical violation), fits a 390×844 phone without
scrolling sideways with touch targets of at least 44 px, a task is completed with the keyboard alone, and names,
lanes and business keys of 200 Thai characters wrap at 1280 and 390 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.documents.files import attach_letter
from tests.factory import bpmn
from tests.live import LiveService
from tests.web.conftest import CHROMIUM, CLERK, PASSWORD, browser_login

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the distribution's Chromium (.ci/run installs it)"),
]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

AXE_DIR = Path(__file__).resolve().parent.parent / "axe"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Outside the frames that scroll on their own (the diagram, a wide table), nothing is wider than the window.
OVERFLOW = """() => {
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".diagram, .table-wrap") && !el.matches(".diagram, .table-wrap")) continue;
    const r = el.getBoundingClientRect();
    if (r.width && r.right > innerWidth + 1) wide.push(el.tagName + "." + el.className + " " + Math.round(r.right));
  }
  return {scroll: document.documentElement.scrollWidth, inner: innerWidth, wide: wide.slice(0, 5)};
}"""
# What a finger taps: buttons, fields, list and table links, the header's links, a checkbox with its label.
SMALL_TARGETS = """() => {
  const small = [];
  const selector = "button, select, textarea, summary, input:not([type=hidden]):not([type=checkbox]), "
    + "nav a, li a, td a, .who a, .crumbs a, a.button";
  const box = (r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  const targets = [...document.querySelectorAll(selector)].map((el) => [el, box(el.getBoundingClientRect())]);
  for (const input of document.querySelectorAll("input[type=checkbox]")) {
    const r = box(input.getBoundingClientRect());
    for (const label of input.labels) {
      const l = label.getBoundingClientRect();
      r.left = Math.min(r.left, l.left); r.right = Math.max(r.right, l.right);
      r.top = Math.min(r.top, l.top); r.bottom = Math.max(r.bottom, l.bottom);
    }
    targets.push([input, r]);
  }
  for (const [el, r] of targets) {
    if (r.right <= 0 || r.bottom <= 0 || el.closest("svg")) continue;  // the skip link waits off screen
    if (r.bottom - r.top < 44 || r.right - r.left < 44) {
      small.push(el.tagName + " " + (el.textContent || el.name || "").trim().slice(0, 30) + " "
        + Math.round(r.right - r.left) + "x" + Math.round(r.bottom - r.top));
    }
  }
  return small;
}"""
# The smallest text of the charts as drawn: font size × how much the SVG is scaled down.
CHART_TEXT = """() => Math.min(...[...document.querySelectorAll(".chart svg")].flatMap((svg) => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll("text")].map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
}))"""

# Table cells a phone would have to scroll to (the step tables become cards instead).
CUT_CELLS = """() => [...document.querySelectorAll("td")]
  .filter((td) => td.getBoundingClientRect().right > innerWidth + 1).length"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe.min.js of tests/axe (installed with `npm ci` when missing)."""
    import shutil
    import subprocess

    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        assert npm, "Node.js and npm are needed for axe-core"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_DIR, check=True, capture_output=True)
    return script.read_text(encoding="utf-8")


def axe_violations(page: Any, axe_source: str) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations of the page. axe is evaluated through the
    DevTools protocol, which the page's CSP (no inline scripts) does not govern, so the CSP stays on."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG_AA
    )
    assert any(rule["id"] == "html-has-lang" for rule in result["passes"]), "axe did not check the page"
    return [
        f"{v['id']} ({v['impact']}): {len(v['nodes'])}× {v['nodes'][0]['target']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _api(service: LiveService, username: str | None = None) -> Any:
    return service.client(service.tokens[username] if username else None)  # type: ignore[attr-defined]


def _start(service: LiveService, business_key: str, steps: list[dict[str, Any]] = ()) -> str:
    """A สารบรรณ case started by the clerk and worked over the API through `steps` (variables of each task)."""
    with _api(service, "clerk1") as clerk, _api(service, "head1") as head:
        started = clerk.post("/api/v1/process-definitions/central_saraban/start", json={"business_key": business_key})
        instance_id = started.raise_for_status().json()["id"]
        for variables in steps:
            person = head if "orders" in variables else clerk
            task = person.get("/api/v1/tasks", params={"process_instance_id": instance_id}).json()["items"][0]
            if task["element_id"] == "Task_register":  # สารบรรณ ๓ scans the letter in (its required file field)
                attach_letter(person, {}, task["id"], instance_id)
            done = person.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": variables})
            assert done.status_code == 200, done.text
    return instance_id


TO_THE_HEAD = [
    {"subject": "ขอความอนุเคราะห์ข้อมูล", "secrecy": "normal", "speed": "urgent"},
    {"documents_complete": True},
    {},
    {"importance": "important"},
]


@pytest.fixture(scope="module")
def pages(service: LiveService) -> Iterator[dict[str, Any]]:
    """Cases to look at: one waiting at its first step, one waiting for the head far right on its diagram."""
    fresh = _start(service, "พม 0201/เข้าถึง-1")
    later = _start(service, "พม 0201/เข้าถึง-2", TO_THE_HEAD)
    with _api(service, "clerk1") as clerk:
        tasks = clerk.get("/api/v1/tasks", params={"process_instance_id": fresh}).json()["items"]
    yield {"fresh": fresh, "later": later, "task": tasks[0]["id"]}


def _check_page(page: Any, axe_source: str, name: str, problems: dict[str, list[str]]) -> None:
    """At the phone's size: nothing wider than the window, targets big enough; at the desktop's: axe."""
    page.set_viewport_size(PHONE)
    found = page.evaluate(OVERFLOW)
    if found["scroll"] > found["inner"] or found["wide"]:
        problems.setdefault(name, []).append(f"390 px: page {found['scroll']} px wide; {found['wide']}")
    small = page.evaluate(SMALL_TARGETS)
    if small:
        problems.setdefault(name, []).append(f"targets under 44 px: {small[:6]}")
    page.set_viewport_size(DESKTOP)
    found = page.evaluate(OVERFLOW)
    if found["scroll"] > found["inner"] or found["wide"]:
        problems.setdefault(name, []).append(f"1280 px: page {found['scroll']} px wide; {found['wide']}")
    violations = axe_violations(page, axe_source)
    if violations:
        problems.setdefault(name, []).append(f"axe: {violations}")


def test_every_page_passes_axe_fits_a_phone_and_has_44px_targets(service, browser, axe_source, pages):
    problems: dict[str, list[str]] = {}
    anonymous = browser.new_context(base_url=service.url, locale="th-TH", viewport=DESKTOP)
    clerk_context, clerk = browser_login(browser, service, "clerk1", viewport=DESKTOP)
    admin_context, admin = browser_login(browser, service, "admin", viewport=DESKTOP)
    try:
        login = anonymous.new_page()
        login.goto("/app/login")
        _check_page(login, axe_source, "login", problems)
        login.get_by_label("ชื่อผู้ใช้").fill("clerk1")
        login.get_by_label("รหัสผ่าน").fill("ไม่ใช่รหัสผ่านนี้")
        login.get_by_role("button", name="เข้าสู่ระบบ").click()
        _check_page(login, axe_source, "login (wrong password)", problems)

        for name, url in (
            ("inbox", "/app/"),
            ("task (unclaimed)", f"/app/tasks/{pages['task']}"),
            ("case", f"/app/instances/{pages['later']}"),
            ("processes", "/app/processes"),
            ("process", "/app/processes/central_saraban"),
            ("password", "/app/password"),
            ("error", "/app/instances/no-such-case"),
        ):
            clerk.goto(url)
            _check_page(clerk, axe_source, name, problems)

        clerk.goto(f"/app/tasks/{pages['task']}")
        clerk.get_by_role("button", name="รับงาน").click()
        _check_page(clerk, axe_source, "task (claimed)", problems)
        clerk.get_by_role("button", name="ส่งงาน").click()  # เรื่อง is required and empty
        expect(clerk.get_by_role("alert")).to_be_visible()
        _check_page(clerk, axe_source, "task (errors)", problems)

        # A form sent without the session's CSRF token (as from another site) gets the forbidden page.
        clerk.evaluate(
            """(action) => { const form = document.createElement("form"); form.method = "post";
            form.action = action; document.body.append(form); form.submit(); }""",
            f"/app/tasks/{pages['task']}/unclaim",
        )
        expect(clerk.get_by_role("heading", name="ไม่อนุญาต")).to_be_visible()
        _check_page(clerk, axe_source, "forbidden", problems)

        for name, url in (("reports", "/app/reports"), ("definitions", "/app/definitions"), ("users", "/app/users")):
            admin.goto(url)
            _check_page(admin, axe_source, name, problems)
        admin.set_viewport_size(PHONE)
        admin.goto("/app/reports")
        smallest = admin.evaluate(CHART_TEXT)
        if smallest < 12:
            problems.setdefault("reports", []).append(f"chart text {smallest:.1f} px on a phone")
        cut = admin.evaluate(CUT_CELLS)
        if cut:
            problems.setdefault("reports", []).append(f"{cut} table cells beyond a phone's width")
    finally:
        anonymous.close()
        clerk_context.close()
        admin_context.close()
    assert not problems, "\n".join(f"{page}: {p}" for page, found in problems.items() for p in found)


def test_the_case_page_scrolls_its_diagram_to_the_waiting_step(service, browser, pages):
    context, page = browser_login(browser, service, "clerk1", viewport=DESKTOP)
    try:
        page.goto(f"/app/instances/{pages['later']}")
        frame = page.locator(".diagram").bounding_box()
        waiting = page.locator(".diagram g.active").first.bounding_box()
        assert frame["x"] <= waiting["x"] and waiting["x"] + waiting["width"] <= frame["x"] + frame["width"], (
            frame,
            waiting,
        )
        expect(page.locator(".diagram .legend")).to_have_count(0)  # the designers' notes are not for clerks
    finally:
        context.close()


def _tab_to(page: Any, name: str, limit: int = 60) -> None:
    """Press Tab until the focused element's text, label or value is `name`, and check that focus shows."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const el = document.activeElement;
            const label = el.labels && el.labels.length ? el.labels[0].textContent : "";
            const style = getComputedStyle(el);
            return {text: (el.textContent || "").trim(), label: label.trim(),
                    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2}; }"""
        )
        if name in (focused["text"], focused["label"]):
            assert focused["outline"], f"{name}: focus is not visible"
            return
    raise AssertionError(f"Tab never reached {name!r}")


def _press_on(page: Any, name: str, key: str, then: Any) -> None:
    """Tab to `name`, press `key` (Enter or Space), and wait for `then` on the page that follows."""
    _tab_to(page, name)
    page.keyboard.press(key)
    expect(then).to_be_visible()


def test_a_clerk_completes_tasks_with_the_keyboard_alone(service, browser):
    instance_id = _start(service, "พม 0201/แป้นพิมพ์")
    context = browser.new_context(base_url=service.url, locale="th-TH", viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto("/app/login")
        _tab_to(page, "ชื่อผู้ใช้")
        page.keyboard.type("clerk1")
        _tab_to(page, "รหัสผ่าน")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="งานของฉัน")).to_be_visible()
        page.goto(f"/app/?q={'พม 0201/แป้นพิมพ์'}")

        heading = page.get_by_role("heading", name="สารบรรณกลางรับหนังสือ")
        _press_on(page, "สารบรรณกลางรับหนังสือ", "Enter", heading)
        _press_on(page, "รับงาน", "Enter", page.get_by_role("button", name="ส่งงาน"))
        _press_on(page, "ส่งงาน", "Enter", page.get_by_role("alert"))  # เรื่อง left empty
        expect(page.get_by_role("alert")).to_contain_text("ต้องกรอก เรื่อง")  # announced, and it takes the focus
        assert page.evaluate("() => document.activeElement.closest('[role=alert]') !== null")
        _tab_to(page, "เรื่อง")
        page.keyboard.type("ขอความอนุเคราะห์ข้อมูลสถิติ")
        _tab_to(page, "ชั้นความเร็ว")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        expect(page.get_by_label("ชั้นความเร็ว")).to_have_value("urgent")
        _press_on(page, "ส่งงาน", "Enter", page.get_by_role("status"))
        expect(page.get_by_role("status")).to_contain_text("ส่งงานเรียบร้อยแล้ว")

        check = "ตรวจสอบความถูกต้องและครบถ้วนของหนังสือ"
        _press_on(page, check, "Enter", page.get_by_role("heading", name=check))
        _press_on(page, "รับงาน", "Space", page.get_by_role("button", name="ส่งงาน"))
        _tab_to(page, "ใช่")  # the required yes/no: two options, none chosen
        page.keyboard.press("Space")
        expect(page.get_by_role("group", name="หนังสือครบถ้วนและถูกต้อง").get_by_label("ใช่", exact=True)).to_be_checked()
        _press_on(page, "ส่งงาน", "Space", page.get_by_role("status"))
        expect(page.get_by_role("status")).to_contain_text("ส่งงานเรียบร้อยแล้ว")
    finally:
        context.close()
    with _api(service, "clerk1") as clerk:
        active = clerk.get(f"/api/v1/process-instances/{instance_id}").json()["active_tasks"]
    assert [t["name"] for t in active] == ["ลงรับและสแกนหรือแนบไฟล์หนังสือเข้าระบบงานสารบรรณอิเล็กทรอนิกส์"]


# Thai words (which Chromium breaks between with its own dictionary), and a code-like key of Thai letters and
# numerals that no dictionary breaks.
LONG = ("ศูนย์ประสานงานการคุ้มครองและช่วยเหลือผู้ประสบปัญหาทางสังคม" * 4)[:200]
LONG_KEY = ("พม๐๒๐๑ปกท" * 23)[:200]


def test_names_lanes_and_business_keys_of_200_thai_characters_wrap(service, browser):
    long_lane = ("เจ้าหน้าที่ประสานงานการคุ้มครองพิเศษ" * 6)[:200]
    xml = bpmn(
        "test_long_names",
        [{"id": "work", "name": LONG, "lane": "staff", "duration": "P1D"}],
        lanes=[{"id": "staff", "name": long_lane}],
        name=LONG,
    )
    with service.client() as admin:
        deployed = admin.post("/api/v1/deployments", files=[("files", ("long.bpmn", xml))])
        assert deployed.status_code in (200, 201), deployed.text
        made = admin.post(
            "/api/v1/users",
            json={"username": "longlane1", "roles": [long_lane, CLERK], "password": PASSWORD, "force": True},
        )
        assert made.status_code == 201, made.text
        token = made.json()["token"]
    with service.client(token) as staff:
        started = staff.post("/api/v1/process-definitions/test_long_names/start", json={"business_key": LONG_KEY})
        assert started.status_code == 201, started.text
        instance_id = started.json()["id"]
        task_id = started.json()["active_tasks"][0]["id"]
    context, page = browser_login(browser, service, "longlane1", viewport=DESKTOP)
    admin_context, admin = browser_login(browser, service, "admin", viewport=DESKTOP)
    wide: list[str] = []
    try:
        for who, url in (
            (page, "/app/"),
            (page, f"/app/tasks/{task_id}"),
            (page, f"/app/instances/{instance_id}"),
            (page, "/app/processes"),
            (page, "/app/processes/test_long_names"),
            (admin, "/app/definitions"),
            (admin, "/app/reports"),
        ):
            who.goto(url)
            expect(who.locator("main")).to_contain_text(re.compile("ศูนย์ประสานงาน|งาน"))
            for size in (DESKTOP, PHONE):
                who.set_viewport_size(size)
                found = who.evaluate(OVERFLOW)
                if found["scroll"] > found["inner"] or found["wide"]:
                    wide.append(f"{url} at {size['width']}: {found}")
            who.set_viewport_size(DESKTOP)
    finally:
        context.close()
        admin_context.close()
    assert not wide, "\n".join(wide)
