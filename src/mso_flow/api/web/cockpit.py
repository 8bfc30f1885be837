"""The operators' Cockpit in the web app (`/app/cockpit`): incidents, running instances, external tasks, webhook
deliveries and audit verification, through `services/operations/cockpit.py` and the use cases that act (resolve, retry,
cancel, migrate). An admin acts; an auditor reads the same pages without their forms, and a POST of his is
refused (403) by the use case's policy like anyone else's. Cancel and migrate go through a confirmation page whose
form needs its explicit confirm box ticked; no step relies on JavaScript."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from starlette.datastructures import FormData

from mso_flow.api.deps import ServicesDep
from mso_flow.api.problems import STATUS
from mso_flow.api.web.render import WebRoute, page
from mso_flow.api.web.security import FormDep, PersonDep
from mso_flow.services import policy
from mso_flow.services.accounts.logins import WebCaller
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import incidents, migration
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.instances.incidents import IncidentFilter
from mso_flow.services.operations import cockpit
from mso_flow.services.platform.context import Services
from mso_flow.services.platform.failures import Invalid, ServiceError

router = APIRouter(prefix="/app/cockpit", route_class=WebRoute, include_in_schema=False)
PAGE = 50
Text = Annotated[str | None, Query(max_length=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]

INCIDENT_STATES = {"open": "ยังไม่แก้ไข", "resolved": "แก้ไขแล้ว"}
DELIVERY_STATES = {"pending": "รอส่ง", "failed": "ส่งไม่สำเร็จ", "delivered": "ส่งถึงแล้ว"}
EXTERNAL_VIEWS = {
    "open": "ทั้งหมดที่ยังไม่เสร็จ",
    "locked": "มีผู้ถืออยู่",
    "free": "รอผู้รับไปทำ",
    "no_retries": "หมดจำนวนครั้งที่ลองใหม่",
}
DELIVERY_ERRORS = {  # services/integrations/outbound.py records a category of failure, never the receiver's words
    "timeout": "ปลายทางไม่ตอบภายในเวลาที่กำหนด",
    "refused": "เชื่อมต่อปลายทางไม่ได้",
    "tls": "การเชื่อมต่อแบบเข้ารหัส (TLS) ไม่ผ่าน",
    "blocked_address": "ปลายทางเป็นที่อยู่ภายในที่ไม่อนุญาตให้ส่งถึง",
    "unresolved": "ไม่พบที่อยู่ของปลายทาง",
    "protocol_error": "ปลายทางตอบผิดรูปแบบ",
    "http_3xx": "ปลายทางให้ไปที่อยู่อื่น (ระบบไม่ตามไป)",
    "http_4xx": "ปลายทางปฏิเสธคำขอ",
    "http_5xx": "ปลายทางขัดข้อง",
    "webhook deleted": "ยกเลิกการรับ webhook แล้ว",
}
WAIT_WORDS = {"external": "รอระบบภายนอก", "timer": "รอถึงเวลา", "message": "รอข้อความ"}
CHAIN_REASONS = {
    "content_changed": "เนื้อหาของรายการถูกแก้ไขหลังบันทึก",
    "broken_link": "การเชื่อมโยงกับรายการก่อนหน้าขาด",
    "missing_event": "รายการหายไปจากลำดับ",
    "head_mismatch": "รายการล่าสุดไม่ตรงกับที่ระบบบันทึกไว้ (มีการเพิ่มหรือตัดรายการ)",
    "unsigned_head": "รายการล่าสุดยังไม่มีลายมือชื่อดิจิทัล",
    "unknown_signing_key": "ลายมือชื่อดิจิทัลมาจากกุญแจที่ระบบไม่รู้จัก",
    "signature_invalid": "ลายมือชื่อดิจิทัลไม่ถูกต้อง",
}
DONE = {
    "resolved": "ปิดเหตุขัดข้องแล้ว บันทึกเหตุผลในประวัติของเรื่องแล้ว",
    "retried": "ลองดำเนินการใหม่สำเร็จ เหตุขัดข้องปิดแล้ว",
    "migrated": "ย้ายเรื่องไปรุ่นใหม่แล้ว",
    "cancelled": "ยกเลิกเรื่องแล้ว",
}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _incident_url(incident_id: str, done: str) -> str:
    return f"/app/cockpit/incidents/{quote(incident_id, safe='')}?done={done}"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _process_names(services: Services) -> dict[str, str]:
    found, _ = definitions.listing(services, 0, 500)
    return {row.key: model.name or row.key for row, model in found}


def _svg(data: bytes) -> Markup:
    """The service's own SVG (labels escaped by the renderer), without its XML declaration, for inlining."""
    text = data.decode("utf-8")
    return Markup(text[text.index("<svg") :])


