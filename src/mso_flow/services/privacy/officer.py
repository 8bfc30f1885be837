"""The privacy officer's use cases: erase an instance's personal data, export it for its data subject, read who
read it, grant it to a webhook; and the operator's: erase what is past retention, rotate the master key.

The mechanism (sealing, disclosure, key destruction) is `services/privacy/personal_data.py`; here are the permissions,
transactions and audit events around it. Erasure goes through the instance's one unit of work, so it is
serialised with every other change of the instance and recorded in its audit chain (`personal_data_erased`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from mso_flow.domain import ReadPurpose
from mso_flow.services import policy
from mso_flow.services.documents import commands as document_commands
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform import anchoring
from mso_flow.services.platform.context import SYSTEM, Caller, Services
from mso_flow.services.platform.executor import InstanceChange, execute
from mso_flow.services.platform.failures import Conflict, Forbidden, Invalid, NotFound
from mso_flow.services.platform.unit_of_work import InstanceCommand, lock_instance
from mso_flow.services.privacy import keyring, personal_data
from mso_flow.services.privacy.sealing import ERASED, is_sealed
from mso_flow.store import audit as audit_store
from mso_flow.store import instances as instances_store
from mso_flow.store import personal_data as store
from mso_flow.store import webhooks as webhooks_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import PersonalDataRead, Webhook

log = logging.getLogger(__name__)
RETENTION = "retention"


def _officer_only(caller: Caller, what: str) -> None:
    if not policy.is_privacy_officer(caller):
        raise Forbidden("privacy_officer_required", f"{what}ได้เฉพาะเจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคล (privacy_officer)")


def _not_found(instance_id: str) -> NotFound:
    return NotFound("instance_not_found", f"ไม่พบกระบวนการที่ดำเนินการ {instance_id} (instance not found)")


@dataclass(frozen=True)
class Erasure:
    instance_id: str
    instance_state: str
    erased_at: datetime
    erased_by: str
    fields: list[str]


def erase(services: Services, caller: Caller, instance_id: str, reason: str, cancel_running: bool = False) -> Erasure:
    """Destroy an instance's data key (crypto-shredding). A running instance is refused (409 `instance_running`)
    unless `cancel_running`, which cancels it in the same transaction first."""
    _officer_only(caller, "ลบข้อมูลส่วนบุคคล")
    reason = reason.strip()
    if not reason:
        raise Invalid("reason_required", "โปรดระบุเหตุผลการลบข้อมูลส่วนบุคคล (a reason is required)")
    return _erase(services, caller, instance_id, reason, cancel_running)


def _erase(services: Services, caller: Caller, instance_id: str, reason: str, cancel_running: bool) -> Erasure:
    actor = caller.username

    def run(command: InstanceCommand, _: None) -> Erasure:
        instance = command.instance
        key = store.key_of(command.session, instance.id)
        if key is None:
            raise Conflict(
                "no_personal_data",
                "เรื่องนี้ไม่มีข้อมูลส่วนบุคคลที่เก็บแบบเข้ารหัส (this instance holds no protected data)",
            )
        if key.wrapped_key is None:
            raise Conflict("already_erased", f"ข้อมูลส่วนบุคคลของเรื่องนี้ถูกลบแล้วเมื่อ {key.erased_at} (already erased)")
        if personal_data.is_active(instance):
            if not cancel_running:
                raise Conflict(
                    "instance_running",
                    "เรื่องนี้ยังดำเนินการอยู่ ยุติเรื่องก่อน หรือส่ง cancel_running: true "
                    "(the instance is running: cancel it first, or send cancel_running: true)",
                )
            instances.cancel_locked(command, reason)
        fields = personal_data.destroy(services, command.session, instance, actor, reason)
        erased: dict[str, Any] = {"reason": reason, "fields": fields}
        documents = document_commands.erase_sealed(command)
        if documents:
            erased["documents"] = documents
        command.record([NewEvent("personal_data_erased", actor, data=erased)])
        return Erasure(instance.id, instance.state, command.now, actor, fields)

    erasure: Erasure = execute(
        services,
        InstanceChange("personal_data.erase", caller, lock_instance(instance_id), lambda: _not_found(instance_id), run),
    )
    _purge_traces(services)
    return erasure


def _purge_traces(services: Services) -> None:
    """SQLite: checkpoint the WAL so the destroyed key's old page copies leave the log file (best effort)."""
    if services.db.dialect != "sqlite":
        return
    try:
        with services.db.query() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    except Exception:  # a busy database keeps the log; the next checkpoint overwrites it
        log.info("WAL checkpoint after an erasure deferred")


def erase_expired(services: Services, limit: int = 100) -> int:
    """Erase the personal data of ended instances past their retention; returns how many were erased."""
    now = services.clock()
    with services.db.read() as session:
        cutoffs, default = personal_data.retention_cutoffs(services, session, now)
        expired = store.expired(session, cutoffs, default, limit)
    done = 0
    for instance_id in expired:
        try:
            _erase(services, SYSTEM, instance_id, RETENTION, cancel_running=False)
            done += 1
        except Conflict as err:  # restarted or erased meanwhile
            log.info("retention erasure of %s skipped: %s", instance_id, err.code, extra={"instance_id": instance_id})
    return done


