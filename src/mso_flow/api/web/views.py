"""The pages of the web app (`/app`): each route reads the session, calls the same service functions as the JSON
API, and renders a template; form POSTs carry the session's CSRF token and answer with a redirect (or the page
again with the service's errors beside their fields)."""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from mso_flow.api import exports
from mso_flow.api.deps import ServicesDep
from mso_flow.api.problems import STATUS
from mso_flow.api.web import kpi_csv, security
from mso_flow.api.web.case_data import case_data
from mso_flow.api.web.holding import done_message
from mso_flow.api.web.render import WebRoute, error_page, page
from mso_flow.api.web.security import FormDep, OptionalPersonDep, PersonDep
from mso_flow.domain import DefinitionSource, EmailMode, MailState, NotificationKind
from mso_flow.rendering.charts import Bar, bar_chart
from mso_flow.services import policy
from mso_flow.services.accounts import logins as accounts
from mso_flow.services.accounts import users
from mso_flow.services.accounts.known_roles import headed_roles
from mso_flow.services.accounts.logins import LoginThrottled, WebCaller
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.definitions import diagrams
from mso_flow.services.definitions.model import FormField
from mso_flow.services.documents import queries as document_queries
from mso_flow.services.instances import cases, incidents
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.instances import queries as instance_queries
from mso_flow.services.notifications import queries as notifications
from mso_flow.services.notifications.rules import WORDS as KIND_WORDS
from mso_flow.services.platform.context import Services
from mso_flow.services.platform.failures import Forbidden, Invalid, NotFound, ServiceError
from mso_flow.services.privacy import officer as privacy
from mso_flow.services.reports import kpis as reports
from mso_flow.services.reports.kpis import Period
from mso_flow.services.tasks import assignment, comments, inbox, staffing
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.services.tasks import queries as task_queries

router = APIRouter(prefix="/app", route_class=WebRoute, include_in_schema=False)
Search = Annotated[str | None, Query(max_length=200)]
WRONG_LOGIN = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"
MAX_COMMENT = 4000
EVENT_NAMES = {
    "instance_started": "เริ่มกระบวนงาน",
    "task_created": "มีงานใหม่",
    "task_claimed": "รับงาน",
    "task_unclaimed": "คืนงาน",
    "task_completed": "ส่งงาน",
    "task_assigned": "มอบหมายงาน",
    "task_delegated": "ฝากงาน",
    "task_resolved": "ส่งงานคืนเจ้าของ",
    "task_cancelled": "ยกเลิกงาน",
    "instance_completed": "กระบวนงานเสร็จสิ้น",
    "instance_cancelled": "ยกเลิกกระบวนงาน",
    "instance_migrated": "ย้ายไปรุ่นใหม่",
    "message_received": "ได้รับข้อความ",
    "message_correlated": "ได้รับข้อความ",
    "timer_fired": "ครบกำหนดเวลา",
    "task_commented": "แสดงความเห็น",
    "variables_set": "ระบบภายนอกแก้ไขข้อมูลของเรื่อง",
    "external_task_created": "รอระบบภายนอกดำเนินการ",
    "external_task_completed": "ระบบภายนอกดำเนินการเสร็จ",
    "external_task_failed": "ระบบภายนอกดำเนินการไม่สำเร็จ",
    "external_task_bpmn_error": "ระบบภายนอกแจ้งข้อผิดพลาดทางธุรกิจ",
    "incident_created": "พบเหตุขัดข้องของกระบวนการ",
    "incident_retried": "ผู้ดูแลระบบลองดำเนินการใหม่",
    "incident_resolved": "ผู้ดูแลระบบปิดเหตุขัดข้อง",
    "personal_data_erased": "ลบข้อมูลส่วนบุคคล",
    "document_added": "แนบเอกสาร",
    "document_version_added": "เพิ่มฉบับใหม่ของเอกสาร",
    "document_withdrawn": "ถอนเอกสาร",
}
EMAIL_MODES = (
    (EmailMode.IMMEDIATE, "ทันทีที่มีการแจ้งเตือน"),
    (EmailMode.DIGEST, "สรุปวันละครั้ง เวลา 08:00 น. ในวันทำการ"),
    (EmailMode.OFF, "ไม่รับอีเมล (แจ้งเตือนในระบบเท่านั้น)"),
)
MAIL_STATES = {
    MailState.PENDING: "รอส่ง",
    MailState.LEASED: "กำลังเตรียมส่ง",
    MailState.SENDING: "กำลังส่ง",
    MailState.SENT: "ส่งแล้ว",
    MailState.FAILED: "ส่งไม่สำเร็จ",
    MailState.UNKNOWN: "ไม่ทราบผล (การเชื่อมต่อขาดระหว่างส่ง)",
    MailState.DROPPED: "ไม่ส่ง (ไม่มีที่อยู่หรือปิดการรับอีเมล)",
}
_KPI_TARGET = re.compile(r"(?:ร้อยละ|ไม่น้อยกว่า)\s*([0-9๐-๙]+)")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# --- login and logout -------------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, person: OptionalPersonDep, next: Search = None) -> Response:
    if person is not None:
        return _redirect(_safe_next(next))
    return _login_page(request, next)


