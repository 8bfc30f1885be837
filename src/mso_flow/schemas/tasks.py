"""Human tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mso_flow.schemas.common import Request
from mso_flow.schemas.definitions import FormFieldOut
from mso_flow.schemas.instances import InstanceOut


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
    variables: dict[str, Any]


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
