"""HTTP Basic authentication as Camunda's clients send it: the user name and, as password, the user's API
token or their password (a bearer token works too). Wrong or missing credentials are a 401 asking for Basic; a
password an administrator set (or reset) works only once its owner has chosen their own in the web app (403)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from mso_flow.services.accounts import logins as accounts
from mso_flow.services.accounts import users
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Unauthenticated


async def get_services(request: Request) -> Services:
    return request.app.state.parent.state.services  # type: ignore[no-any-return]


def password_caller(services: Services, username: str, password: str, client: str) -> Caller | None:
    """The caller whose password this is, or None (repeated failures are slowed down: `accounts`); a password an
    administrator set that its owner has not yet replaced is a 403 `password_change_required`."""
    return accounts.authenticate_api_password(services, username, password, client)


async def _token_caller(services: Services, token: str) -> Caller | None:
    return await run_in_threadpool(users.authenticate, services, token)


def _unauthenticated(detail: str) -> Unauthenticated:
    return Unauthenticated("unauthenticated", f"ต้องยืนยันตัวตนด้วย HTTP Basic (ชื่อผู้ใช้และโทเค็นหรือรหัสผ่าน): {detail}")


def _basic(value: str) -> tuple[str, str]:
    try:
        username, sep, secret = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthenticated("malformed Basic credentials") from None
    if not sep or not username or not secret:
        raise _unauthenticated("malformed Basic credentials")
    return username, secret


async def get_caller(request: Request, services: Annotated[Services, Depends(get_services)]) -> Caller:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        caller = await _token_caller(services, value.strip())
        if caller is None:
            raise _unauthenticated("unknown token")
        return caller
    if scheme.lower() != "basic" or not value.strip():
        raise _unauthenticated("missing credentials")
    username, secret = _basic(value.strip())
    caller = await _token_caller(services, secret)
    if caller is not None and caller.username == username:
        return caller
    client = request.client.host if request.client else "-"
    caller = await run_in_threadpool(password_caller, services, username, secret, client)
    if caller is None:
        raise _unauthenticated("wrong user name, token or password")
    return caller


ServicesDep = Annotated[Services, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(get_caller)]
