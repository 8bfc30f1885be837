"""Camunda 7's JSON shapes of MSO Flow's records, the services' frozen views (field names and `null`s as the
engine-rest DTOs have them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mso_flow.api.engine_rest.variables import optional_date, to_typed
from mso_flow.services.definitions.records import DecisionRecord, DefinitionRecord
from mso_flow.services.documents.queries import DocumentView
from mso_flow.services.instances.queries import InstanceRecord
from mso_flow.services.integrations.external_tasks import ExternalTaskRecord, LockedTask
from mso_flow.services.platform.audit_records import AuditRecord
from mso_flow.services.tasks.records import TaskRecord

HISTORY_STATES = {
    "running": "ACTIVE",
    "suspended": "SUSPENDED",
    "completed": "COMPLETED",
    "cancelled": "EXTERNALLY_TERMINATED",
    "failed": "INTERNALLY_TERMINATED",
}
OPERATIONS = {
    "instance_started": ("Create", "ProcessInstance"),
    "instance_cancelled": ("Delete", "ProcessInstance"),
    "instance_migrated": ("Migrate", "ProcessInstance"),
    "variables_set": ("SetVariable", "Variable"),
    "message_correlated": ("Correlate", "ProcessInstance"),
    "task_claimed": ("Claim", "Task"),
    "task_unclaimed": ("SetAssignee", "Task"),
    "task_assigned": ("Assign", "Task"),
    "task_delegated": ("Delegate", "Task"),
    "task_resolved": ("Resolve", "Task"),
    "task_completed": ("Complete", "Task"),
    "external_task_completed": ("Complete", "ExternalTask"),
    "external_task_failed": ("HandleFailure", "ExternalTask"),
    "external_task_bpmn_error": ("HandleBpmnError", "ExternalTask"),
}


def link(method: str, href: str, rel: str) -> dict[str, str]:
    return {"method": method, "href": href, "rel": rel}


def definition(row: DefinitionRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "category": "http://bpmn.io/schema/bpmn",
        "description": None,
        "name": row.name,
        "version": row.version,
        "resource": row.file_name,
        "deploymentId": row.deployment_id,
        "diagram": None,
        "suspended": False,
        "tenantId": None,
        "versionTag": None,
        "historyTimeToLive": None,
        "startableInTasklist": True,
    }


def decision(row: DecisionRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "category": "http://camunda.org/schema/1.0/dmn",
        "name": row.name,
        "version": row.version,
        "resource": row.file_name,
        "deploymentId": row.deployment_id,
        "decisionRequirementsDefinitionId": None,
        "decisionRequirementsDefinitionKey": None,
        "tenantId": None,
        "versionTag": None,
        "historyTimeToLive": None,
    }


def deployment(
    deployment_id: str,
    name: str | None,
    source: str | None,
    at: datetime,
    definitions: list[DefinitionRecord] | None = None,
    base_url: str = "",
    decisions: list[DecisionRecord] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "links": [link("GET", f"{base_url}/deployment/{deployment_id}", "self")] if base_url else [],
        "id": deployment_id,
        "name": name,
        "source": source,
        "deploymentTime": optional_date(at),
        "tenantId": None,
    }
    if definitions is not None:
        body["deployedProcessDefinitions"] = {d.id: definition(d) for d in definitions} or None
        body["deployedCaseDefinitions"] = None
        body["deployedDecisionDefinitions"] = {d.id: decision(d) for d in decisions or []} or None
        body["deployedDecisionRequirementsDefinitions"] = None
    return body


def instance(row: InstanceRecord, base_url: str = "") -> dict[str, Any]:
    return {
        "links": [link("GET", f"{base_url}/process-instance/{row.id}", "self")],
        "id": row.id,
        "definitionId": row.definition_id,
        "definitionKey": row.definition_key,
        "businessKey": row.business_key,
        "caseInstanceId": None,
        "ended": row.state not in ("running", "suspended"),
        "suspended": row.state == "suspended",
        "tenantId": None,
    }


def task(row: TaskRecord, description: str | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "assignee": row.assignee,
        "owner": row.owner,
        "created": optional_date(row.created_at),
        "lastUpdated": optional_date(row.claimed_at or row.created_at),
        "due": optional_date(row.due_at),
        "followUp": None,
        "delegationState": row.delegation_state.upper() if row.delegation_state else None,
        "description": description,
        "executionId": row.instance_id,
        "parentTaskId": None,
        "priority": 50,
        "processDefinitionId": row.definition_id,
        "processInstanceId": row.instance_id,
        "taskDefinitionKey": row.element_id,
        "caseExecutionId": None,
        "caseInstanceId": None,
        "caseDefinitionId": None,
        "suspended": False,
        "formKey": None,
        "camundaFormRef": None,
        "tenantId": None,
    }


def locked_task(locked: LockedTask, variables: list[str] | None, definition_key: str) -> dict[str, Any]:
    body = external_task(locked.task, definition_key, locked.instance.business_key)
    body["variables"] = to_typed(locked.variables, variables)
    body["extensionProperties"] = {}
    return body


def external_task(row: ExternalTaskRecord, definition_key: str, business_key: str | None = None) -> dict[str, Any]:
    return {
        "activityId": row.element_id,
        "activityInstanceId": row.id,
        "errorMessage": row.error_message,
        "errorDetails": row.error_details,
        "executionId": row.instance_id,
        "id": row.id,
        "lockExpirationTime": optional_date(row.lock_expires_at),
        "processDefinitionId": row.definition_id,
        "processDefinitionKey": definition_key,
        "processDefinitionVersionTag": None,
        "processInstanceId": row.instance_id,
        "retries": row.retries,
        "suspended": False,
        "workerId": row.worker_id,
        "topicName": row.topic,
        "tenantId": None,
        "priority": 0,
        "businessKey": business_key,
    }


def historic_instance(row: InstanceRecord, name: str | None) -> dict[str, Any]:
    duration = int((row.ended_at - row.started_at).total_seconds() * 1000) if row.ended_at else None
    return {
        "id": row.id,
        "businessKey": row.business_key,
        "processDefinitionId": row.definition_id,
        "processDefinitionKey": row.definition_key,
        "processDefinitionName": name,
        "processDefinitionVersion": row.definition_version,
        "startTime": optional_date(row.started_at),
        "endTime": optional_date(row.ended_at),
        "removalTime": None,
        "durationInMillis": duration,
        "startUserId": row.started_by,
        "startActivityId": None,
        "deleteReason": row.end_reason,
        "rootProcessInstanceId": row.id,
        "superProcessInstanceId": None,
        "superCaseInstanceId": None,
        "caseInstanceId": None,
        "tenantId": None,
        "state": HISTORY_STATES.get(row.state, row.state.upper()),
    }


def historic_task(row: TaskRecord) -> dict[str, Any]:
    ended = row.completed_at
    return {
        "id": row.id,
        "processDefinitionKey": row.definition_key,
        "processDefinitionId": row.definition_id,
        "processInstanceId": row.instance_id,
        "executionId": row.instance_id,
        "caseDefinitionKey": None,
        "caseDefinitionId": None,
        "caseInstanceId": None,
        "caseExecutionId": None,
        "activityInstanceId": row.id,
        "name": row.name,
        "description": None,
        "deleteReason": {"completed": "completed", "cancelled": "deleted"}.get(row.state),
        "owner": row.owner,
        "assignee": row.assignee or row.completed_by,
        "startTime": optional_date(row.created_at),
        "endTime": optional_date(ended),
        "duration": int((ended - row.created_at).total_seconds() * 1000) if ended else None,
        "taskDefinitionKey": row.element_id,
        "priority": 50,
        "due": optional_date(row.due_at),
        "parentTaskId": None,
        "followUp": None,
        "tenantId": None,
        "removalTime": None,
        "rootProcessInstanceId": row.instance_id,
        "taskState": {"open": "Created", "completed": "Completed", "cancelled": "Deleted"}.get(row.state),
    }


def historic_variable(row: InstanceRecord, name: str, value: Any) -> dict[str, Any]:
    return {
        "id": f"{row.id}:{name}",
        "name": name,
        **to_typed({name: value})[name],
        "processDefinitionKey": row.definition_key,
        "processDefinitionId": row.definition_id,
        "processInstanceId": row.id,
        "executionId": row.id,
        "activityInstanceId": row.id,
        "caseDefinitionKey": None,
        "caseDefinitionId": None,
        "caseInstanceId": None,
        "caseExecutionId": None,
        "taskId": None,
        "tenantId": None,
        "errorMessage": None,
        "state": "CREATED",
        "createTime": optional_date(row.started_at),
        "removalTime": None,
        "rootProcessInstanceId": row.id,
    }


def user_operation(event: AuditRecord, row: InstanceRecord) -> dict[str, Any]:
    operation, entity = OPERATIONS.get(
        event.type, ("".join(p.title() for p in event.type.split("_")), "ProcessInstance")
    )
    return {
        "id": f"{row.id}:{event.seq}",
        "deploymentId": None,
        "processDefinitionId": row.definition_id,
        "processDefinitionKey": row.definition_key,
        "processInstanceId": row.id,
        "executionId": row.id,
        "caseDefinitionId": None,
        "caseInstanceId": None,
        "caseExecutionId": None,
        "taskId": event.task_id if entity == "Task" else None,
        "externalTaskId": event.task_id if entity == "ExternalTask" else None,
        "jobId": None,
        "jobDefinitionId": None,
        "batchId": None,
        "userId": event.actor,
        "timestamp": optional_date(event.at),
        "operationId": f"{row.id}:{event.seq}",
        "operationType": operation,
        "entityType": entity,
        "property": None,
        "orgValue": None,
        "newValue": None,
        "annotation": None,
        "category": "TaskWorker" if entity == "Task" else "Operator",
        "rootProcessInstanceId": row.id,
    }


def attachment(document: DocumentView, base_url: str) -> dict[str, Any]:
    """Camunda's AttachmentDto of a document attached to a task (its name: the title, else the file's name)."""
    return {
        "links": [link("GET", f"{base_url}/task/{document.task_id}/attachment/{document.id}", "self")],
        "id": document.id,
        "name": document.title or document.filename,
        "description": document.description,
        "taskId": document.task_id,
        "type": document.media_type,
        "url": None,
        "createTime": optional_date(document.created_at),
        "removalTime": None,
        "rootProcessInstanceId": document.instance_id,
    }
