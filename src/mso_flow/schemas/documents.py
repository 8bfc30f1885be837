"""Documents of process instances (`../shared/design/documents.md`), with what users need beyond the contract:
every version, the description, sealing and masking."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from mso_flow.schemas.common import Request


class DocumentVersionOut(BaseModel):
    version: int
    filename: str | None = Field(description="as uploaded (Thai kept); null when masked for the caller")
    media_type: str = Field(description="sniffed from the bytes")
    size: int
    sha256: str = Field(description="SHA-256 of the version's bytes, also in the instance's audit chain")
    uploaded_by: str
    uploaded_at: datetime
    erased: bool = Field(description="the contents were destroyed with the instance's personal data")


class DocumentOut(BaseModel):
    id: str
    instance_id: str
    task_id: str | None
    field: str | None = Field(description="the task's file form field the document answers, if any")
    title: str | None
    filename: str | None = Field(description="the latest version's file name; null when masked for the caller")
    media_type: str
    size: int
    sha256: str
    version: int = Field(description="the latest version's number (1, 2, …)")
    uploaded_by: str = Field(description="who uploaded the latest version")
    uploaded_at: datetime
    withdrawn: bool
    description: str | None = None
    created_by: str = Field(description="who attached the document (its first version)")
    created_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    withdraw_reason: str | None = None
    sealed: bool = Field(
        description="stored encrypted with the instance's data key (personal data, classified letters)"
    )
    masked: list[str] = Field(default_factory=list, description="sealed texts shown as null to this caller")
    versions: list[DocumentVersionOut]


class DocumentList(BaseModel):
    items: list[DocumentOut]
    total: int


class WithdrawRequest(Request):
    reason: str = Field(min_length=1, max_length=2000, description="why the document is withdrawn (Thai)")
