"""Accounts of people: passwords (argon2), browser sessions of the web app, and slowed repeated login failures.

Passwords are hashed with argon2id (`argon2-cffi`). A browser session is a random id the cookie carries; the
database keeps only its SHA-256, the user, a CSRF token and when it was last used: it ends after `IDLE` without
use or at logout. Failed logins are counted per (username, client address) in the database, so every worker
process sees them: after `FREE_FAILURES` failures each further attempt must wait twice as long as the previous
one (at most `MAX_DELAY`), and is refused unseen until then.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from mso_flow.services import users
from mso_flow.services.context import Caller, Services
from mso_flow.services.errors import Forbidden, Invalid, ServiceError
from mso_flow.store import sessions as store
from mso_flow.store import users as users_store
from mso_flow.store.models import LoginFailure, User, WebSession

MIN_PASSWORD = 10
MAX_PASSWORD = 1000
IDLE = timedelta(hours=8)
TOUCH_EVERY = timedelta(minutes=1)  # a session's last use is written at most this often
FREE_FAILURES = 3
MAX_DELAY = timedelta(minutes=15)
FORGET_FAILURES = timedelta(days=1)  # a pair's failures are forgotten a day after its last one
_hasher = PasswordHasher()


class LoginThrottled(ServiceError):
    """Too many failed logins of one name from one address: try again after `retry_after` seconds (429)."""

    kind = "too_many_requests"


@dataclass(frozen=True)
class WebCaller:
    """The person behind a browser session and the CSRF token their forms must carry."""

    caller: Caller
    csrf_token: str


@dataclass(frozen=True)
class NewSession:
    """A session just opened: `token` goes into the cookie and is never stored."""

    token: str
    csrf_token: str
    caller: Caller


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def check_password(password: str) -> None:
    """422 unless the password is long enough (and not absurdly long)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Invalid(
            "weak_password",
            f"รหัสผ่านต้องยาว {MIN_PASSWORD} ถึง {MAX_PASSWORD} ตัวอักษร "
            f"(password: {MIN_PASSWORD}-{MAX_PASSWORD} characters)",
            [{"field": "password", "message": f"รหัสผ่านต้องยาวอย่างน้อย {MIN_PASSWORD} ตัวอักษร"}],
        )


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; as slow for a user without a password as for one with."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    services: Services,
    caller: Caller,
    username: str,
    roles: list[str],
    password: str | None = None,
    force: bool = False,
) -> tuple[User, str]:
    """`users.create_user`, with an optional password for the web app (hashed before the transaction opens, stored
    in it); returns the user and its token."""
    password_hash = hash_password(password) if password is not None else None
    return users.create_user(services, caller, username, roles, force, password_hash=password_hash)


def set_password(services: Services, username: str, password: str) -> None:
    """Give an existing user this password (bootstrap admin, operators); their browser sessions end."""
    password_hash = hash_password(password)
    with services.db.write() as session:
        user = users_store.by_username(session, username)
        if user is None:
            raise Invalid("unknown_user", f"ไม่พบผู้ใช้ {username} (unknown user)")
        user.password_hash = password_hash
        store.remove_for_user(session, username)


def ensure_password(services: Services, username: str, roles: list[str], password: str, token: str) -> None:
    """Bootstrap: make `username` exist (with `token` if new) and have this password, keeping its sessions
    when the password is already this one."""
    check_password(password)
    with services.db.read() as session:
        user = users_store.by_username(session, username)
        password_hash = user.password_hash if user else None
    if user is None:
        users.ensure_user(services, username, roles, token)
    elif _verify(password_hash, password):
        return
    set_password(services, username, password)


def change_password(services: Services, caller: Caller, current: str, new: str) -> None:
    """The caller changes their own password, proving the current one; their browser sessions end."""
    check_password(new)
    with services.db.read() as session:
        user = users_store.by_username(session, caller.username)
        password_hash = user.password_hash if user else None
    if not _verify(password_hash, current):
        raise Forbidden("wrong_password", "รหัสผ่านปัจจุบันไม่ถูกต้อง (current password is wrong)")
    set_password(services, caller.username, new)


def authenticate_password(services: Services, username: str, password: str, client: str | None = None) -> Caller | None:
    """The caller whose username and password these are, or None. With `client` (the remote address),
    repeated failures of that pair are slowed down (`LoginThrottled`)."""
    key = _sha256(f"{username}\x00{client}") if client is not None else None
    now = services.clock()
    if key is not None:
        _refuse_while_throttled(services, key, now)
    with services.db.read() as session:
        user = users_store.by_username(session, username)
        password_hash = user.password_hash if user and user.active else None  # a deactivated user cannot log in
        roles = list(user.roles) if user else []
    ok = _verify(password_hash, password)
    if key is not None:
        _record(services, key, ok, now)
    if not ok:
        return None
    if password_hash is not None and _hasher.check_needs_rehash(password_hash):
        set_password(services, username, password)
    return Caller(username, frozenset(roles))


def _delay(failures: int) -> timedelta:
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(MAX_DELAY, timedelta(seconds=2 ** (failures - FREE_FAILURES)))


def _refuse_while_throttled(services: Services, key: str, now: datetime) -> None:
    with services.db.read() as session:
        failure = store.failure(session, key)
        if failure is None:
            return
        wait = failure.last_failed_at + _delay(failure.failures) - now
    if wait > timedelta(0):
        seconds = max(1, int(wait.total_seconds() + 0.999))
        raise LoginThrottled(
            "login_throttled",
            f"เข้าสู่ระบบผิดหลายครั้ง โปรดรอ {seconds} วินาทีแล้วลองใหม่ (too many failed logins; retry later)",
            retry_after=seconds,
        )


def _record(services: Services, key: str, ok: bool, now: datetime) -> None:
    try:
        with services.db.write() as session:
            if ok:
                store.clear_failures(session, key)
                return
            failure = store.failure(session, key, lock=True)
            if failure is None:
                session.add(LoginFailure(key_hash=key, failures=1, last_failed_at=now))
            else:
                failure.failures += 1
                failure.last_failed_at = now
    except IntegrityError:  # another worker recorded the first failure of this pair at the same moment
        if not ok:
            _record(services, key, ok, now)


def login(services: Services, username: str, password: str, client: str) -> NewSession | None:
    """Check the password (slowed after repeated failures) and open a browser session; None if wrong."""
    caller = authenticate_password(services, username, password, client)
    if caller is None:
        return None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = services.clock()
    with services.db.write() as session:
        store.remove_expired(session, now)
        store.remove_failures_before(session, now - FORGET_FAILURES)
        store.add(
            session,
            WebSession(
                id_hash=_sha256(token),
                username=caller.username,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + IDLE,
            ),
        )
    return NewSession(token, csrf, caller)


def session_caller(services: Services, token: str) -> WebCaller | None:
    """The person of a live browser session (their current roles), or None; keeps the session alive."""
    now = services.clock()
    id_hash = _sha256(token)
    with services.db.read() as session:
        found = store.with_user(session, id_hash, now)
        if found is None:
            return None
        web_session, user = found
        if not user.active:  # deactivated after logging in: the session ends at once
            return None
        result = WebCaller(Caller(user.username, frozenset(user.roles)), web_session.csrf_token)
        stale = now - web_session.last_seen_at >= TOUCH_EVERY
    if stale:
        with services.db.write() as session:
            found = store.with_user(session, id_hash, now)
            if found is not None:
                found[0].last_seen_at = now
                found[0].expires_at = now + IDLE
    return result


def logout(services: Services, token: str) -> None:
    with services.db.write() as session:
        store.remove(session, _sha256(token))
