"""Changing documents: attach, add a version, withdraw. Each is an instance command
(`services/platform/unit_of_work.py`): the instance's row is locked, the rows written and the audit event
(`document_added`, `document_version_added`, `document_withdrawn`, with the version's SHA-256) appended to the
instance's hash chain in one transaction, with a metadata-only webhook event (`document.added`, …).

An upload is two calls: `prepare_*` checks the caller's right and says where the bytes go (`staging.Target`)
before the body is read, so an outsider's 25 MB is refused at once; the command then checks everything again
under the instance's lock and copies the staged chunks in. Documents are records: nothing here deletes one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mso_flow.domain import ReadPurpose, TaskState
from mso_flow.engine.model import FormField
from mso_flow.services import policy
from mso_flow.services.documents import rules
from mso_flow.services.documents.queries import (
    DocumentView,
    Readers,
    document_not_found,
    instance_not_found,
)
from mso_flow.services.documents.sealed import seal_text
from mso_flow.services.documents.staging import Staged, Staging, Target
from mso_flow.services.platform.context import Caller, Definition, Services
from mso_flow.services.platform.executor import InstanceChange, execute
from mso_flow.services.platform.failures import Conflict, Forbidden, Invalid, NotFound, UnsupportedType
from mso_flow.services.platform.unit_of_work import InstanceCommand, lock_instance
from mso_flow.services.privacy import personal_data
from mso_flow.services.privacy.sealing import InstanceCipher
from mso_flow.store import documents as store
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as tasks_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.documents import Document, DocumentVersion
from mso_flow.store.models import HumanTask, ProcessInstance

MAX_TITLE = 300
MAX_DESCRIPTION = 2000
MAX_REASON = 2000


def _attach_forbidden() -> Forbidden:
    return Forbidden(
        "document_attach_forbidden",
        "แนบเอกสารได้เฉพาะผู้ปฏิบัติงานของเรื่องที่ยังดำเนินการอยู่ หรือระบบที่เริ่มเรื่องนี้ "
        "(only someone working one of the instance's open tasks, or the integrator that started it, attaches)",
    )


def _task_forbidden() -> Forbidden:
    return Forbidden(
        "document_attach_forbidden",
        "แนบเอกสารกับงานนี้ได้เฉพาะผู้รับงาน หรือผู้มีสิทธิ์รับงานขณะที่ยังไม่มีผู้รับ "
        "(only the task's holder, or a candidate while it is unassigned, attaches to it)",
    )


def _sealer(services: Services, instance: ProcessInstance, definition: Definition) -> InstanceCipher | None:
    """The instance's cipher for a sealed document; 409 `personal_data_erased` once its key is destroyed."""
    with services.db.write() as session:  # makes the key of an instance moved to a protecting version
        return personal_data.cipher(services, session, instance, definition.model)


def _target(
    services: Services, instance: ProcessInstance, definition: Definition, document_id: str | None, sealed: bool
) -> Target:
    """Documents of a process with personal data or secrecy classes are sealed; a document keeps the sealing it was
    attached with."""
    return Target(
        instance_id=instance.id,
        document_id=document_id or str(uuid.uuid4()),
        version_id=str(uuid.uuid4()),
        sealer=_sealer(services, instance, definition) if sealed else None,
        max_bytes=services.settings.document_max_bytes,
    )


def _viewable(services: Services, session: Session, caller: Caller, instance: ProcessInstance) -> Definition:
    definition = services.definitions.definition(session, instance.definition_id)
    if not policy.may_view_instance(caller, definition.model):
        raise Forbidden("instance_forbidden", "ไม่มีสิทธิ์ดูกระบวนการนี้ (no role in this process)")
    return definition


def prepare_attach(services: Services, caller: Caller, instance_id: str) -> Target:
    """Where a new document of the instance goes, if the caller may attach one (checked again by `attach`)."""
    with services.db.read() as session:
        instance = instances_store.get(session, instance_id)
        if instance is None:
            raise instance_not_found(instance_id)
        definition = _viewable(services, session, caller, instance)
        if not policy.may_attach_document(caller, instance, tasks_store.open_for_instance(session, instance.id)):
            raise _attach_forbidden()
    return _target(services, instance, definition, None, definition.model.confidential)


