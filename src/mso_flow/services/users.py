"""Users, tokens and who may do what with them."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy.exc import IntegrityError

from mso_flow.services.candidates import is_personal
from mso_flow.services.context import SYSTEM, Caller, Services
from mso_flow.services.errors import Conflict, Forbidden, Invalid
from mso_flow.store import users as store
from mso_flow.store.models import User

BUILTIN_ROLES = ("admin", "designer", "integrator")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


def hash_token(token: str) -> str:
    """Tokens are random 256-bit secrets, so one SHA-256 (no salt, no stretching) is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


def cached_caller(services: Services, token: str) -> Caller | None:
    """The caller of a token authenticated in the last few seconds, without touching the database."""
    return services.token_cache.get(hash_token(token), services.clock())


def authenticate(services: Services, token: str) -> Caller | None:
    """The caller a bearer token belongs to, or None; remembered for a few seconds."""
    token_hash = hash_token(token)
    with services.db.read() as session:
        user = store.by_token_hash(session, token_hash)
        caller = Caller(user.username, frozenset(user.roles)) if user else None
    if caller is not None:
        services.token_cache.put(token_hash, caller, services.clock())
    return caller


def require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise Forbidden("admin_required", "ต้องเป็นผู้ดูแลระบบ (admin role required)")


def _check(username: str, roles: list[str]) -> list[str]:
    roles = [r.strip() for r in roles]
    errors: list[dict[str, str]] = []
    if not _USERNAME.match(username):
        errors.append(
            {
                "field": "username",
                "message": "ชื่อผู้ใช้ต้องเป็นตัวอักษรภาษาอังกฤษ ตัวเลข หรือ _.@- "
                "ไม่เกิน 100 ตัว (username: ASCII letters, digits, _.@-)",
            }
        )
    if not roles or any(not r or len(r) > 300 or is_personal(r) for r in roles):
        errors.append(
            {
                "field": "roles",
                "message": "ต้องระบุบทบาทอย่างน้อยหนึ่งบทบาท ชื่อละไม่เกิน 300 ตัวอักษร ไม่ขึ้นต้นด้วย user: "
                "(at least one role, each 1-300 characters, none starting with user:)",
            }
        )
    if errors:
        raise Invalid("invalid_user", "ข้อมูลผู้ใช้ไม่ถูกต้อง (invalid user)", errors)
    return list(dict.fromkeys(roles))


def create_user(services: Services, caller: Caller, username: str, roles: list[str]) -> tuple[User, str]:
    """Create a user; the token is returned this once and only its hash is stored."""
    require_admin(caller)
    roles = _check(username, roles)
    token = secrets.token_urlsafe(32)
    try:
        with services.db.write() as session:
            if store.by_username(session, username):
                raise Conflict("user_exists", f"มีผู้ใช้ชื่อ {username} อยู่แล้ว (user exists)")
            user = store.add(session, username, roles, hash_token(token), services.clock())
    except IntegrityError:
        raise Conflict("user_exists", f"มีผู้ใช้ชื่อ {username} อยู่แล้ว (user exists)") from None
    return user, token


def list_users(services: Services, caller: Caller, offset: int, limit: int) -> tuple[list[User], int]:
    require_admin(caller)
    with services.db.read() as session:
        return store.listing(session, offset, limit)


def ensure_user(services: Services, username: str, roles: list[str], token: str) -> None:
    """Make `username` exist with these roles and this token (bootstrap admin, operator CLI)."""
    with services.db.write() as session:
        user = store.by_username(session, username)
        if user is None:
            store.add(session, username, roles, hash_token(token), services.clock())
        else:
            user.token_hash = hash_token(token)
            user.roles = sorted(set(user.roles) | set(roles))


def create_user_cli(services: Services, username: str, roles: list[str]) -> str:
    """Create a user from the operator's command line; return its token."""
    _, token = create_user(services, SYSTEM, username, roles)
    return token
