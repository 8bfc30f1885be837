"""Process definitions, their user tasks and forms, decision definitions (DMN), and deployments."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Finding(BaseModel):
    """A finding of the verdict on a file (`mso-flow validate` prints it as FILE:LINE: ELEMENT: SEVERITY: message)."""

    file: str
    line: int | None
    element_id: str | None = Field(description="the element to fix, as Camunda Modeler shows its id")
    severity: Literal["error", "warning"] = Field(description="error: refused; warning: deployed, shown")
    message: str = Field(description="Thai, with the English gist in parentheses")


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
    multiline: bool = Field(default=False, description="string field: long free text (shown as a text area)")


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
    warnings: list[Finding] = Field(
        default_factory=list, description="the verdict's warnings on the version's file, kept with it"
    )


class DefinitionDetail(DefinitionSummary):
    documentation: str | None = None
    properties: dict[str, str] = Field(default_factory=dict, description="camunda:properties of the process")
    start_messages: list[str] = Field(default_factory=list)
    user_tasks: list[UserTaskInfo]


class DecisionSummary(BaseModel):
    """A version of a DMN decision table, which business rule tasks name by `key` (`camunda:decisionRef`)."""

    id: str = Field(description="decision id: key:version")
    key: str = Field(description="the decision's id in its DMN file")
    name: str
    version: int
    file_name: str
    deployment_id: str
    deployed_at: datetime
    deployed_by: str
    sha256: str


class DeploymentResult(BaseModel):
    definitions: list[DefinitionSummary] = Field(description="the process versions of the files, with their warnings")
    decisions: list[DecisionSummary] = Field(default_factory=list, description="the decision versions of .dmn files")
    created: list[str] = Field(description="ids of the versions (processes and decisions) this deployment created")
    unchanged: list[str] = Field(description="ids of existing versions whose files did not change")
    warnings: list[str] = Field(
        default_factory=list,
        description="every warning of the verdict, one line each as `mso-flow validate` prints it "
        "(FILE:LINE: ELEMENT: warning: message)",
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
