"""Users, tokens and who may do what with them; every administrative change is recorded in the admin audit chain.

Tokens are 256-bit random secrets (`secrets.token_urlsafe(32)`) stored as one unsalted SHA-256: a salt and a slow
hash defend guessable secrets (passwords) against dictionary attacks, and a uniformly random 256-bit token has no
dictionary; the digest is also what makes the lookup one indexed equality. Every request looks its token up in
the database (no cache), so a revoked or rotated token, or a deactivated user, is refused by every worker as soon
as the change commits (`bench/token_lookup.py` measures the cost of that query).

Nobody changes their own roles, and the privileged roles (`privacy_officer`, `auditor`) are granted and removed
only by an operator at the host's command line (`policy.may_change_privileged_roles` says why). Deactivating a user
ends their browser sessions for good: reactivation restores their token, not a session.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mso_flow.domain import PRIVILEGED_ROLES
from mso_flow.services import policy
from mso_flow.services.accounts import known_roles as roles_service
from mso_flow.services.platform import anchoring
from mso_flow.services.platform.audit_records import AuditRecord, audit_record
from mso_flow.services.platform.context import SYSTEM, Caller, Services
from mso_flow.services.platform.failures import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.tasks.candidates import is_personal
from mso_flow.store import audit as audit_store
from mso_flow.store import sessions as sessions_store
from mso_flow.store import users as store
from mso_flow.store.audit import ChainCheck, NewEvent
from mso_flow.store.models import User

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy random token (see the module docstring for why no salt)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def authenticate(services: Services, token: str) -> Caller | None:
    """The caller a bearer token belongs to, or None (unknown, revoked or rotated token; deactivated user)."""
    found = store.active_by_token_hash(services.db, hash_token(token))
    return Caller(found[0], frozenset(found[1])) if found else None


def require_admin(caller: Caller) -> None:
    if not policy.may_manage_users(caller):
        raise Forbidden("admin_required", "ต้องเป็นผู้ดูแลระบบ (admin role required)")


def _require_audit_reader(caller: Caller) -> None:
    if not policy.may_read_admin_audit(caller):
        raise Forbidden("admin_required", "ต้องเป็นผู้ดูแลระบบหรือผู้ตรวจสอบ (admin or auditor role required)")


def _check_username(username: str) -> None:
    if not _USERNAME.match(username):
        raise Invalid(
            "invalid_user",
            "ข้อมูลผู้ใช้ไม่ถูกต้อง (invalid user)",
            [
                {
                    "field": "username",
                    "message": "ชื่อผู้ใช้ต้องเป็นตัวอักษรภาษาอังกฤษ ตัวเลข หรือ _.@- "
                    "ไม่เกิน 100 ตัว (username: ASCII letters, digits, _.@-)",
                }
            ],
        )


def _check_roles(services: Services, roles: list[str], force: bool) -> list[str]:
    """Roles stripped and de-duplicated; unknown ones refused (422 naming the closest known) unless forced."""
    roles = list(dict.fromkeys(r.strip() for r in roles))
    if not roles or any(not r or len(r) > 300 or is_personal(r) for r in roles):
        raise Invalid(
            "invalid_user",
            "ข้อมูลผู้ใช้ไม่ถูกต้อง (invalid user)",
            [
                {
                    "field": "roles",
                    "message": "ต้องระบุบทบาทอย่างน้อยหนึ่งบทบาท ชื่อละไม่เกิน 300 ตัวอักษร ไม่ขึ้นต้นด้วย user: "
                    "(at least one role, each 1-300 characters, none starting with user:)",
                }
            ],
        )
    if force:
        return roles
    known = roles_service.known_roles(services)
    unknown = [r for r in roles if r not in known]
    if unknown:
        suggestions = {role: roles_service.closest(role, known) for role in unknown}
        hints = "; ".join(f"{role} → {', '.join(near) or '-'}" for role, near in suggestions.items())
        raise Invalid(
            "unknown_role",
            f"ไม่รู้จักบทบาท: {hints} (unknown role → closest known roles; GET /api/v1/roles lists them, "
            '"force": true creates the user anyway)',
            [
                {"field": "roles", "role": role, "closest": near, "message": f"ไม่รู้จักบทบาท {role} (unknown role)"}
                for role, near in suggestions.items()
            ],
        )
    return roles


def check_email(address: str) -> str:
    """A well-formed address in its normalised form (`email-validator`, no DNS lookup); 422 otherwise."""
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as err:
        message = f"ที่อยู่อีเมลไม่ถูกต้อง (invalid e-mail address: {err})"
        raise Invalid("invalid_email", message, [{"field": "email", "message": message}]) from None


@dataclass(frozen=True)
class Account:
    """A user as the faces show them (never the row: no token or password hash leaves the service)."""

    username: str
    roles: tuple[str, ...]
    active: bool
    created_at: datetime
    token_created_at: datetime | None
    email: str | None
    has_password: bool  # may log in to the web app
    password_must_change: bool
    has_token: bool  # false: revoked


def account(user: User) -> Account:
    return Account(
        user.username,
        tuple(user.roles),
        user.active,
        user.created_at,
        user.token_created_at,
        user.email,
        user.password_hash is not None,
        user.password_must_change,
        user.token_hash is not None,
    )


@dataclass(frozen=True)
class EmailChange:
    """A new e-mail address for a user (None: remove it)."""

    address: str | None


def _audit(session: Session, services: Services, caller: Caller, type_: str, data: dict[str, Any]) -> None:
    anchoring.append_admin(services, session, [NewEvent(type_, caller.username, data=data)])


def _require_privileged_change(caller: Caller, before: list[str], after: list[str]) -> None:
    """403 when turning `before` into `after` grants or removes a privileged role and the caller is not at the
    command line."""
    privileged = sorted(PRIVILEGED_ROLES.intersection(set(before) ^ set(after)))
    if privileged and not policy.may_change_privileged_roles(caller):
        message = (
            f"ให้หรือถอนบทบาท {', '.join(privileged)} ได้จากบรรทัดคำสั่งของเซิร์ฟเวอร์เท่านั้น: mso-flow users "
            "(privacy_officer and auditor are granted and removed only at the server's command line)"
        )
        raise Forbidden(
            "privileged_role", message, [{"field": "roles", "role": role, "message": message} for role in privileged]
        )


def _user(session: Session, username: str, lock: bool = True) -> User:
    user = store.by_username(session, username, lock=lock)
    if user is None:
        raise NotFound("user_not_found", f"ไม่พบผู้ใช้ {username} (user not found)")
    return user


def create_user(
    services: Services,
    caller: Caller,
    username: str,
    roles: list[str],
    force: bool = False,
    password_hash: str | None = None,
    email: str | None = None,
) -> tuple[Account, str]:
    """Create a user; the token is returned this once and only its hash is stored. Unknown roles need `force`;
    `password_hash` (argon2, from `accounts`) lets them log in to the web app; `email` receives notifications."""
    require_admin(caller)
    _check_username(username)
    roles = _check_roles(services, roles, force)
    address = check_email(email) if email is not None else None
    _require_privileged_change(caller, [], roles)
    token = new_token()
    try:
        with services.db.write() as session:
            if store.by_username(session, username):
                raise Conflict("user_exists", f"มีผู้ใช้ชื่อ {username} อยู่แล้ว (user exists)")
            user = store.add(session, username, roles, hash_token(token), services.clock(), password_hash, address)
            _audit(session, services, caller, "user_created", {"username": username, "roles": roles, "forced": force})
    except IntegrityError:
        raise Conflict("user_exists", f"มีผู้ใช้ชื่อ {username} อยู่แล้ว (user exists)") from None
    services.audience.invalidate()
    return account(user), token


def list_users(services: Services, caller: Caller, offset: int, limit: int) -> tuple[list[Account], int]:
    require_admin(caller)
    with services.db.read() as session:
        rows, total = store.listing(session, offset, limit)
        return [account(u) for u in rows], total


def get_user(services: Services, caller: Caller, username: str) -> Account:
    """A user (admin, or the user themself)."""
    if caller.username != username:
        require_admin(caller)
    with services.db.read() as session:
        return account(_user(session, username, lock=False))


def update_user(
    services: Services,
    caller: Caller,
    username: str,
    roles: list[str] | None = None,
    active: bool | None = None,
    force: bool = False,
    email: EmailChange | None = None,
) -> Account:
    """Replace a user's roles, (de)activate them and/or change their e-mail address; a deactivated user's token
    is refused at once and their browser sessions are ended. The admin chain records that an address changed,
    never the address (the chain cannot be erased)."""
    require_admin(caller)
    if roles is not None:
        roles = _check_roles(services, roles, force)
    address = check_email(email.address) if email is not None and email.address is not None else None
    if active is False and username == caller.username:
        raise Conflict("deactivate_self", "ปิดบัญชีของตนเองไม่ได้ (you cannot deactivate yourself)")
    with services.db.write() as session:
        user = _user(session, username)
        if roles is not None and roles != user.roles:
            if not policy.may_change_roles_of(caller, username):
                raise Forbidden(
                    "own_roles",
                    "เปลี่ยนบทบาทของตนเองไม่ได้ ผู้ดูแลระบบคนอื่นต้องเป็นผู้เปลี่ยน (you cannot change your own roles)",
                )
            _require_privileged_change(caller, user.roles, roles)
            before, user.roles = user.roles, roles
            _audit(
                session,
                services,
                caller,
                "user_roles_changed",
                {"username": username, "before": before, "after": roles, "forced": force},
            )
        if active is not None and active != user.active:
            user.active = active
            if not active:
                sessions_store.remove_for_user(session, username)
            _audit(
                session, services, caller, "user_activated" if active else "user_deactivated", {"username": username}
            )
        if email is not None and address != user.email:
            user.email = address
            _audit(
                session, services, caller, "user_email_changed", {"username": username, "email": address is not None}
            )
        changed = account(user)
    services.audience.invalidate()
    return changed


def _may_manage_token(caller: Caller, username: str) -> None:
    if caller.username != username:
        require_admin(caller)


def rotate_token(services: Services, caller: Caller, username: str) -> str:
    """A new token for a user (admin, or the user themself; a privileged user's only themself or from the command
    line); the old one is refused from the commit on."""
    _may_manage_token(caller, username)
    token = new_token()
    with services.db.write() as session:
        user = _user(session, username)
        if not policy.may_issue_token_for(caller, username, user.roles):
            raise Forbidden(
                "privileged_role",
                "ออกโทเค็นใหม่ให้ผู้มีบทบาท privacy_officer หรือ auditor ได้เฉพาะเจ้าของบัญชีหรือจากบรรทัดคำสั่ง "
                "(a privacy officer's or auditor's token is rotated only by themself or at the command line)",
            )
        user.token_hash, user.token_created_at = hash_token(token), services.clock()
        _audit(session, services, caller, "user_token_rotated", {"username": username})
    return token


def revoke_token(services: Services, caller: Caller, username: str) -> None:
    """Revoke a user's token (admin, or the user themself); `rotate_token` issues a new one."""
    _may_manage_token(caller, username)
    with services.db.write() as session:
        user = _user(session, username)
        if user.token_hash is not None:
            user.token_hash, user.token_created_at = None, None
            _audit(session, services, caller, "user_token_revoked", {"username": username})