@dataclass(frozen=True)
class PersonalField:
    name: str
    label: str
    sensitive: bool
    value: Any
    erased: bool
    supplied: list[dict[str, Any]]  # the audit events that brought the value: seq, at, actor, type, task, element


@dataclass(frozen=True)
class Export:
    instance_id: str
    definition_key: str
    business_key: str | None
    state: str
    erased_at: datetime | None
    fields: list[PersonalField]


def export(services: Services, caller: Caller, instance_id: str) -> Export:
    """Everything the instance holds about its data subjects, for the privacy officer (the read logged)."""
    _officer_only(caller, "ส่งออกข้อมูลส่วนบุคคล")
    with services.db.read() as session:
        instance = instances_store.get(session, instance_id)
        if instance is None:
            raise _not_found(instance_id)
        model = services.definitions.definition(session, instance.definition_id).model
        key = store.key_of(session, instance.id)
        opener = personal_data.reading_cipher(services, session, instance.id)
        labels = {f.id: f for t in model.user_tasks for f in t.form}
        events = audit_store.all_events(session, instance.id)
        fields = []
        protected = personal_data.protected_names(model, instance.variables)
        for name, stored in instance.variables.items():
            if not is_sealed(stored) or name not in protected:
                continue
            value = personal_data.opened(services, session, opener, name, stored)
            form_field = labels.get(name)
            fields.append(
                PersonalField(
                    name=name,
                    label=form_field.label if form_field else name,
                    sensitive=name in model.sensitive_variables,
                    value=personal_data.plain(value),
                    erased=value is ERASED,
                    supplied=[
                        {
                            "seq": e.seq,
                            "at": e.at,
                            "actor": e.actor,
                            "type": e.type,
                            "task_id": e.task_id,
                            "element_id": e.element_id,
                        }
                        for e in events
                        if isinstance((e.data or {}).get("variables"), dict) and name in e.data["variables"]
                    ],
                )
            )
        read = sorted(f.name for f in fields if not f.erased)
        if read:
            personal_data.log_read(services, session, caller.username, instance.id, read, ReadPurpose.EXPORT)
        return Export(
            instance.id,
            instance.definition_key,
            instance.business_key,
            instance.state,
            key.erased_at if key else None,
            fields,
        )


def reads(
    services: Services, caller: Caller, instance_id: str, offset: int, limit: int
) -> tuple[list[PersonalDataRead], int]:
    """Who read the instance's personal values, when, which and why (privacy officer, auditor)."""
    if not policy.may_read_personal_data_log(caller):
        raise Forbidden("personal_data_log_forbidden", "ดูประวัติการเข้าถึงข้อมูลส่วนบุคคลได้เฉพาะเจ้าหน้าที่คุ้มครองข้อมูลหรือผู้ตรวจสอบ")
    with services.db.read() as session:
        if instances_store.get(session, instance_id) is None:
            raise _not_found(instance_id)
        return store.reads(session, instance_id, offset, limit)


def grant_webhook(services: Services, caller: Caller, webhook_id: str, granted: bool, reason: str) -> Webhook:
    """Let a subscription receive personal values unmasked (or stop it); recorded in the admin audit chain."""
    _officer_only(caller, "อนุญาตให้ webhook รับข้อมูลส่วนบุคคล")
    if not reason.strip():
        raise Invalid("reason_required", "โปรดระบุเหตุผล (a reason is required)")
    with services.db.write() as session:
        hook = webhooks_store.get(session, webhook_id)
        if hook is None or not hook.active:
            raise NotFound("webhook_not_found", f"ไม่พบ webhook {webhook_id} (webhook not found)")
        hook.personal_data = granted
        event = "personal_data_granted" if granted else "personal_data_revoked"
        data = {"webhook_id": hook.id, "url": hook.url, "reason": reason.strip()}
        anchoring.append_admin(services, session, [NewEvent(event, caller.username, data=data)])
    services.subscriptions.invalidate()
    return hook


def rotate_master_key(services: Services, batch: int = 200) -> int:
    """Rewrap every live data key under the current master key; returns how many were rewrapped."""
    ring = keyring.keyring(services.settings)
    done, after = 0, ""
    while True:
        with services.db.write() as session:
            rows = store.wrapped_keys(session, after, batch)
            for row in rows:
                if row.master_key_id != ring.current_id and row.master_key_id and row.wrapped_key:
                    data_key = ring.unwrap(row.instance_id, row.master_key_id, row.wrapped_key)
                    row.master_key_id, row.wrapped_key = ring.wrap(row.instance_id, data_key)
                    done += 1
        if len(rows) < batch:
            return done
        after = rows[-1].instance_id
