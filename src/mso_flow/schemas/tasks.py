"""Human tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mso_flow.schemas.common import Request
from mso_flow.schemas.definitions import FormFieldOut
from mso_flow.schemas.instances import InstanceOut


class ManualStepOut(BaseModel):
    """What the Work Manual says of the step a task carries out (or that the step was added by reading it)."""

    text: str | None = Field(description="the manual's text for the step (its detail column)")
    section: str | None = Field(description="the manual's section (กระบวนการ heading)")
    lines: str | None = Field(description="lines of work-manual-2567.txt the step is read from, e.g. 922-970")
    duration_text: str | None = Field(description="the manual's own wording of the duration, e.g. ๓ วันทำการ")
    standard_duration: str | None = Field(description="ISO-8601 standard duration read from it, e.g. P3D")
    duration_basis: str | None = Field(description="working | calendar: how its days are counted")
    deadline: str | None = Field(description="ISO-8601 time limit ('ภายใน X'), counted from deadline_from")
    deadline_from: str | None = Field(description="receipt (the case's start) | task (the task's creation)")
    source: str = Field(description="manual | inferred (the manual does not draw this step)")
    inferred_reason: str | None = Field(description="why the step was added, when inferred")


class TaskOut(BaseModel):
    id: str
    name: str
    element_id: str
    lane: str | None
    candidate_roles: list[str]
    state: str = Field(description="open | completed | cancelled")
    assignee: str | None
    owner: str | None = None
    delegation_state: str | None = None
    process_instance_id: str
    definition_key: str
    created_at: datetime
    due_at: datetime | None
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    form: list[FormFieldOut]
    variables: dict[str, Any] = Field(
        description="the instance's variables; when `variables_visible` is false none (a delegate without a "
        "candidate role: the task's own form fields)"
    )
    variables_visible: bool = Field(default=True, description="false: the caller may not read the instance's data")
    masked_variables: list[str] = Field(
        default_factory=list,
        description="personal variables (every variable of a letter classed ลับ or above) the caller may not read: "
        "their values are null here",
    )
    manual: ManualStepOut | None = Field(default=None, description="the manual's step, when the process has it")


class TaskListItem(BaseModel):
    id: str
    name: str
    element_id: str
    lane: str | None
    candidate_roles: list[str]
    state: str
    assignee: str | None
    owner: str | None = None
    delegation_state: str | None = Field(default=None, description="pending | resolved | null")
    process_instance_id: str
    definition_key: str
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None


class CompleteRequest(Request):
    variables: dict[str, Any] = Field(default_factory=dict)


class CompleteResponse(BaseModel):
    task: TaskOut
    instance: InstanceOut


Username = Field(min_length=1, max_length=100, description="a user's username")
Reason = Field(default=None, max_length=2000, description="why (kept in the audit trail)")


class AssignRequest(Request):
    username: str | None = Field(description="the new assignee (must hold a candidate role), or null to unassign")
    reason: str | None = Reason


class DelegateRequest(Request):
    username: str = Username
    reason: str | None = Reason


class ResolveRequest(Request):
    reason: str | None = Reason


class CommentRequest(Request):
    text: str = Field(min_length=1, max_length=4000, description="the comment (Thai text welcome)")


class CommentOut(BaseModel):
    id: int
    task_id: str
    author: str
    at: datetime
    text: str


class BulkClaimRequest(Request):
    task_ids: list[str] = Field(min_length=1, max_length=100, description="tasks to claim, all or none")


class BulkClaimResponse(BaseModel):
    items: list[TaskOut]


class RoleCount(BaseModel):
    open: int = Field(description="open tasks of the role")
    overdue: int = Field(description="open tasks of the role past their due date")