def known_roles(services: Services, caller: Caller) -> list[roles_service.KnownRole]:
    """The roles users may hold (any authenticated caller: staff see which roles exist)."""
    return list(roles_service.known_roles(services).values())


def admin_audit(services: Services, caller: Caller, offset: int, limit: int) -> tuple[list[AuditRecord], int]:
    """The admin audit chain, oldest first (admin, auditor)."""
    _require_audit_reader(caller)
    with services.db.read() as session:
        events, total = audit_store.admin_listing(session, offset, limit)
        return [audit_record(e) for e in events], total


def verify_admin_audit(services: Services, caller: Caller) -> ChainCheck:
    """Re-hash the admin audit chain and check its head's signature (admin, auditor)."""
    _require_audit_reader(caller)
    with services.db.read() as session:
        return anchoring.verify_admin(services, session)


def ensure_user(services: Services, username: str, roles: list[str], token: str) -> None:
    """Make `username` exist, active, with these roles and this token (bootstrap admin); audited when it changes."""
    token_hash = hash_token(token)
    with services.db.write() as session:
        user = store.by_username(session, username, lock=True)
        if user is None:
            store.add(session, username, roles, token_hash, services.clock())
            _audit(session, services, SYSTEM, "user_created", {"username": username, "roles": roles, "forced": True})
            return
        changed = user.token_hash != token_hash or not set(roles) <= set(user.roles) or not user.active
        if changed:
            user.token_hash, user.token_created_at = token_hash, services.clock()
            user.roles = sorted(set(user.roles) | set(roles))
            user.active = True
            _audit(session, services, SYSTEM, "user_bootstrapped", {"username": username, "roles": user.roles})


def cli_caller() -> Caller:
    """The operator at the command line, as the admin chain records them."""
    import getpass

    return Caller(f"cli:{getpass.getuser()}", frozenset({"admin"}), operator=True)


def create_user_cli(
    services: Services,
    username: str,
    roles: list[str],
    force: bool = False,
    password_hash: str | None = None,
    email: str | None = None,
) -> str:
    """Create a user from the operator's command line; return its token."""
    _, token = create_user(services, cli_caller(), username, roles, force, password_hash, email)
    return token
