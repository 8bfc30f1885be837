"""Process definitions, their user tasks and forms, and deployments."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class EnumValue(BaseModel):
    id: str
    name: str


class FormFieldOut(BaseModel):
    id: str = Field(description="variable name the field writes")
    label: str
    type: str = Field(description="string | long | boolean | date | enum | file")
    required: bool
    enum: list[EnumValue] = Field(default_factory=list, description="allowed values of an enum field")
    accept: list[str] = Field(
        default_factory=list, description="file field: media types it takes (`application/pdf`, `image/*`); empty: any"
    )
    multiple: bool = Field(default=False, description="file field: takes several documents")


class UserTaskInfo(BaseModel):
    element_id: str
    name: str
    lane: str | None
    standard_duration: str | None = Field(description="ISO-8601 standard duration from the manual, e.g. P15D")
    manual_duration: str | None = Field(default=None, description="the manual's own wording of the duration")
    candidate_roles: list[str] = Field(default_factory=list, description="roles that may work the task")
    form: list[FormFieldOut]


class DefinitionSummary(BaseModel):
    id: str = Field(description="definition id: key:version")
    key: str
    name: str
    version: int
    unit: str | None
    deployed_at: datetime
    deployed_by: str
    sha256: str
    lanes: list[str]
    source: str = Field(default="api", description="file (deployed from bpmn/ at start-up) | api")


class DefinitionDetail(DefinitionSummary):
    documentation: str | None = None
    properties: dict[str, str] = Field(default_factory=dict, description="camunda:properties of the process")
    start_messages: list[str] = Field(default_factory=list)
    user_tasks: list[UserTaskInfo]


class DeploymentResult(BaseModel):
    definitions: list[DefinitionSummary]
    created: list[str] = Field(description="ids of the versions this deployment created")
    unchanged: list[str] = Field(description="ids of existing versions whose files did not change")
    warnings: list[str] = Field(
        default_factory=list, description="composite lanes the roles file does not name, offered to each part"
    )


class ChangesOut(BaseModel):
    added: list[dict[str, str]]
    removed: list[dict[str, str]]
    renamed: list[dict[str, str]] = Field(description="{id, old_name, new_name}")


class VersionDiffOut(BaseModel):
    key: str
    from_version: int
    to_version: int
    unchanged: bool
    tasks: ChangesOut = Field(description="activities by element id")
    lanes: ChangesOut = Field(description="lanes by name")
    flows: ChangesOut = Field(description="sequence flows by source -> target")
