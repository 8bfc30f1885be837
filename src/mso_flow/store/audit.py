"""The append-only audit trail: a hash chain per instance, and the `admin` chain of user administration (rows
with no instance, its head and the head's signature in `audit_chain`); there is no update or delete path."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mso_flow.store.models import AuditChain, AuditEvent, ProcessInstance
from mso_flow.store.paging import page


@dataclass(frozen=True)
class NewEvent:
    """An event to append: what happened, to which task and element, with what data."""

    type: str
    actor: str
    task_id: str | None = None
    element_id: str | None = None
    data: dict[str, Any] | None = None


def _timestamp(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


# the canonical JSON of an event's content, built once: `json.dumps` with these options builds an encoder per call
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(prev_hash: str, instance_id: str | None, seq: int, at: datetime, event: NewEvent) -> str:
    """SHA-256 over the predecessor's hash and this event's canonical content."""
    content = _CANONICAL.encode(
        [
            prev_hash,
            instance_id,
            seq,
            _timestamp(at),
            event.actor,
            event.type,
            event.task_id,
            event.element_id,
            event.data or {},
        ]
    )
    return hashlib.sha256(content.encode()).hexdigest()


def _chain_rows(
    instance_id: str | None, seq: int, head: str, events: list[NewEvent], at: datetime
) -> tuple[list[dict[str, Any]], int, str]:
    """The rows that extend a chain at (`seq`, `head`), and its new seq and head."""
    rows = []
    for event in events:
        seq += 1
        digest = content_hash(head, instance_id, seq, at, event)
        rows.append(
            {
                "instance_id": instance_id,
                "seq": seq,
                "at": at,
                "actor": event.actor,
                "type": event.type,
                "task_id": event.task_id,
                "element_id": event.element_id,
                "data": event.data or {},
                "prev_hash": head,
                "hash": digest,
            }
        )
        head = digest
    return rows, seq, head


_INSERT_EVENTS = insert(cast(Table, AuditEvent.__table__))  # built once; Core, so no autoflush of the instance


def append(session: Session, instance: ProcessInstance, events: list[NewEvent], at: datetime) -> None:
    """Append events to a (locked) instance's chain and advance its head (written with the instance's row)."""
    rows, seq, head = _chain_rows(instance.id, instance.audit_seq, instance.audit_head, events, at)
    if rows:
        session.connection().execute(_INSERT_EVENTS, rows)
    instance.audit_seq, instance.audit_head = seq, head


ADMIN_CHAIN = "admin"


def admin_chain(session: Session, lock: bool = False) -> AuditChain | None:
    """The head of the admin chain, None before its first event."""
    stmt = select(AuditChain).where(AuditChain.name == ADMIN_CHAIN)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def admin_head(session: Session, lock: bool = False) -> AuditChain:
    """The head of the admin chain (created at its first event); `lock` serialises appenders on PostgreSQL."""
    chain = admin_chain(session, lock)
    if chain is not None:
        return chain
    try:
        with session.begin_nested():
            session.add(AuditChain(name=ADMIN_CHAIN, seq=0, head=""))
    except IntegrityError:  # another transaction created it first
        pass
    chain = admin_chain(session, lock)
    assert chain is not None
    return chain


def append_admin(session: Session, events: list[NewEvent], at: datetime, sign: Callable[[int, str], str]) -> None:
    """Append user-administration events to the admin chain (rows without an instance) and store `sign(seq, head)`
    of its new head beside it."""
    chain = admin_head(session, lock=True)
    rows, chain.seq, chain.head = _chain_rows(None, chain.seq, chain.head, events, at)
    if rows:
        session.execute(insert(AuditEvent), rows)
    chain.signature = sign(chain.seq, chain.head)


def _admin_events() -> Select[AuditEvent]:
    return select(AuditEvent).where(AuditEvent.instance_id.is_(None)).order_by(AuditEvent.seq)


def admin_listing(session: Session, offset: int, limit: int) -> tuple[list[AuditEvent], int]:
    return page(session, _admin_events(), offset, limit)


def verify_admin(session: Session) -> ChainCheck:
    """Re-hash the admin chain against its stored head (its signature is `services/platform/anchoring.py`'s to
    check)."""
    chain = admin_chain(session)
    seq, head = (chain.seq, chain.head) if chain else (0, "")
    return verify_chain(list(session.scalars(_admin_events())), seq, head)


def unsigned_heads(session: Session) -> list[ProcessInstance]:
    """Instances with events whose head carries no signature, locked."""
    stmt = select(ProcessInstance).where(ProcessInstance.audit_signature.is_(None), ProcessInstance.audit_seq > 0)
    return list(session.scalars(stmt.with_for_update()))


def listing(session: Session, instance_id: str, offset: int, limit: int) -> tuple[list[AuditEvent], int]:
    stmt = select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq)
    return page(session, stmt, offset, limit)


def all_events(session: Session, instance_id: str) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class ChainCheck:
    """The result of re-hashing an instance's audit chain."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str | None = None


def verify_chain(events: list[AuditEvent], expected_count: int, expected_head: str) -> ChainCheck:
    """Re-hash every event in order; name the first event that was edited, removed or inserted."""
    head = ""
    for position, row in enumerate(events, start=1):
        if row.seq != position:
            return ChainCheck(False, len(events), position, "missing_event")
        if row.prev_hash != head:
            return ChainCheck(False, len(events), row.seq, "broken_link")
        event = NewEvent(row.type, row.actor, row.task_id, row.element_id, row.data)
        if content_hash(head, row.instance_id, row.seq, row.at, event) != row.hash:
            return ChainCheck(False, len(events), row.seq, "content_changed")
        head = row.hash
    if len(events) < expected_count:
        return ChainCheck(False, len(events), len(events) + 1, "missing_event")
    if len(events) > expected_count or head != expected_head:
        return ChainCheck(
            False, len(events), expected_count + 1 if len(events) > expected_count else len(events), "head_mismatch"
        )
    return ChainCheck(True, len(events))
