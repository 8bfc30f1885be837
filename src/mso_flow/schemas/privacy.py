"""Personal data: erasure, the data-subject export, the log of reads, webhook grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mso_flow.schemas.common import Request


class EraseRequest(Request):
    reason: str = Field(min_length=1, max_length=2000, description="why (a data subject's request, retention …)")
    cancel_running: bool = Field(
        default=False, description="cancel a running instance first (else a running instance is a 409)"
    )


class ErasureOut(BaseModel):
    instance_id: str
    instance_state: str
    erased_at: datetime
    erased_by: str
    fields: list[str] = Field(description="the variables whose values are now unreadable everywhere")


class SuppliedBy(BaseModel):
    seq: int = Field(description="the audit event's position in the instance's trail")
    at: datetime
    actor: str
    type: str
    task_id: str | None
    element_id: str | None


class PersonalFieldOut(BaseModel):
    name: str
    label: str = Field(description="the form's Thai label, else the name")
    sensitive: bool = Field(description="section 26 data (health, ethnicity, criminal record …)")
    value: Any = Field(description="null once erased")
    erased: bool
    supplied: list[SuppliedBy] = Field(description="the events that brought or changed the value")


class PersonalDataExport(BaseModel):
    instance_id: str
    definition_key: str
    business_key: str | None
    state: str
    erased_at: datetime | None
    fields: list[PersonalFieldOut]


class PersonalDataReadOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="a username, or `webhook:<id>` for a delivery to a granted subscriber")
    purpose: str = Field(description="view | task | list | export | worker | webhook")
    fields: list[str]


class GrantRequest(Request):
    granted: bool = Field(description="true: deliveries carry personal values unmasked; false: masked again")
    reason: str = Field(min_length=1, max_length=2000)