def _pages(base: str, params: dict[str, Any], offset: int, total: int) -> dict[str, str | None]:
    """The previous and next pages' links of a list, keeping its filters."""
    kept = {k: v for k, v in params.items() if v}

    def link(at: int) -> str:
        return f"{base}?{urlencode({**kept, 'offset': at})}" if at else (f"{base}?{urlencode(kept)}" if kept else base)

    return {
        "previous": link(max(offset - PAGE, 0)) if offset > 0 else None,
        "next": link(offset + PAGE) if offset + PAGE < total else None,
    }


def _page(request: Request, template: str, person: WebCaller, status: int = 200, **context: Any) -> Response:
    """A Cockpit page: with the Cockpit's own menu, and whether the person may act (admin) or only read."""
    caller = person.caller
    return page(
        request,
        template,
        person,
        status,
        fixes=policy.may_fix_incidents(caller),
        migrates=policy.may_migrate(caller),
        cancels=lambda instance: policy.may_cancel(caller, instance),
        section=template.removeprefix("cockpit/").removesuffix(".html"),
        **context,
    )


# --- overview -------------------------------------------------------------------------------------------


@router.get("")
def overview(request: Request, services: ServicesDep, person: PersonDep) -> Response:
    found = cockpit.overview(services, person.caller)
    names = _process_names(services)
    return _page(
        request,
        "cockpit/overview.html",
        person,
        counts=found,
        names=names,
        delivery_states=DELIVERY_STATES,
        external_views=EXTERNAL_VIEWS,
    )


# --- incidents ------------------------------------------------------------------------------------------


@router.get("/incidents")
def incidents_page(
    request: Request,
    services: ServicesDep,
    person: PersonDep,
    key: Text = None,
    unit: Text = None,
    state: Annotated[str | None, Query(max_length=16)] = "open",
    offset: Offset = 0,
) -> Response:
    state = state if state in INCIDENT_STATES else None
    f = IncidentFilter(key=key or None, unit=unit or None, state=state)
    found = cockpit.incident_page(services, person.caller, f, offset, PAGE)
    params = {"key": key, "unit": unit, "state": state or "all"}
    return _page(
        request,
        "cockpit/incidents.html",
        person,
        found=found,
        names=_process_names(services),
        kinds=incidents.KIND_TH,
        states=INCIDENT_STATES,
        chosen={"key": key or "", "unit": unit or "", "state": state or "all"},
        offset=offset,
        links=_pages("/app/cockpit/incidents", params, offset, found.total),
    )


def _incident_page(
    request: Request,
    services: Services,
    person: WebCaller,
    incident_id: str,
    status: int = 200,
    error: str | None = None,
    done: str = "",
    reason: str = "",
) -> Response:
    detail = cockpit.incident(services, person.caller, incident_id)
    return _page(
        request,
        "cockpit/incident.html",
        person,
        status,
        d=detail,
        x=detail.incident,
        svg=_svg(detail.svg),
        kinds=incidents.KIND_TH,
        states=INCIDENT_STATES,
        names=_process_names(services),
        error=error,
        done=DONE.get(done),
        reason=reason,
    )


