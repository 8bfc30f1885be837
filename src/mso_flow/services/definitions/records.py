"""Definition versions, decisions and deployments as the faces show them: frozen records built from store rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mso_flow.engine.model import ProcessDef
from mso_flow.services.platform.context import Services
from mso_flow.store.models import DecisionDefinition, Deployment, ProcessDefinition


@dataclass(frozen=True, slots=True)
class DefinitionRecord:
    """A process definition version: its stored facts, its BPMN and its process description (`model`)."""

    id: str
    key: str
    version: int
    name: str
    unit: str | None
    file_name: str
    sha256: str
    deployment_id: str
    deployed_at: datetime
    deployed_by: str
    source: str
    warnings: tuple[dict[str, Any], ...]
    bpmn_xml: bytes
    model: ProcessDef


def definition_record(services: Services, row: ProcessDefinition) -> DefinitionRecord:
    """The record of a committed row (its model through the definitions cache)."""
    return DefinitionRecord(
        row.id,
        row.key,
        row.version,
        row.name,
        row.unit,
        row.file_name,
        row.sha256,
        row.deployment_id,
        row.deployed_at,
        row.deployed_by,
        row.source,
        tuple(row.warnings or ()),
        bytes(row.bpmn_xml),
        services.definitions.model(row),
    )


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A decision (DMN) version."""

    id: str
    key: str
    version: int
    name: str
    file_name: str
    sha256: str
    deployment_id: str
    deployed_at: datetime
    deployed_by: str
    source: str


def decision_record(row: DecisionDefinition) -> DecisionRecord:
    return DecisionRecord(
        row.id,
        row.key,
        row.version,
        row.name,
        row.file_name,
        row.sha256,
        row.deployment_id,
        row.deployed_at,
        row.deployed_by,
        row.source,
    )


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """A deployment: when, by whom, from where, its files."""

    id: str
    deployed_at: datetime
    deployed_by: str
    source: str
    files: tuple[str, ...]
    name: str | None


def deployment_record(row: Deployment) -> DeploymentRecord:
    return DeploymentRecord(row.id, row.deployed_at, row.deployed_by, row.source, tuple(row.files), row.name)
