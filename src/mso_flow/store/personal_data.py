"""Rows of personal data protection: instances' wrapped data keys and the append-only log of unmasked reads."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from mso_flow.store.models import DataKey, PersonalDataRead, ProcessInstance
from mso_flow.store.paging import page

_KEYS = cast(Table, DataKey.__table__)
_WRAPPED = select(_KEYS.c.master_key_id, _KEYS.c.wrapped_key).where(_KEYS.c.instance_id == bindparam("instance_id"))


def key_of(session: Session, instance_id: str) -> DataKey | None:
    return session.get(DataKey, instance_id)


_READ_KEYS = "mso_wrapped_keys"  # Session.info: instance id -> its key row as read with the instance's locked row
WrappedKey = tuple[bool, str | None, bytes | None]


def remember_key(
    session: Session, instance_id: str, keyed: bool, master_key_id: str | None, wrapped: bytes | None
) -> None:
    """Keep an instance's key row read together with its locked row (`instances.lock_with_task`, SQLite) for
    `wrapped_key` in the rest of this transaction (the session's): the locked instance's key changes only through
    this session."""
    session.info.setdefault(_READ_KEYS, {})[instance_id] = (keyed, master_key_id, wrapped)


def wrapped_key(session: Session, instance_id: str) -> WrappedKey:
    """(whether the instance has a key row, its master key id, its wrapped key): as read with the instance's locked
    row in this transaction, else one prebuilt Core statement on the session's connection, so it neither loads an
    object nor flushes the session's pending changes (hot path)."""
    known: WrappedKey | None = session.info.get(_READ_KEYS, {}).get(instance_id)
    if known is not None:
        return known
    row = session.connection().execute(_WRAPPED, {"instance_id": instance_id}).first()
    return (False, None, None) if row is None else (True, row.master_key_id, row.wrapped_key)


def _forget_key(session: Session, instance_id: str) -> None:
    session.info.get(_READ_KEYS, {}).pop(instance_id, None)


def add_key(session: Session, instance_id: str, master_key_id: str, wrapped: bytes, at: datetime) -> None:
    _forget_key(session, instance_id)
    session.add(DataKey(instance_id=instance_id, master_key_id=master_key_id, wrapped_key=wrapped, created_at=at))


def destroy_key(session: Session, instance_id: str, at: datetime, actor: str, reason: str) -> None:
    """Forget the wrapped key for good (the row stays, saying when, by whom and why)."""
    _forget_key(session, instance_id)
    session.execute(
        update(DataKey)
        .where(DataKey.instance_id == instance_id)
        .values(master_key_id=None, wrapped_key=None, erased_at=at, erased_by=actor, erase_reason=reason)
    )


def wrapped_keys(session: Session, after: str, limit: int) -> list[DataKey]:
    """Live keys in instance id order after `after` (for rewrapping under a new master key)."""
    stmt = (
        select(DataKey)
        .where(DataKey.wrapped_key.is_not(None), DataKey.instance_id > after)
        .order_by(DataKey.instance_id)
        .limit(limit)
        .with_for_update()
    )
    return list(session.scalars(stmt))


def expired(session: Session, cutoffs: dict[str, datetime], default_cutoff: datetime, limit: int) -> list[str]:
    """Ended instances whose data key lives and whose retention is over: ended before the cutoff of their process
    key (`cutoffs`, for keys with a retention of their own) or else before `default_cutoff`; oldest first."""
    stmt = (
        select(ProcessInstance.id, ProcessInstance.definition_key, ProcessInstance.ended_at)
        .join(DataKey, DataKey.instance_id == ProcessInstance.id)
        .where(DataKey.wrapped_key.is_not(None), ProcessInstance.ended_at < max([default_cutoff, *cutoffs.values()]))
        .order_by(ProcessInstance.ended_at)
    )
    found: list[str] = []
    for instance_id, key, ended_at in session.execute(stmt):
        if ended_at is not None and ended_at < cutoffs.get(key, default_cutoff):
            found.append(instance_id)
            if len(found) >= limit:
                break
    return found


def log_read(session: Session, instance_id: str, actor: str, purpose: str, fields: list[str], at: datetime) -> None:
    session.add(PersonalDataRead(instance_id=instance_id, actor=actor, purpose=purpose, fields=fields, at=at))


def reads(session: Session, instance_id: str, offset: int, limit: int) -> tuple[list[PersonalDataRead], int]:
    stmt = select(PersonalDataRead).where(PersonalDataRead.instance_id == instance_id).order_by(PersonalDataRead.id)
    return page(session, stmt, offset, limit)