@router.get("/incidents/{incident_id}")
def incident_page(
    request: Request, services: ServicesDep, person: PersonDep, incident_id: str, done: Text = None
) -> Response:
    return _incident_page(request, services, person, incident_id, done=done or "")


@router.post("/incidents/{incident_id}/resolve")
def resolve(request: Request, services: ServicesDep, person: PersonDep, form: FormDep, incident_id: str) -> Response:
    reason = _text(form, "reason")
    try:
        cockpit.resolve(services, person.caller, incident_id, reason)
    except Invalid as err:
        return _incident_page(request, services, person, incident_id, 422, err.message, reason=reason)
    return _redirect(_incident_url(incident_id, "resolved"))


@router.post("/incidents/{incident_id}/retry")
def retry(request: Request, services: ServicesDep, person: PersonDep, form: FormDep, incident_id: str) -> Response:
    try:
        incidents.retry(services, person.caller, incident_id)
    except ServiceError as err:
        if err.kind == "forbidden":
            raise
        return _incident_page(request, services, person, incident_id, STATUS.get(err.kind, 409), err.message)
    return _redirect(_incident_url(incident_id, "retried"))


# --- running instances ----------------------------------------------------------------------------------


@router.get("/instances")
def instances_page(
    request: Request, services: ServicesDep, person: PersonDep, key: Text = None, offset: Offset = 0, done: Text = None
) -> Response:
    items, total, per_process = cockpit.running(services, person.caller, key or None, offset, PAGE)
    return _page(
        request,
        "cockpit/instances.html",
        person,
        items=items,
        total=total,
        per_process=per_process,
        names=_process_names(services),
        waits=WAIT_WORDS,
        key=key or "",
        now=services.clock(),
        age=cockpit.when,
        done=DONE.get(done or ""),
        links=_pages("/app/cockpit/instances", {"key": key}, offset, total),
    )


def _back(key: str) -> str:
    return "/app/cockpit/instances" + (f"?{urlencode({'key': key})}" if key else "")


def _cancel_page(
    request: Request, services: Services, person: WebCaller, instance_id: str, status: int = 200, **context: Any
) -> Response:
    view = cockpit.cancel_preview(services, person.caller, instance_id)
    names = _process_names(services)
    return _page(request, "cockpit/cancel.html", person, status, view=view, names=names, **context)


@router.get("/instances/{instance_id}/cancel")
def cancel_confirm(request: Request, services: ServicesDep, person: PersonDep, instance_id: str) -> Response:
    return _cancel_page(request, services, person, instance_id, errors={}, reason="")


@router.post("/instances/{instance_id}/cancel")
def cancel(request: Request, services: ServicesDep, person: PersonDep, form: FormDep, instance_id: str) -> Response:
    view = cockpit.cancel_preview(services, person.caller, instance_id)  # 403 first for whoever may not cancel
    reason = _text(form, "reason")
    errors = {}
    if not reason or len(reason) > cockpit.MAX_REASON:
        errors["reason"] = f"โปรดระบุเหตุผลที่ยกเลิก ไม่เกิน {cockpit.MAX_REASON} ตัวอักษร"
    if form.get("confirm") != "yes":
        errors["confirm"] = "โปรดทำเครื่องหมายยืนยันการยกเลิก"
    if errors:
        return _cancel_page(request, services, person, instance_id, 422, errors=errors, reason=reason)
    try:
        instances.cancel(services, person.caller, instance_id, reason)
    except ServiceError as err:
        if err.kind == "forbidden":
            raise
        status = STATUS.get(err.kind, 409)
        return _cancel_page(request, services, person, instance_id, status, errors={"": err.message}, reason=reason)
    key = view.instance.definition_key
    return _redirect(_back(key) + ("&" if key else "?") + "done=cancelled")


