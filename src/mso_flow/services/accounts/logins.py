"""Accounts of people: passwords (argon2), browser sessions of the web app, and slowed repeated login failures.

Passwords are hashed with argon2id (`argon2-cffi`). A browser session is a random id the cookie carries; the
database keeps only its SHA-256, the user, a CSRF token and when it was last used: it ends after `IDLE` without
use, at logout, or when the user is deactivated.

Failed logins (web app, and HTTP Basic with a password on the Camunda face) are counted in the database, so every
worker process sees them, under two limits: one name from one client address (`PER_ADDRESS`: after 3 failures
each attempt waits twice as long as the one before, at most 15 minutes) and one name from any address
(`PER_ACCOUNT`, for guesses spread over many addresses: after 10 failures, at most 5 minutes, since it also holds
back the account's owner). A waiting attempt is refused unseen (429), the right password too, or the wait would
not slow guessing; once the wait is over the next attempt is checked, and the right password logs in and clears
both counts. No limit counts an address alone: everyone behind one NAT address shares it, and a guesser there
would lock them all out; a name from an address is delayed only for that name, at most `PER_ADDRESS.max_delay`.
An attempt is counted before its password is checked, under the counters' row locks, so of parallel attempts
only as many are checked as the limits allow. The client address is the connection's, or the one a proxy of
`MSO_FLOW_TRUSTED_PROXIES` forwarded (`api/app.py`).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mso_flow.services import policy
from mso_flow.services.accounts import users
from mso_flow.services.platform import anchoring
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden, Invalid, NotFound, ServiceError
from mso_flow.store import sessions as store
from mso_flow.store import users as users_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import WebSession

MIN_PASSWORD = 10
MAX_PASSWORD = 1000
IDLE = timedelta(hours=8)
TOUCH_EVERY = timedelta(minutes=1)  # a session's last use is written at most this often
FORGET_FAILURES = timedelta(days=1)  # a counter is forgotten a day after its last failure
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Limit:
    """`free` failures, then each attempt waits twice as long as the one before (1 s, 2 s, …, `max_delay`)."""

    free: int
    max_delay: timedelta

    def delay(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        return min(self.max_delay, timedelta(seconds=2 ** min(failures - self.free, 30)))


PER_ADDRESS = Limit(free=3, max_delay=timedelta(minutes=15))  # one name from one client address
PER_ACCOUNT = Limit(free=10, max_delay=timedelta(minutes=5))  # one name from any address
FREE_FAILURES = PER_ADDRESS.free


class LoginThrottled(ServiceError):
    """Too many failed logins of one name: try again after `retry_after` seconds (429)."""

    kind = "too_many_requests"


@dataclass(frozen=True)
class WebCaller:
    """The person behind a browser session and the CSRF token their forms must carry; `must_change`: their password
    was set by someone else, and they choose their own before anything else."""

    caller: Caller
    csrf_token: str
    must_change: bool = False


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
    email: str | None = None,
) -> tuple[users.Account, str]:
    """`users.create_user`, with an optional password for the web app (hashed before the transaction opens, stored
    in it) and e-mail address; returns the user and its token."""
    password_hash = hash_password(password) if password is not None else None
    return users.create_user(services, caller, username, roles, force, password_hash=password_hash, email=email)


def set_password(services: Services, username: str, password: str, must_change: bool = False) -> None:
    """Give an existing user this password (bootstrap admin, operators; `must_change`: they choose another at their
    next login); their browser sessions end."""
    password_hash = hash_password(password)
    with services.db.write() as session:
        user = users_store.by_username(session, username)
        if user is None:
            raise Invalid("unknown_user", f"ไม่พบผู้ใช้ {username} (unknown user)")
        user.password_hash = password_hash
        user.password_must_change = must_change
        store.remove_for_user(session, username)


def one_time_password() -> str:
    """A random password to hand over once (16 characters), for its holder to replace at the first login."""
    return secrets.token_urlsafe(12)


def reset_password(services: Services, caller: Caller, username: str, password: str | None = None) -> str | None:
    """An admin (or the operator) sets another person's web-app password, or without `password` a one-time one that
    is returned once; either way the person must choose their own at their next login, and their sessions end.
    Audited in the admin chain (not the password)."""
    chosen = password is not None
    new = password if password is not None else one_time_password()
    password_hash = hash_password(new)
    with services.db.write() as session:
        user = users_store.by_username(session, username, lock=True)
        if user is None:
            raise NotFound("user_not_found", f"ไม่พบผู้ใช้ {username} (user not found)")
        if not policy.may_set_password_of(caller, username, user.roles):
            raise Forbidden(
                "password_forbidden",
                "ตั้งรหัสผ่านให้ผู้อื่นได้เฉพาะผู้ดูแลระบบ และไม่ใช่ของตนเองหรือของผู้มีบทบาท privacy_officer หรือ auditor "
                "(admins set others' passwords, not their own nor a privileged user's)",
            )
        user.password_hash = password_hash
        user.password_must_change = True
        store.remove_for_user(session, username)
        event = NewEvent("user_password_reset", caller.username, data={"username": username, "one_time": not chosen})
        anchoring.append_admin(services, session, [event])
    return None if chosen else new


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


def first_start_password(services: Services, username: str) -> str | None:
    """At the service's first start without `MSO_FLOW_ADMIN_PASSWORD`: give the bootstrap user a one-time password
    (returned, for the operator to read once) that must be changed at the first login; None when the user does not
    exist or already has a password."""
    with services.db.read() as session:
        user = users_store.by_username(session, username)
        if user is None or user.password_hash is not None:
            return None
    password = one_time_password()
    set_password(services, username, password, must_change=True)
    return password


def change_password(services: Services, caller: Caller, current: str, new: str) -> None:
    """The caller changes their own password, proving the current one; their browser sessions end (and a forced
    change is done)."""
    check_password(new)
    if new == current:
        raise Invalid(
            "same_password",
            "รหัสผ่านใหม่ต้องไม่ซ้ำกับรหัสผ่านปัจจุบัน (the new password must differ from the current one)",
            [{"field": "new", "message": "รหัสผ่านใหม่ต้องไม่ซ้ำกับรหัสผ่านปัจจุบัน"}],
        )
    with services.db.read() as session:
        user = users_store.by_username(session, caller.username)
        password_hash = user.password_hash if user else None
    if not _verify(password_hash, current):
        raise Forbidden("wrong_password", "รหัสผ่านปัจจุบันไม่ถูกต้อง (current password is wrong)")
    set_password(services, caller.username, new)


def authenticate_password(services: Services, username: str, password: str, client: str | None = None) -> Caller | None:
    """The caller whose username and password these are, or None. With `client` (the remote address; the HTTP
    faces always give one) the attempt is counted against the login limits first (`LoginThrottled`)."""
    found = _password_owner(services, username, password, client)
    return found[0] if found else None


def authenticate_api_password(services: Services, username: str, password: str, client: str) -> Caller | None:
    """As `authenticate_password`, for a client that cannot show the change-password page (HTTP Basic on
    /engine-rest): a password an admin set or reset (`must_change`) is refused with `password_change_required`
    until its owner has chosen their own in the web app; an API token is not a password and is not affected."""
    found = _password_owner(services, username, password, client)
    if found is None:
        return None
    caller, must_change = found
    if must_change:
        raise Forbidden(
            "password_change_required",
            "ต้องตั้งรหัสผ่านใหม่ของตนเองในเว็บแอปก่อนใช้รหัสผ่านนี้กับ API "
            "(choose your own password in the web app first: this one was set by an administrator)",
        )
    return caller


def _password_owner(services: Services, username: str, password: str, client: str | None) -> tuple[Caller, bool] | None:
    """(the caller, whether their password must change) when the password is theirs, else None."""
    limits = _limits(username, client) if client is not None else {}
    if limits:
        _admit(services, limits, services.clock())
    with services.db.read() as session:
        user = users_store.by_username(session, username)
        password_hash = user.password_hash if user and user.active else None  # a deactivated user cannot log in
        roles = list(user.roles) if user else []
        must_change = bool(user and user.password_must_change)
    ok = _verify(password_hash, password)
    if not ok:
        return None
    if limits:
        with services.db.write() as session:
            store.clear_failures(session, list(limits))
    if password_hash is not None and _hasher.check_needs_rehash(password_hash):
        set_password(services, username, password, must_change=must_change)
    return Caller(username, frozenset(roles)), must_change


def _limits(username: str, client: str) -> dict[str, Limit]:
    """The counters an attempt of `username` from `client` is counted in, by key hash."""
    return {
        _sha256(f"address\x00{username}\x00{client}"): PER_ADDRESS,
        _sha256(f"account\x00{username}"): PER_ACCOUNT,
    }


def _admit(services: Services, limits: dict[str, Limit], now: datetime) -> None:
    """Count the attempt as a failure of each counter before its password is checked (the right password clears
    them), or refuse it unseen while a counter makes it wait. One transaction holds the counters' row locks from
    reading to writing, so parallel attempts queue on them and none passes on a count another has raised."""
    with services.db.write() as session:
        counters = store.failures_for_update(session, sorted(limits), now)
        wait = max(c.last_failed_at + limits[c.key_hash].delay(c.failures) - now for c in counters)
        if wait <= timedelta(0):
            for counter in counters:
                counter.failures += 1
                counter.last_failed_at = now
    if wait > timedelta(0):
        seconds = max(1, int(wait.total_seconds() + 0.999))
        raise LoginThrottled(
            "login_throttled",
            f"เข้าสู่ระบบผิดหลายครั้ง โปรดรอ {seconds} วินาทีแล้วลองใหม่ (too many failed logins; retry later)",
            retry_after=seconds,
        )


def login(services: Services, username: str, password: str, client: str) -> NewSession | None:
    """Check the password (slowed after repeated failures) and open a browser session; None if wrong."""
    caller = authenticate_password(services, username, password, client)
    if caller is None:
        return None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = services.clock()
    with services.db.write() as session:
        user = users_store.by_username(session, caller.username, lock=True)
        if user is None or not user.active:  # deactivated since the password was checked
            return None
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
        caller = Caller(user.username, frozenset(user.roles))
        result = WebCaller(caller, web_session.csrf_token, user.password_must_change)
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
