"""Translate the services' frozen views and results into the response schemas."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

from mso_flow.schemas.definitions import (
    DecisionSummary,
    DefinitionDetail,
    DefinitionSummary,
    EnumValue,
    Finding,
    FormFieldOut,
    UserTaskInfo,
)
from mso_flow.schemas.documents import DocumentOut, DocumentVersionOut
from mso_flow.schemas.instances import AuditEventOut, InstanceOut, TaskSummary
from mso_flow.schemas.tasks import CommentOut, ManualStepOut, TaskListItem, TaskOut
from mso_flow.services.definitions.model import FormField, ProcessDef, UserTaskDef
from mso_flow.services.definitions.records import DecisionRecord, DefinitionRecord
from mso_flow.services.documents.queries import DocumentView
from mso_flow.services.instances.queries import InstanceView
from mso_flow.services.platform.audit_records import AuditRecord
from mso_flow.services.policy import candidate_roles
from mso_flow.services.tasks.comments import CommentRecord
from mso_flow.services.tasks.queries import TaskView
from mso_flow.services.tasks.records import TaskRecord


def json(model: BaseModel, status_code: int = 200) -> Response:
    """A response model already built and valid, serialized once: FastAPI neither validates it again nor walks it
    through `jsonable_encoder` (the route keeps its `response_model` for the OpenAPI schema)."""
    return Response(model.model_dump_json(), status_code, media_type="application/json")


def form(fields: tuple[FormField, ...]) -> list[FormFieldOut]:
    return [
        FormFieldOut(
            id=f.id,
            label=f.label,
            type=f.type,
            required=f.required,
            enum=[EnumValue(id=value, name=name) for value, name in f.enum],
            accept=list(f.accept),
            multiple=f.multiple,
            multiline=f.multiline,
        )
        for f in fields
    ]


def definition_summary(definition: DefinitionRecord, model: ProcessDef) -> DefinitionSummary:
    return DefinitionSummary(
        id=definition.id,
        key=definition.key,
        name=definition.name,
        version=definition.version,
        unit=definition.unit,
        deployed_at=definition.deployed_at,
        deployed_by=definition.deployed_by,
        sha256=definition.sha256,
        lanes=list(model.lanes),
        source=definition.source,
        warnings=[Finding(**w) for w in definition.warnings or []],
    )


def decision_summary(decision: DecisionRecord) -> DecisionSummary:
    return DecisionSummary(
        id=decision.id,
        key=decision.key,
        name=decision.name,
        version=decision.version,
        file_name=decision.file_name,
        deployment_id=decision.deployment_id,
        deployed_at=decision.deployed_at,
        deployed_by=decision.deployed_by,
        sha256=decision.sha256,
    )


def definition_detail(definition: DefinitionRecord, model: ProcessDef) -> DefinitionDetail:
    return DefinitionDetail(
        **definition_summary(definition, model).model_dump(),
        documentation=model.documentation,
        properties=model.properties,
        start_messages=list(model.start_messages),
        user_tasks=[
            UserTaskInfo(
                element_id=t.element_id,
                name=t.name,
                lane=t.lane,
                standard_duration=t.standard_duration,
                manual_duration=t.manual_duration,
                candidate_roles=candidate_roles(model, t, t.lane),
                form=form(t.form),
            )
            for t in model.user_tasks
        ],
    )


def task_summary(task: TaskRecord) -> TaskSummary:
    return TaskSummary(
        id=task.id,
        name=task.name,
        element_id=task.element_id,
        lane=task.lane,
        assignee=task.assignee,
        state=task.state,
        created_at=task.created_at,
        due_at=task.due_at,
    )


def instance(view: InstanceView) -> InstanceOut:
    i = view.instance
    return InstanceOut(
        id=i.id,
        definition_key=i.definition_key,
        definition_version=i.definition_version,
        business_key=i.business_key,
        state=i.state,
        variables=view.variables,
        variables_visible=view.variables_visible,
        masked_variables=list(view.masked_variables),
        started_at=i.started_at,
        started_by=i.started_by,
        ended_at=i.ended_at,
        ended_by=i.ended_by,
        end_reason=i.end_reason,
        active_tasks=[task_summary(t) for t in view.active_tasks],
    )


def manual_step(step: UserTaskDef | None) -> ManualStepOut | None:
    """The manual's text, references and duration wording of a task's step."""
    if step is None:
        return None
    return ManualStepOut(
        text=step.documentation,
        section=step.manual_section,
        lines=step.manual_lines,
        duration_text=step.manual_duration,
        standard_duration=step.standard_duration,
        duration_basis=step.duration_basis,
        deadline=step.deadline,
        deadline_from=step.deadline_from,
        source=step.source or "manual",
        inferred_reason=step.inferred_reason,
    )


def task(view: TaskView, step: UserTaskDef | None = None) -> TaskOut:
    t = view.task
    return TaskOut(
        id=t.id,
        name=t.name,
        element_id=t.element_id,
        lane=t.lane,
        candidate_roles=list(t.candidate_roles),
        state=t.state,
        assignee=t.assignee,
        owner=t.owner,
        delegation_state=t.delegation_state,
        process_instance_id=t.instance_id,
        definition_key=t.definition_key,
        created_at=t.created_at,
        due_at=t.due_at,
        claimed_at=t.claimed_at,
        completed_at=t.completed_at,
        completed_by=t.completed_by,
        form=form(view.form),
        variables=view.variables,
        variables_visible=view.variables_visible,
        masked_variables=list(view.masked_variables),
        manual=manual_step(step),
    )


def task_item(t: TaskRecord) -> TaskListItem:
    return TaskListItem(
        id=t.id,
        name=t.name,
        element_id=t.element_id,
        lane=t.lane,
        candidate_roles=list(t.candidate_roles),
        owner=t.owner,
        delegation_state=t.delegation_state,
        state=t.state,
        assignee=t.assignee,
        process_instance_id=t.instance_id,
        definition_key=t.definition_key,
        created_at=t.created_at,
        due_at=t.due_at,
        completed_at=t.completed_at,
    )


def audit_event(event: AuditRecord, data_visible: bool = True) -> AuditEventOut:
    return AuditEventOut(
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        type=event.type,
        task_id=event.task_id,
        element_id=event.element_id,
        data=event.data,
        data_visible=data_visible,
    )


def comment(c: CommentRecord) -> CommentOut:
    return CommentOut(id=c.id, task_id=c.task_id, author=c.author, at=c.at, text=c.text)


def audit_row(e: AuditRecord) -> dict[str, object]:
    """An audit event with its hashes, for export."""
    return {
        "instance_id": e.instance_id,
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "type": e.type,
        "task_id": e.task_id,
        "element_id": e.element_id,
        "data": e.data,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def document(view: DocumentView) -> DocumentOut:
    return DocumentOut(
        id=view.id,
        instance_id=view.instance_id,
        task_id=view.task_id,
        field=view.field,
        title=view.title,
        filename=view.filename,
        media_type=view.media_type,
        size=view.size,
        sha256=view.sha256,
        version=view.version,
        uploaded_by=view.uploaded_by,
        uploaded_at=view.uploaded_at,
        withdrawn=view.withdrawn,
        description=view.description,
        created_by=view.created_by,
        created_at=view.created_at,
        withdrawn_at=view.withdrawn_at,
        withdrawn_by=view.withdrawn_by,
        withdraw_reason=view.withdraw_reason,
        sealed=view.sealed,
        masked=list(view.masked),
        versions=[
            DocumentVersionOut(
                version=v.version,
                filename=v.filename,
                media_type=v.media_type,
                size=v.size,
                sha256=v.sha256,
                uploaded_by=v.uploaded_by,
                uploaded_at=v.uploaded_at,
                erased=v.erased,
            )
            for v in view.versions
        ],
    )
