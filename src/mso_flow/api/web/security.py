"""The web app's protections: security headers on every page, the browser session from its cookie, CSRF
tokens on every form POST (403 when missing or wrong), and the login form's own pre-session token."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mso_flow.api.deps import ServicesDep
from mso_flow.services.accounts import logins as accounts
from mso_flow.services.accounts.logins import WebCaller

SESSION_COOKIE = "mso_session"
LOGIN_COOKIE = "mso_login_csrf"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/app"


def page_csp(frame_src: str = "'none'") -> str:
    """The pages' Content-Security-Policy; only the case page, which previews PDFs, frames its own documents."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        f"connect-src 'self'; object-src 'none'; frame-src {frame_src}; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


HEADERS = {
    "content-security-policy": page_csp(),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


OWN_FRAMING = frozenset({"content-security-policy", "x-frame-options", "cache-control"})


class SecurityHeaders:
    """ASGI middleware: the headers above on every response under `/app` (pages, static files, errors). A response
    that sets its own Content-Security-Policy keeps it and its X-Frame-Options (a document's bytes, the case page
    that frames them)."""

    def __init__(self, app: ASGIApp, prefix: str = COOKIE_PATH):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(f"{self.prefix}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = {k.decode().lower() for k, _ in message.get("headers", [])}
                keep = OWN_FRAMING if "content-security-policy" in own else frozenset()
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.decode().lower() not in HEADERS.keys() - keep
                ]
                for name, value in HEADERS.items():
                    if name in keep and name in own:
                        continue
                    if static and name == "cache-control":
                        value = "public, max-age=3600"
                    headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginRequired(Exception):
    """No live session: the page answers with a redirect to the login page."""


class CsrfRefused(Exception):
    """A form POST without the session's CSRF token: 403."""


class PasswordChangeRequired(Exception):
    """The person's password was set by someone else: every page but the password page leads there."""


PASSWORD_PAGE = f"{COOKIE_PATH}/password"
ALLOWED_BEFORE_CHANGE = frozenset({PASSWORD_PAGE, f"{COOKIE_PATH}/logout"})


async def optional_person(request: Request, services: ServicesDep) -> WebCaller | None:
    token = request.cookies.get(SESSION_COOKIE)
    found = await run_in_threadpool(accounts.session_caller, services, token) if token else None
    request.state.person = found  # for the error page of a failure later in the request
    return found


async def person(request: Request, person: Annotated[WebCaller | None, Depends(optional_person)]) -> WebCaller:
    """The logged-in person; a page without a session leads to the login page, a form POST is refused (it
    cannot carry a session's CSRF token)."""
    if person is None:
        raise LoginRequired if request.method in ("GET", "HEAD") else CsrfRefused
    if person.must_change and request.url.path not in ALLOWED_BEFORE_CHANGE:
        raise PasswordChangeRequired
    return person


async def checked_form(request: Request, person: Annotated[WebCaller | None, Depends(optional_person)]) -> FormData:
    """The POSTed form, once its CSRF token is the session's (a POST with no live session has none: 403)."""
    if person is None:
        raise CsrfRefused
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not secrets.compare_digest(sent, person.csrf_token):
        raise CsrfRefused
    return form


def login_token_ok(request: Request, form: FormData) -> bool:
    """The login form's double-submit token: the hidden field must equal the cookie set with the form."""
    cookie, sent = request.cookies.get(LOGIN_COOKIE), form.get(CSRF_FIELD)
    return bool(cookie) and isinstance(sent, str) and secrets.compare_digest(cookie or "", sent)


PersonDep = Annotated[WebCaller, Depends(person)]
OptionalPersonDep = Annotated[WebCaller | None, Depends(optional_person)]
FormDep = Annotated[FormData, Depends(checked_form)]
