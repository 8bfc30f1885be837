"""Users and their token hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mso_flow.store.models import User
from mso_flow.store.paging import page


def by_token_hash(session: Session, token_hash: str) -> User | None:
    return session.scalar(select(User).where(User.token_hash == token_hash))


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def by_usernames(session: Session, usernames: list[str]) -> list[User]:
    return list(session.scalars(select(User).where(User.username.in_(usernames))))


def add(session: Session, username: str, roles: list[str], token_hash: str, now: datetime) -> User:
    user = User(username=username, roles=roles, token_hash=token_hash, created_at=now)
    session.add(user)
    session.flush()
    return user


def listing(session: Session, offset: int, limit: int) -> tuple[list[User], int]:
    return page(session, select(User).order_by(User.username), offset, limit)


def holding_any(session: Session, roles: list[str]) -> list[User]:
    """Users holding one of `roles` (roles are a JSON list, so the match is made here, not in SQL)."""
    wanted = set(roles)
    return [u for u in session.scalars(select(User).order_by(User.username)) if wanted.intersection(u.roles)]
