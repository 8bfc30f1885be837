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
