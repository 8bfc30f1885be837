"""Users and their token hashes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.orm import Session

from mso_flow.store.db import Database
from mso_flow.store.models import User
from mso_flow.store.paging import page

_USERS = cast(Table, User.__table__)
_ACTIVE_BY_TOKEN_HASH = select(_USERS.c.username, _USERS.c.roles).where(
    _USERS.c.token_hash == bindparam("token_hash"), _USERS.c.active.is_(True)
)


def active_by_token_hash(db: Database, token_hash: str) -> tuple[str, list[str]] | None:
    """(username, roles) of the active user holding this token: one indexed lookup per request (a statement
    built once, on a raw pooled DB-API connection: `Database.fetch_one`)."""
    row = db.fetch_one(_ACTIVE_BY_TOKEN_HASH, {"token_hash": token_hash})
    if row is None:
        return None
    username, roles = row
    return username, list(json.loads(roles) if isinstance(roles, str | bytes) else roles)


def by_token_hash(session: Session, token_hash: str) -> User | None:
    return session.scalar(select(User).where(User.token_hash == token_hash))


def by_username(session: Session, username: str, lock: bool = False) -> User | None:
    stmt = select(User).where(User.username == username)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def by_usernames(session: Session, usernames: list[str]) -> list[User]:
    return list(session.scalars(select(User).where(User.username.in_(usernames))))


def add(
    session: Session,
    username: str,
    roles: list[str],
    token_hash: str,
    now: datetime,
    password_hash: str | None = None,
    email: str | None = None,
) -> User:
    user = User(
        username=username,
        roles=roles,
        token_hash=token_hash,
        created_at=now,
        token_created_at=now,
        password_hash=password_hash,
        email=email,
    )
    session.add(user)
    session.flush()
    return user


def listing(session: Session, offset: int, limit: int) -> tuple[list[User], int]:
    return page(session, select(User).order_by(User.username), offset, limit)


def with_role(session: Session, role: str, offset: int, limit: int) -> tuple[list[User], int]:
    """Users holding `role`, by name. Roles are a JSON list, read whole: the directory holds thousands of users,
    not millions, and this runs for assignment screens, not per task."""
    members = [u for u in session.scalars(select(User).order_by(User.username)) if role in u.roles]
    return members[offset : offset + limit], len(members)


def holding_any(session: Session, roles: list[str]) -> list[User]:
    """Users holding one of `roles` (roles are a JSON list, so the match is made here, not in SQL)."""
    wanted = set(roles)
    return [u for u in session.scalars(select(User).order_by(User.username)) if wanted.intersection(u.roles)]


def active(session: Session) -> list[User]:
    """Every active user (the people notifications are resolved against: thousands, read by the background
    fan-out, never by a request)."""
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))


def held_roles(connection: Connection) -> set[str]:
    """The roles some active user holds (one statement, for the notification gate's cache)."""
    held: set[str] = set()
    for roles in connection.execute(select(_USERS.c.roles).where(_USERS.c.active.is_(True))).scalars():
        held.update(roles or ())
    return held
