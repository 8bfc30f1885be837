"""Audit events as the faces show them (an instance's trail, the admin chain): frozen records built from store rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mso_flow.store.models import AuditEvent


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One event of an audit chain: who did what and when, its data (as the reader is shown it) and its hashes
    (those of the stored event)."""

    instance_id: str | None  # None: the admin chain
    seq: int
    at: datetime
    actor: str
    type: str
    task_id: str | None
    element_id: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


def audit_record(row: AuditEvent) -> AuditRecord:
    return AuditRecord(
        row.instance_id,
        row.seq,
        row.at,
        row.actor,
        row.type,
        row.task_id,
        row.element_id,
        row.data,
        row.prev_hash,
        row.hash,
    )
