"""Process instances, their tasks and audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mso_flow.schemas.common import MAX_VERSION, Request


class StartRequest(Request):
    business_key: str | None = Field(
        default=None,
        max_length=200,
        description="caller's reference, unique among running instances of the process",
    )
    variables: dict[str, Any] = Field(default_factory=dict)


class CancelRequest(Request):
    reason: str = Field(min_length=1, max_length=2000)


class TaskSummary(BaseModel):
    id: str
    name: str
    element_id: str
    lane: str | None
    assignee: str | None
    state: str
    created_at: datetime
    due_at: datetime | None


class InstanceOut(BaseModel):
    id: str
    definition_key: str
    definition_version: int
    business_key: str | None
    state: str = Field(description="running | completed | cancelled | suspended | failed")
    variables: dict[str, Any] = Field(description="empty unless `variables_visible`")
    variables_visible: bool = Field(
        default=True,
        description="false: the caller sees the instance but may not read its data (not one of its people)",
    )
    masked_variables: list[str] = Field(
        default_factory=list,
        description="personal variables (every variable of a letter classed ลับ or above) the caller may not read: "
        "their values are null here",
    )
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    ended_by: str | None = None
    end_reason: str | None = None
    active_tasks: list[TaskSummary]


class AuditEventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    type: str
    task_id: str | None
    element_id: str | None
    data: dict[str, Any] = Field(description="empty unless `data_visible`")
    data_visible: bool = Field(default=True, description="false: the caller may not read the instance's data")


class AuditVerification(BaseModel):
    ok: bool = Field(description="every event re-hashes to its stored hash and links to its predecessor")
    events: int = Field(description="events found")
    first_bad_seq: int | None = Field(default=None, description="the first event edited, removed or inserted")
    reason: str | None = Field(
        default=None, description="content_changed | broken_link | missing_event | head_mismatch"
    )


class MigrateRequest(Request):
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION, description="target version; the latest when null")