def _migrate_page(
    request: Request, services: Services, person: WebCaller, instance_id: str, status: int = 200, **context: Any
) -> Response:
    view, versions = cockpit.migrate_preview(services, person.caller, instance_id)
    context.setdefault("chosen", versions[0] if versions else None)
    return _page(
        request,
        "cockpit/migrate.html",
        person,
        status,
        view=view,
        versions=versions,
        names=_process_names(services),
        **context,
    )


@router.get("/instances/{instance_id}/migrate")
def migrate_confirm(
    request: Request, services: ServicesDep, person: PersonDep, instance_id: str, incident: Text = None
) -> Response:
    return _migrate_page(request, services, person, instance_id, errors={}, incident=incident or "")


@router.post("/instances/{instance_id}/migrate")
def migrate(request: Request, services: ServicesDep, person: PersonDep, form: FormDep, instance_id: str) -> Response:
    view, versions = cockpit.migrate_preview(services, person.caller, instance_id)  # 403 first for non-admins
    incident = _text(form, "incident")[:64]
    raw = _text(form, "version")
    version = int(raw) if raw.isdigit() else None
    errors = {}
    if version not in versions:
        errors["version"] = "โปรดเลือกรุ่นที่จะย้ายไป"
    if form.get("confirm") != "yes":
        errors["confirm"] = "โปรดทำเครื่องหมายยืนยันการย้ายรุ่น"
    if errors:
        return _migrate_page(
            request, services, person, instance_id, 422, errors=errors, incident=incident, chosen=version
        )
    try:
        migration.migrate(services, person.caller, instance_id, version)
    except ServiceError as err:
        if err.kind == "forbidden":
            raise
        status = STATUS.get(err.kind, 409)
        return _migrate_page(
            request, services, person, instance_id, status, errors={"": err.message}, incident=incident, chosen=version
        )
    if incident:
        return _redirect(_incident_url(incident, "migrated"))
    key = view.instance.definition_key
    return _redirect(_back(key) + "&done=migrated")


# --- external tasks and webhook deliveries ----------------------------------------------------------------


@router.get("/external-tasks")
def external_tasks_page(
    request: Request,
    services: ServicesDep,
    person: PersonDep,
    show: Annotated[str, Query(max_length=16)] = "open",
    offset: Offset = 0,
) -> Response:
    show = show if show in EXTERNAL_VIEWS else "open"
    items, total, counts = cockpit.external_tasks(services, person.caller, show, offset, PAGE)
    return _page(
        request,
        "cockpit/external_tasks.html",
        person,
        items=items,
        total=total,
        counts=counts,
        show=show,
        views=EXTERNAL_VIEWS,
        names=_process_names(services),
        now=services.clock(),
        links=_pages("/app/cockpit/external-tasks", {"show": show}, offset, total),
    )


@router.get("/webhooks")
def webhooks_page(
    request: Request,
    services: ServicesDep,
    person: PersonDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
    offset: Offset = 0,
) -> Response:
    state = state if state in DELIVERY_STATES else None
    rows, total, counts = cockpit.webhook_deliveries(services, person.caller, state, offset, PAGE)
    return _page(
        request,
        "cockpit/webhooks.html",
        person,
        rows=rows,
        total=total,
        counts=counts,
        state=state or "",
        states=DELIVERY_STATES,
        errors=DELIVERY_ERRORS,
        links=_pages("/app/cockpit/webhooks", {"state": state}, offset, total),
    )


# --- audit verification ---------------------------------------------------------------------------------


@router.get("/audit")
def audit_page(
    request: Request,
    services: ServicesDep,
    person: PersonDep,
    instance_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    instance_id = (instance_id or "").strip() or None
    error, status = None, 200
    try:
        result = cockpit.verify(services, person.caller, instance_id)
    except ServiceError as err:
        if err.kind == "forbidden" or instance_id is None:
            raise
        result, error, status = cockpit.verify(services, person.caller, None), err.message, STATUS.get(err.kind, 400)
    return _page(
        request,
        "cockpit/audit.html",
        person,
        status,
        result=result,
        reasons=CHAIN_REASONS,
        instance_id=instance_id or "",
        error=error,
    )
