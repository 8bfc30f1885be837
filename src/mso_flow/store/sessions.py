"""Browser sessions and failed-login counters of the web app (rows keyed by SHA-256 hashes, never raw secrets)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
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


def _failure(session: Session, key_hash: str) -> LoginFailure | None:
    return session.scalar(select(LoginFailure).where(LoginFailure.key_hash == key_hash).with_for_update())


def failures_for_update(session: Session, key_hashes: list[str], now: datetime) -> list[LoginFailure]:
    """The failure counters of these keys, locked in the order given (a missing one created at zero), so that
    transactions counting the same keys queue on them instead of reading the same count."""
    counters = []
    for key_hash in key_hashes:
        counter = _failure(session, key_hash)
        if counter is None:
            try:
                with session.begin_nested():
                    session.add(LoginFailure(key_hash=key_hash, failures=0, last_failed_at=now))
            except IntegrityError:  # another transaction created it first; its lock is waited for below
                pass
            counter = _failure(session, key_hash)
            assert counter is not None
        counters.append(counter)
    return counters


def clear_failures(session: Session, key_hashes: list[str]) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key_hash.in_(key_hashes)))


def remove_failures_before(session: Session, before: datetime) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.last_failed_at < before))