def prepare_task_attach(services: Services, caller: Caller, task_id: str) -> tuple[Target, HumanTask]:
    """Where a new document of a task goes (Camunda's task attachments), if the caller may attach to it."""
    with services.db.read() as session:
        task = tasks_store.get(session, task_id)
        if task is None:
            raise NotFound("task_not_found", f"ไม่พบงาน {task_id} (task not found)")
        if not policy.may_view_task(caller, task):
            raise Forbidden("task_forbidden", "ไม่มีสิทธิ์ดูงานนี้ (no candidate role for this task)")
        if not policy.may_attach_to_task(caller, task):
            raise _task_forbidden()
        instance = instances_store.get(session, task.instance_id)
        assert instance is not None
        definition = services.definitions.definition(session, instance.definition_id)
    return _target(services, instance, definition, None, definition.model.confidential), task


def prepare_version(services: Services, caller: Caller, document_id: str) -> Target:
    """Where a new version of a document goes, if the caller may add one."""
    with services.db.read() as session:
        document = store.get(session, document_id)
        if document is None:
            raise document_not_found(document_id)
        instance = instances_store.get(session, document.instance_id)
        assert instance is not None
        definition = _viewable(services, session, caller, instance)
        if not policy.may_attach_document(caller, instance, tasks_store.open_for_instance(session, instance.id)):
            raise _attach_forbidden()
        _require_not_withdrawn(document)
    return _target(services, instance, definition, document.id, document.sealed)


def _require_not_withdrawn(document: Document) -> None:
    if document.withdrawn_at is not None:
        raise Conflict("document_withdrawn", "เอกสารนี้ถูกถอนแล้ว (the document is withdrawn)")


def _text(value: str | None, name: str, limit: int) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > limit:
        raise Invalid(
            "invalid_document",
            f"{name} ยาวเกิน {limit} ตัวอักษร ({name}: at most {limit} characters)",
            [{"field": name, "message": f"ยาวเกิน {limit} ตัวอักษร"}],
        )
    return value


def _file_field(definition: Definition, task: HumanTask, name: str) -> FormField:
    task_def = definition.model.user_task(task.element_id)
    found = next((f for f in (task_def.form if task_def else ()) if f.id == name), None)
    if found is None or found.type != "file":
        raise Invalid(
            "unknown_field",
            f"งาน {task.name} ไม่มีช่องแนบไฟล์ {name} (the task's form has no file field {name!r})",
            [{"field": "field", "message": f"ไม่มีช่องแนบไฟล์ {name}"}],
        )
    return found


def _require_accepted(field: FormField, staged: Staged) -> None:
    if not rules.accepted(staged.media_type, field.accept):
        raise UnsupportedType(
            "type_not_accepted",
            f"ช่อง {field.label} รับเฉพาะ {', '.join(field.accept)} แต่ไฟล์เป็น {staged.media_type} "
            f"(the field accepts {', '.join(field.accept)})",
            media_type=staged.media_type,
        )


def _sealed_now(command: InstanceCommand, sealed: bool) -> InstanceCipher | None:
    """The instance's cipher for a sealed document, read under the instance's lock: 409 `personal_data_erased` when
    its key was destroyed meanwhile."""
    if not sealed:
        return None
    found = personal_data.reading_cipher(command.services, command.session, command.instance.id)
    if found.erased:
        raise personal_data.erased_conflict()
    return found


def _version_row(
    target: Target, staged: Staged, number: int, sealer: InstanceCipher | None, actor: str, at: datetime
) -> DocumentVersion:
    return DocumentVersion(
        id=target.version_id,
        document_id=target.document_id,
        version=number,
        filename=seal_text(sealer, target.document_id, f"filename:{number}", staged.filename),
        media_type=staged.media_type,
        size=staged.size,
        sha256=staged.sha256,
        chunks=staged.chunks,
        uploaded_at=at,
        uploaded_by=actor,
    )


