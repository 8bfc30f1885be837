"""Templates of the web app (Jinja2, autoescaped) and the page responses made from them, including the error
page a service failure becomes, and the route class that turns the web's exceptions into responses."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from mso_flow.api.problems import STATUS
from mso_flow.api.web import thai
from mso_flow.api.web.holding import holding
from mso_flow.api.web.security import CSRF_FIELD, PASSWORD_PAGE, CsrfRefused, LoginRequired, PasswordChangeRequired
from mso_flow.services import policy
from mso_flow.services.accounts.logins import WebCaller
from mso_flow.services.documents import rules
from mso_flow.services.notifications import queries as notifications
from mso_flow.services.platform.failures import ServiceError

HERE = Path(__file__).parent

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    thaidate=thai.thai_datetime,
    duration=thai.duration_words,
    seconds=thai.seconds_words,
    wbr=thai.wbr,
    thai=thai.thai_message,
    filesize=thai.file_size,
    holding=holding,
    doctype=lambda media_type: rules.NAMES.get(media_type, media_type),
)


def page(
    request: Request, template: str, person: WebCaller | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    caller = person.caller if person else None
    unread = notifications.unread(request.app.state.services, person.caller) if person else 0
    html = env.get_template(template).render(
        request=request,
        person=person,
        csrf_field=CSRF_FIELD,
        # what the menus show is what the policy permits (services/policy.py), nothing decided here
        may_manage_users=bool(caller and policy.may_manage_users(caller)),
        may_deploy=bool(caller and policy.may_deploy(caller)),
        may_read_mail_deliveries=bool(caller and policy.may_read_mail_deliveries(caller)),
        reads_reports=bool(caller and policy.may_read_reports(caller)),
        reads_cockpit=bool(caller and policy.may_read_operations(caller)),
        unread=unread,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def error_page(request: Request, person: WebCaller | None, err: ServiceError) -> HTMLResponse:
    status = STATUS.get(err.kind, 400)
    return page(request, "error.html", person, status, message=thai.thai_message(err.message), status=status)


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/app/login?next={quote(target)}", status_code=303)


class WebRoute(APIRoute):
    """A page route: no session → the login page, a form without its CSRF token → 403, a service failure →
    the error page with the failure's status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return to_login(request)
            except PasswordChangeRequired:
                return RedirectResponse(PASSWORD_PAGE, status_code=303)
            except CsrfRefused:
                return HTMLResponse(env.get_template("forbidden.html").render(person=None), status_code=403)
            except ServiceError as err:
                return error_page(request, getattr(request.state, "person", None), err)

        return run
