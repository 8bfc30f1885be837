"""Browser sessions and failed-login counters of the web app (rows keyed by SHA-256 hashes, never raw secrets)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mso_flow.store.models import LoginFailure, User, WebSession


def add(session: Session, web_session: WebSession) -> None:
    session.add(web_session)
    session.flush()


def with_user(session: Session, id_hash: str, now: datetime) -> tuple[WebSession, User] | None:
    """The unexpired session with this id hash and its user."""
    row = session.execute(
        select(WebSession, User)
        .join(User, User.username == WebSession.username)
        .where(WebSession.id_hash == id_hash, WebSession.expires_at > now)
    ).first()
    return (row[0], row[1]) if row else None


def remove(session: Session, id_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == id_hash))


def remove_expired(session: Session, now: datetime) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))


def remove_for_user(session: Session, username: str) -> None:
    session.execute(delete(WebSession).where(WebSession.username == username))


def failure(session: Session, key_hash: str, lock: bool = False) -> LoginFailure | None:
    stmt = select(LoginFailure).where(LoginFailure.key_hash == key_hash)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def clear_failures(session: Session, key_hash: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key_hash == key_hash))


def remove_failures_before(session: Session, before: datetime) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.last_failed_at < before))