def _event(kind: str, actor: str, document: Document, staged: Staged, number: int, task: HumanTask | None) -> NewEvent:
    data: dict[str, Any] = {
        "document_id": document.id,
        "version": number,
        "sha256": staged.sha256,
        "size": staged.size,
        "media_type": staged.media_type,
    }
    if document.field:
        data["field"] = document.field
    return NewEvent(kind, actor, document.task_id, task.element_id if task else None, data)


def _view(command: InstanceCommand, caller: Caller, document: Document) -> DocumentView:
    readers = Readers(command.services, command.session, caller, command.instance)
    found = readers.views([document])[0]
    readers.log(ReadPurpose.VIEW)
    return found


def _viewed(caller: Caller) -> Callable[[InstanceCommand, None, Document], DocumentView]:
    """A document command's result: the document as the caller now reads it (after the write-back)."""
    return lambda command, _, document: _view(command, caller, document)


def _open_task(session: Session, instance: ProcessInstance, task_id: str) -> HumanTask:
    task = tasks_store.get(session, task_id)
    if task is None or task.instance_id != instance.id:
        raise Invalid(
            "unknown_task",
            f"เรื่องนี้ไม่มีงาน {task_id} (no such task in this instance)",
            [{"field": "task_id", "message": "ไม่มีงานนี้ในเรื่อง"}],
        )
    if task.state != TaskState.OPEN:
        raise Conflict("task_not_open", f"งานนี้อยู่ในสถานะ {task.state} แล้ว (task is not open)")
    return task


def attach(
    services: Services,
    caller: Caller,
    target: Target,
    staging: Staging,
    task_id: str | None = None,
    field: str | None = None,
    title: str | None = None,
    description: str | None = None,
) -> DocumentView:
    """Attach a staged upload to the instance (and to one of its open tasks, and a file field of its form)."""
    staged = staging.finish()  # 415 / 422 before any transaction opens
    title, description = _text(title, "title", MAX_TITLE), _text(description, "description", MAX_DESCRIPTION)
    if field and not task_id:
        raise Invalid(
            "field_needs_task",
            "ระบุช่องแนบไฟล์ได้เมื่อระบุงาน (task_id) ด้วย (a field belongs to a task: send task_id)",
            [{"field": "task_id", "message": "ต้องระบุงาน"}],
        )

    def run(command: InstanceCommand, _: None) -> Document:
        instance, session = command.instance, command.session
        command.require_state()
        task = _open_task(session, instance, task_id) if task_id else None
        if task is not None:
            if not policy.may_attach_to_task(caller, task):
                raise _task_forbidden()
        elif not policy.may_attach_document(caller, instance, tasks_store.open_for_instance(session, instance.id)):
            raise _attach_forbidden()
        if task is not None and field:
            form_field = _file_field(command.definition, task, field)
            _require_accepted(form_field, staged)
            if not form_field.multiple and store.attached(session, task.id, field):
                raise Conflict(
                    "field_has_document",
                    f"ช่อง {form_field.label} รับไฟล์เดียวและมีไฟล์แล้ว: เพิ่มฉบับใหม่หรือถอนไฟล์เดิมก่อน "
                    "(the field takes one document and has one: add a version or withdraw it)",
                )
        sealer = _sealed_now(command, target.sealer is not None)
        document = Document(
            id=target.document_id,
            instance_id=instance.id,
            task_id=task.id if task else None,
            field=field or None,
            title=seal_text(sealer, target.document_id, "title", title),
            description=seal_text(sealer, target.document_id, "description", description),
            version=1,
            sealed=sealer is not None,
            created_at=command.now,
            created_by=caller.username,
        )
        store.add(session, document)
        store.add_version(
            session, _version_row(target, staged, 1, sealer, caller.username, command.now), staging.records()
        )
        command.record([_event("document_added", caller.username, document, staged, 1, task)])
        return document

    return execute(
        services,
        InstanceChange(
            "document.attach",
            caller,
            lock_instance(target.instance_id),
            lambda: instance_not_found(target.instance_id),
            run,
            _viewed(caller),
        ),
    )