def _login_page(request: Request, next: str | None, error: str | None = None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", None, status_code, login_token=token, next=next or "", error=error)
    response.set_cookie(
        security.LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=security.COOKIE_PATH,
    )
    return response


def _safe_next(target: str | None) -> str:
    """Only a page of the app itself (no other host)."""
    if target and target.startswith("/app/") and not target.startswith("/app//") and "\\" not in target:
        return target
    return "/app/"


@router.post("/login")
async def login(request: Request, services: ServicesDep) -> Response:
    form = await request.form()
    if not security.login_token_ok(request, form):
        raise security.CsrfRefused
    username, password, next = _text(form, "username"), form.get("password"), _text(form, "next")
    client = request.client.host if request.client else "-"
    try:
        session = await run_in_threadpool(
            accounts.login, services, username, password if isinstance(password, str) else "", client
        )
    except LoginThrottled as err:
        return _login_page(request, next, err.message.split(" (")[0], 429)
    if session is None:
        return _login_page(request, next, WRONG_LOGIN, 401)
    response = _redirect(_safe_next(next))
    response.set_cookie(
        security.SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=security.COOKIE_PATH,
    )
    response.delete_cookie(security.LOGIN_COOKIE, path=security.COOKIE_PATH)
    return response


@router.post("/logout")
def logout(request: Request, services: ServicesDep, form: FormDep) -> Response:
    accounts.logout(services, request.cookies.get(security.SESSION_COOKIE, ""))
    response = _redirect("/app/login")
    response.delete_cookie(security.SESSION_COOKIE, path=security.COOKIE_PATH)
    return response


# --- inbox and tasks --------------------------------------------------------------------------------------


@router.get("/")
def inbox_page(
    request: Request,
    services: ServicesDep,
    person: PersonDep,
    role: Search = None,
    q: Search = None,
    sent: int = 0,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    caller = person.caller
    found = inbox.inbox(services, caller, role or None, q, offset)
    counts = inbox.counts(services, caller)
    return page(
        request,
        "inbox.html",
        person,
        found=found,
        items=found.items,
        counts=counts,
        role=role or "",
        q=q or "",
        sent=sent,
    )


@router.get("/counts")
def counts_json(services: ServicesDep, person: PersonDep) -> JSONResponse:
    """Open and overdue tasks per role of the person, for the inbox's counts to refresh themselves."""
    counts = inbox.counts(services, person.caller)
    return JSONResponse({role: {"open": n, "overdue": late} for role, (n, late) in counts.items()})


def _task_context(services: Any, person: WebCaller, task_id: str) -> dict[str, Any]:
    caller = person.caller
    view = task_queries.get(services, caller, task_id)
    task, model, task_def = view.task, view.model, view.step
    try:
        instance = instance_queries.head(services, caller, task.instance_id)
    except ServiceError:
        instance = None
    is_open = task.state == "open"
    held = is_open and task.assignee == caller.username and task.delegation_state != "pending"
    claimable = is_open and task.assignee is None and policy.may_claim(caller, task)
    supervise = is_open and policy.may_assign(caller, task, headed_roles(services, caller))
    delegable = held and policy.may_delegate(caller, task)
    resolvable = is_open and task.delegation_state == "pending" and policy.may_resolve(caller, task)
    people = assignment.candidates(services, caller, task_id) if supervise else []
    return {
        "task": task,
        "view": view,
        "model": model,
        "task_def": task_def,
        "instance": instance,
        "held": held,
        "claimable": claimable,
        "people": people,
        "supervise": supervise,
        "delegates": assignment.delegates(services, caller, task_id) if delegable else [],
        "delegable": delegable,
        "resolvable": resolvable,
        "without_password": assignment.without_password(services, people) if people else set(),
        "comments": comments.listing(services, caller, task_id, 0, 200)[0] if view.variables_visible else [],
        "documents": document_queries.of_task(services, caller, task) if view.variables_visible else [],
        "may_attach": policy.may_attach_to_task(caller, task),
        "overdue": bool(is_open and task.due_at and task.due_at < services.clock()),
    }


@router.get("/tasks/{task_id}")
def task_page(
    request: Request, services: ServicesDep, person: PersonDep, task_id: str, done: Search = None
) -> Response:
    context = _task_context(services, person, task_id)
    values = {
        f.id: context["view"].variables.get(f.id, f.default)
        for f in context["view"].form
        if not (f.type == "boolean" and f.required)  # an explicit choice each time: nothing preselected
    }
    message = done_message(done or "", context["task"])
    return page(request, "task.html", person, values=values, errors={}, general=None, done=message, **context)


def _done(task_id: str, what: str) -> RedirectResponse:
    """Back to the task page, which confirms `what` was done (`holding.DONE`)."""
    return _redirect(f"/app/tasks/{task_id}?done={what}")


@router.post("/tasks/{task_id}/claim")
def claim(services: ServicesDep, person: PersonDep, form: FormDep, task_id: str) -> Response:
    tasks.claim(services, person.caller, task_id)
    return _done(task_id, "claimed")


@router.post("/tasks/{task_id}/unclaim")
def unclaim(services: ServicesDep, person: PersonDep, form: FormDep, task_id: str) -> Response:
    tasks.unclaim(services, person.caller, task_id)
    return _done(task_id, "unclaimed")


@router.post("/tasks/{task_id}/assign")
def assign(services: ServicesDep, person: PersonDep, form: FormDep, task_id: str) -> Response:
    username = _text(form, "username") or None
    assignment.assign(services, person.caller, task_id, username, _text(form, "reason") or None)
    return _done(task_id, "assigned" if username else "unassigned")


@router.post("/tasks/{task_id}/delegate")
def delegate(services: ServicesDep, person: PersonDep, form: FormDep, task_id: str) -> Response:
    """The holder hands the task to a delegate (the API's delegate, same policy)."""
    username = _text(form, "username")
    if not username:
        raise Invalid("delegate_required", "โปรดเลือกผู้ที่จะฝากงานให้ (username required)")
    assignment.delegate(services, person.caller, task_id, username, _text(form, "reason") or None)
    return _done(task_id, "delegated")


@router.post("/tasks/{task_id}/resolve")
def resolve(services: ServicesDep, person: PersonDep, form: FormDep, task_id: str) -> Response:
    """The delegate gives the task back to its owner (the API's resolve, same policy)."""
    assignment.resolve(services, person.caller, task_id, _text(form, "reason") or None)
    return _done(task_id, "resolved")


@router.post("/tasks/{task_id}/comments")
def add_comment(services: ServicesDep, person: PersonDep, form: FormDep, task_id: str) -> Response:
    text = _text(form, "text")
    if not 1 <= len(text) <= MAX_COMMENT:
        raise Invalid(
            "invalid_comment", f"ความเห็นต้องยาว 1 ถึง {MAX_COMMENT} ตัวอักษร (comment: 1-{MAX_COMMENT} characters)"
        )
    comments.add(services, person.caller, task_id, text)
    return _redirect(f"/app/tasks/{task_id}#comments")


def form_variables(fields: tuple[FormField, ...], form: FormData) -> dict[str, Any]:
    """The submitted form as the task's variables: a checkbox is true or false, a required yes/no the option chosen
    (none: left out), a number an integer (else the text, for the service to refuse), an empty input is left out
    (so a required one is reported missing)."""
    variables: dict[str, Any] = {}
    for field in fields:
        raw = form.get(field.id)
        if field.type == "boolean" and field.required:  # two options, ใช่ / ไม่ใช่: none chosen is missing
            if raw in ("true", "false"):
                variables[field.id] = raw == "true"
            continue
        if field.type == "boolean":
            variables[field.id] = raw is not None
            continue
        if not isinstance(raw, str) or not raw.strip():
            continue
        value = raw.strip()
        if field.type == "long":
            try:
                variables[field.id] = int(value)
            except ValueError:
                variables[field.id] = value
        else:
            variables[field.id] = value
    return variables


@router.post("/tasks/{task_id}/complete")
def complete(request: Request, services: ServicesDep, person: PersonDep, form: FormDep, task_id: str) -> Response:
    variables = form_variables(task_queries.form_of(services, person.caller, task_id), form)
    try:
        tasks.complete(services, person.caller, task_id, variables, unheld_ok=form.get("unheld_ok") == "1")
    except Invalid as err:
        errors = {e.get("field", ""): e.get("message", "") for e in err.errors}
        return task_again(request, services, person, task_id, variables, errors, err.message)
    except ServiceError as err:
        if err.code == staffing.UNHELD:  # nothing was sent: the person confirms, or chooses otherwise
            return task_again(request, services, person, task_id, variables, {}, err.message, unheld=True)
        return task_again(request, services, person, task_id, variables, {}, err.message)
    return _redirect("/app/?sent=1")


def task_again(
    request: Request,
    services: Any,
    person: WebCaller,
    task_id: str,
    values: dict[str, Any],
    errors: dict[str, str],
    general: str,
    error: ServiceError | None = None,
    unheld: bool = False,
) -> Response:
    context = _task_context(services, person, task_id)
    status = 409 if unheld else STATUS.get(error.kind, 422) if error is not None else 422
    shown = {"values": values, "errors": errors, "general": None if unheld else general}
    return page(request, "task.html", person, status, unheld=general if unheld else None, **shown, **context)


# --- notifications ----------------------------------------------------------------------------------------


@router.get("/notifications")
def notifications_page(request: Request, services: ServicesDep, person: PersonDep, saved: int = 0) -> Response:
    found = notifications.listing(services, person.caller, False, 0, 200)
    setting = notifications.email_setting(services, person.caller)
    return page(request, "notifications.html", person, found=found, setting=setting, modes=EMAIL_MODES, saved=saved)


@router.get("/notifications/count")
def unread_json(services: ServicesDep, person: PersonDep) -> JSONResponse:
    """The bell's number, for it to refresh itself."""
    return JSONResponse({"unread": notifications.unread(services, person.caller)})


@router.post("/notifications/read-all")
def read_all(services: ServicesDep, person: PersonDep, form: FormDep) -> Response:
    notifications.mark_all_read(services, person.caller)
    return _redirect("/app/notifications")


@router.post("/notifications/settings")
def notification_settings(services: ServicesDep, person: PersonDep, form: FormDep) -> Response:
    try:
        mode = EmailMode(_text(form, "email"))
    except ValueError:
        raise Invalid("invalid_setting", "ตัวเลือกการรับอีเมลไม่ถูกต้อง (email: immediate, digest or off)") from None
    notifications.set_email_mode(services, person.caller, mode)
    return _redirect("/app/notifications?saved=1")


@router.get("/notifications/deliveries")
def deliveries_page(request: Request, services: ServicesDep, person: PersonDep) -> Response:
    items, total = notifications.deliveries(services, person.caller, None, 0, 500)
    kinds = {kind.value: KIND_WORDS[kind] for kind in NotificationKind}
    return page(request, "deliveries.html", person, items=items, total=total, kinds=kinds, states=MAIL_STATES)


@router.post("/notifications/{notification_id}/read")
def read_one(services: ServicesDep, person: PersonDep, form: FormDep, notification_id: str) -> Response:
    notifications.mark_read(services, person.caller, notification_id)
    return _redirect("/app/notifications")


# --- processes and instances ------------------------------------------------------------------------------


@router.get("/processes")
def processes_page(request: Request, services: ServicesDep, person: PersonDep, q: Search = None) -> Response:
    found, _ = definitions.listing(services, 0, 500, q=(q or "").strip() or None)
    units: dict[str, list[Any]] = defaultdict(list)
    for row, model in found:
        if policy.may_start(person.caller, model):
            units[model.unit or "ไม่ระบุหน่วยงาน"].append((row, model))
    return page(request, "processes.html", person, units=dict(sorted(units.items())), q=q or "")


def _svg(data: bytes) -> Markup:
    """The service's own SVG (labels escaped by the renderer), without its XML declaration, for inlining."""
    text = data.decode("utf-8")
    return Markup(text[text.index("<svg") :])


def _has_inferred(svg: Markup) -> bool:
    """The diagram draws elements added by reading the manual (dashed, class `inferred`)."""
    return " inferred" in svg


@router.get("/processes/{key}")
def process_page(request: Request, services: ServicesDep, person: PersonDep, key: str, error: str = "") -> Response:
    row, model = definitions.latest(services, key)
    notes = policy.reads_design_notes(person.caller)
    svg = _svg(diagrams.definition_svg(services, key, None, legend=notes))
    return page(
        request,
        "process.html",
        person,
        row=row,
        model=model,
        svg=svg,
        dashed=_has_inferred(svg) and not notes,
        may_start=policy.may_start(person.caller, model),
        error=error,
    )


@router.post("/processes/{key}/start")
def start(request: Request, services: ServicesDep, person: PersonDep, form: FormDep, key: str) -> Response:
    try:
        view = instances.start(services, person.caller, key, _text(form, "business_key") or None, {})
    except ServiceError as err:
        existing = err.extra.get("instance_id")
        if existing:
            return _redirect(f"/app/instances/{existing}?duplicate=1")
        return error_page(request, person, err)
    return _redirect(f"/app/instances/{view.instance.id}")


INSTANCE_STATES = {
    "running": "กำลังดำเนินการ",
    "completed": "เสร็จสิ้น",
    "cancelled": "ยกเลิก",
    "suspended": "พักไว้",
    "failed": "ขัดข้อง",
}


def _day(text: str | None, label: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid("invalid_date", f"{label}ไม่ถูกต้อง (a date: YYYY-MM-DD)") from None


@router.get("/instances")
def cases_page(
    request: Request,
    services: ServicesDep,
    person: PersonDep,
    q: Search = None,
    key: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    started_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    started_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The cases the person may see, found by part of the business key, process, state and start dates."""
    query = cases.CaseQuery(
        business_key=q,
        key=key or None,
        state=state or None,
        started_from=_day(started_from, "วันที่เริ่มต้น"),
        started_to=_day(started_to, "วันที่สิ้นสุด"),
        offset=offset,
    )
    found = cases.search(services, person.caller, query)
    filters = {"q": q or "", "key": key or "", "state": state or "", "from": started_from or "", "to": started_to or ""}
    return page(
        request,
        "cases.html",
        person,
        found=found,
        filters=filters,
        states=INSTANCE_STATES,
        query_string=urlencode(filters),
    )


@router.get("/instances/{instance_id}")
def instance_page(
    request: Request, services: ServicesDep, person: PersonDep, instance_id: str, duplicate: int = 0
) -> Response:
    caller = person.caller
    view = instance_queries.get(services, caller, instance_id)
    model = services.definition(view.instance.definition_id).model
    events, _ = instance_queries.audit(services, caller, instance_id, 0, 500)
    names = {t.element_id: t.name for t in model.user_tasks}
    documents = document_queries.listing(services, caller, instance_id) if view.variables_visible else []
    notes = policy.reads_design_notes(caller)
    svg = _svg(diagrams.instance_svg(services, caller, instance_id, legend=notes))
    response = page(
        request,
        "instance.html",
        person,
        view=view,
        model=model,
        data=case_data(model, view.variables, view.masked_variables, view.disclosure.erased),
        svg=svg,
        dashed=_has_inferred(svg) and not notes,
        events=events,
        names=names,
        event_names=EVENT_NAMES,
        incidents=incidents.of_viewed_instance(services, view),
        duplicate=duplicate,
        erasable=policy.is_privacy_officer(caller) and view.erasable,
        documents=documents,
        field_labels={f.id: f.label for t in model.user_tasks for f in t.form},
        may_attach=view.instance.state == "running"
        and policy.may_attach_document(caller, view.instance, view.active_tasks),
        may_withdraw=lambda d: not d.withdrawn and policy.may_withdraw_document(caller, d.created_by),
    )
    if documents:  # PDFs are previewed in a sandboxed frame of this page: the one page that frames anything
        response.headers["content-security-policy"] = security.page_csp(frame_src="'self'")
    return response


@router.post("/instances/{instance_id}/erase-personal-data")
def erase_personal_data(services: ServicesDep, person: PersonDep, form: FormDep, instance_id: str) -> Response:
    """The privacy officer's erasure (the same use case as the API's)."""
    privacy.erase(services, person.caller, instance_id, _text(form, "reason"), form.get("cancel_running") == "true")
    return _redirect(f"/app/instances/{instance_id}")


# --- reports --------------------------------------------------------------------------------------------


def _target(kpi: str | None) -> float | None:
    match = _KPI_TARGET.search(kpi or "")
    if not match:
        return None
    digits = match[1].translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789"))
    return min(int(digits), 100) / 100


def _on_time(p: reports.ProcessKpi) -> tuple[float, int, str]:
    """(share on time, how many, of what): finished cases where there are any, else finished steps."""
    if p.stats and p.stats.count:
        return p.stats.on_time_ratio, p.stats.count, "เรื่อง"
    done = sum(s.stats.count for s in p.steps)
    on_time = sum(s.stats.on_time_ratio * s.stats.count for s in p.steps)
    return (on_time / done if done else 0.0), done, "ขั้นตอน"


@router.get("/reports")
def reports_page(request: Request, services: ServicesDep, person: PersonDep) -> Response:
    processes = [p for p in reports.kpi(services, person.caller, Period()) if _on_time(p)[1]]
    per_unit: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    process_bars = []
    for p in processes:
        ratio, count, what = _on_time(p)
        process_bars.append(Bar(p.name or p.key, ratio, f"{count} {what}", _target(p.kpi)))
        per_unit[p.unit or "ไม่ระบุหน่วยงาน"][0] += count
        per_unit[p.unit or "ไม่ระบุหน่วยงาน"][1] += ratio * count
    unit_bars = [
        Bar(unit, on_time / count, f"{count:.0f} รายการ") for unit, (count, on_time) in sorted(per_unit.items())
    ]
    by_unit, by_role = reports.overdue(services, person.caller, None)
    return page(
        request,
        "reports.html",
        person,
        processes=processes,
        targets={p.key: _target(p.kpi) for p in processes},
        unit_chart=Markup(bar_chart(unit_bars, "สัดส่วนที่เสร็จทันกำหนดรายหน่วยงาน")),
        process_chart=Markup(bar_chart(process_bars, "สัดส่วนที่เสร็จทันกำหนดรายกระบวนงาน")),
        by_role=[r for r in by_role if r[1]],
        # a task of a lane several roles work is in the row of each role, and once in the total (per unit)
        overdue_total=(sum(n for _, n, _ in by_unit), sum(late for _, _, late in by_unit)),
    )


@router.get("/reports/kpi.csv")
def reports_csv(services: ServicesDep, person: PersonDep, headers: str = "thai") -> Response:
    """The KPIs for a spreadsheet: Thai headers and rounded figures (`?headers=ascii`: ASCII column names)."""
    rows = kpi_csv.rows(reports.kpi(services, person.caller, Period()), ascii_headers=headers == "ascii")
    return exports.response(rows, "csv", "kpi")


# --- designers and admins -------------------------------------------------------------------------------


def _require_designer(person: WebCaller) -> None:
    if not policy.may_deploy(person.caller):
        raise Forbidden("role_required", "หน้านี้สำหรับผู้ออกแบบกระบวนงานหรือผู้ดูแลระบบ (role required)")


@router.get("/definitions")
def definitions_page(request: Request, services: ServicesDep, person: PersonDep) -> Response:
    _require_designer(person)
    return _definitions_page(request, services, person, 200)


def _definitions_page(request: Request, services: Services, person: WebCaller, status: int, **results: Any) -> Response:
    """The designer's page: processes and decision tables in the service, and what a deployment just did."""
    found, _ = definitions.listing(services, 0, 500)
    decisions, _ = definitions.decisions(services, 0, 500)
    shown = {"problems": [], "warnings": [], "deployed": [], "decisions_deployed": [], **results}
    return page(request, "definitions.html", person, status, found=found, decisions=decisions, **shown)


@router.post("/definitions")
def deploy(request: Request, services: ServicesDep, person: PersonDep, form: FormDep) -> Response:
    _require_designer(person)
    files = []
    for upload in form.getlist("files"):
        if isinstance(upload, UploadFile) and upload.filename:
            files.append((upload.filename, upload.file.read()))
    deployed: list[tuple[Any, Any]] = []
    try:
        outcome = definitions.deploy_files(services, person.caller, files, DefinitionSource.API)
    except ServiceError as err:
        problems = err.errors or [{"file": "-", "line": None, "element_id": None, "message": err.message}]
        return _definitions_page(request, services, person, 422, problems=problems)
    for result in outcome.processes:
        row = result.definition
        change = definitions.diff(services, row.key, row.version - 1, row.version)[2] if row.version > 1 else None
        deployed.append((result, change))
    warnings = [p.as_dict() for p in outcome.warnings]
    return _definitions_page(
        request, services, person, 200, deployed=deployed, warnings=warnings, decisions_deployed=outcome.decisions
    )


@router.get("/definitions/{key}")
def definition_versions(request: Request, services: ServicesDep, person: PersonDep, key: str) -> Response:
    _require_designer(person)
    rows, _ = definitions.versions(services, key, 0, 100)
    changes = {
        row.version: definitions.diff(services, key, row.version - 1, row.version)[2]
        for row in rows[:10]
        if row.version > 1
    }
    return page(request, "versions.html", person, key=key, rows=rows, changes=changes)


def _users_page(request: Request, services: Services, person: WebCaller, status: int = 200, **shown: Any) -> Response:
    """The admin's users page, with what was just done (`created`, `password_set`, errors)."""
    found, _ = users.list_users(services, person.caller, 0, 500)
    context = {"created": None, "errors": {}, "general": None, "values": {}, "password_set": None, **shown}
    may_set = {u.username for u in found if policy.may_set_password_of(person.caller, u.username, u.roles)}
    return page(request, "users.html", person, status, found=found, may_set_password=may_set, **context)


@router.get("/users")
def users_page(request: Request, services: ServicesDep, person: PersonDep) -> Response:
    return _users_page(request, services, person)


@router.post("/users/{username}/password")
def reset_password(
    request: Request, services: ServicesDep, person: PersonDep, form: FormDep, username: str
) -> Response:
    """Set a person's password (or a one-time one, shown once); they choose their own at their next login."""
    password = form.get("password")
    chosen = password if isinstance(password, str) and password else None
    try:
        one_time = accounts.reset_password(services, person.caller, username, chosen)
    except ServiceError as err:
        return _users_page(request, services, person, STATUS.get(err.kind, 422), general=err.message)
    return _users_page(request, services, person, password_set=(username, one_time))


@router.post("/users")
def create_user(request: Request, services: ServicesDep, person: PersonDep, form: FormDep) -> Response:
    values = {"username": _text(form, "username"), "roles": _text(form, "roles"), "email": _text(form, "email")}
    roles = [r.strip() for r in re.split(r"[\n,]", values["roles"]) if r.strip()]
    password = form.get("password")
    created, errors, general, status = None, {}, None, 201
    try:
        created = accounts.create_user(
            services,
            person.caller,
            values["username"],
            roles,
            password if isinstance(password, str) and password else None,
            email=values["email"] or None,
        )
        values = {}
    except ServiceError as err:
        errors = {e.get("field", ""): e.get("message", "") for e in err.errors}
        general, status = err.message, 422 if isinstance(err, Invalid) else 403 if isinstance(err, Forbidden) else 409
    shown = {"created": created, "errors": errors, "general": general, "values": values}
    return _users_page(request, services, person, status, **shown)


@router.get("/password")
def password_page(request: Request, person: PersonDep) -> Response:
    return page(request, "password.html", person, error=None, done=False)


@router.post("/password")
def change_password(request: Request, services: ServicesDep, person: PersonDep, form: FormDep) -> Response:
    current, new = form.get("current"), form.get("new")
    try:
        accounts.change_password(
            services, person.caller, current if isinstance(current, str) else "", new if isinstance(new, str) else ""
        )
    except ServiceError as err:
        return page(request, "password.html", person, 422, error=err.message, done=False)
    return _redirect("/app/login")


# --- anything else under /app -------------------------------------------------------------------------------

fallback = APIRouter(prefix="/app", route_class=WebRoute, include_in_schema=False)


@fallback.get("/{rest:path}")
def not_a_page(person: PersonDep, rest: str) -> Response:
    """A page the app does not have: the Thai error page (404), not the API's problem document."""
    raise NotFound("page_not_found", "ไม่พบหน้านี้ (no such page)")