def add_version(services: Services, caller: Caller, target: Target, staging: Staging) -> DocumentView:
    """Add a staged upload as the document's next version (the earlier ones stay readable)."""
    staged = staging.finish()

    def run(command: InstanceCommand, _: None) -> Document:
        instance, session = command.instance, command.session
        command.require_state()
        document = store.lock(session, target.document_id)
        if document is None or document.instance_id != instance.id:
            raise document_not_found(target.document_id)
        _require_not_withdrawn(document)
        if not policy.may_attach_document(caller, instance, tasks_store.open_for_instance(session, instance.id)):
            raise _attach_forbidden()
        task = tasks_store.get(session, document.task_id) if document.task_id else None
        if task is not None and document.field:
            _require_accepted(_file_field(command.definition, task, document.field), staged)
        sealer = _sealed_now(command, document.sealed)
        number = document.version + 1
        store.add_version(
            session, _version_row(target, staged, number, sealer, caller.username, command.now), staging.records()
        )
        document.version = number
        command.record([_event("document_version_added", caller.username, document, staged, number, task)])
        return document

    return execute(
        services,
        InstanceChange(
            "document.add_version",
            caller,
            lock_instance(target.instance_id),
            lambda: document_not_found(target.document_id),
            run,
            _viewed(caller),
        ),
    )


def withdraw(services: Services, caller: Caller, document_id: str, reason: str) -> DocumentView:
    """Mark a document withdrawn, with a reason (it stays, readable to those who could read it)."""
    reason_text = _text(reason, "reason", MAX_REASON)
    if reason_text is None:
        raise Invalid(
            "reason_required",
            "โปรดระบุเหตุผลที่ถอนเอกสาร (a reason is required)",
            [{"field": "reason", "message": "ต้องระบุเหตุผล"}],
        )
    with services.db.read() as session:
        found = store.get(session, document_id)
        if found is None:
            raise document_not_found(document_id)
        instance_id = found.instance_id

    def run(command: InstanceCommand, _: None) -> Document:
        session = command.session
        document = store.lock(session, document_id)
        assert document is not None
        readers = Readers(services, session, caller, command.instance)
        readers.require_view()
        if not policy.may_withdraw_document(caller, document.created_by):
            raise Forbidden(
                "document_withdraw_forbidden",
                "ถอนเอกสารได้เฉพาะผู้แนบเอกสารหรือผู้ดูแลระบบ (only who attached it, or an admin, withdraws a document)",
            )
        _require_not_withdrawn(document)
        sealer = _sealed_now(command, document.sealed)
        document.withdrawn_at = command.now
        document.withdrawn_by = caller.username
        document.withdraw_reason = seal_text(sealer, document.id, "withdraw_reason", reason_text)
        latest = store.versions(session, [document.id])[document.id][-1]
        data: dict[str, Any] = {"document_id": document.id, "version": latest.version, "sha256": latest.sha256}
        if not document.sealed:
            data["reason"] = reason_text
        command.record([NewEvent("document_withdrawn", caller.username, document.task_id, None, data)])
        return document

    return execute(
        services,
        InstanceChange(
            "document.withdraw",
            caller,
            lock_instance(instance_id),
            lambda: document_not_found(document_id),
            run,
            _viewed(caller),
        ),
    )


def erase_sealed(command: InstanceCommand) -> list[str]:
    """Part of an erasure of the instance's personal data (`services/privacy/officer.py`, under the instance's lock,
    with its data key destroyed): the chunks of its sealed documents are deleted and their versions marked erased. Their
    names, titles and reasons stay sealed under the destroyed key, so unreadable; type, size, SHA-256, who and when
    stay, as the audit chain does. Returns the ids of the documents concerned."""
    return store.erase_sealed_content(command.session, command.instance.id, command.now)
