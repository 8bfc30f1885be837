"""Request bodies of `/engine-rest` in Camunda's shapes. Unknown fields are ignored, as Camunda's clients send
options MSO Flow does not need (tenant ids, sorting, deserializeValues…)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Variables = dict[str, dict[str, Any]]


class CamundaBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class StartRequest(CamundaBody):
    variables: Variables | None = None
    business_key: str | None = Field(default=None, alias="businessKey", max_length=200)
    with_variables_in_return: bool = Field(default=False, alias="withVariablesInReturn")


class CompleteRequest(CamundaBody):
    variables: Variables | None = None
    with_variables_in_return: bool = Field(default=False, alias="withVariablesInReturn")


class UserIdRequest(CamundaBody):
    user_id: str | None = Field(default=None, alias="userId", max_length=100)


class ResolveRequest(CamundaBody):
    variables: Variables | None = None


class VariableValue(CamundaBody):
    value: Any = None
    type: str | None = None
    value_info: dict[str, Any] | None = Field(default=None, alias="valueInfo")


class ModifyVariables(CamundaBody):
    modifications: Variables | None = None
    deletions: list[str] | None = None


class MessageRequest(CamundaBody):
    message_name: str = Field(alias="messageName", min_length=1, max_length=200)
    business_key: str | None = Field(default=None, alias="businessKey", max_length=200)
    process_instance_id: str | None = Field(default=None, alias="processInstanceId", max_length=36)
    process_variables: Variables | None = Field(default=None, alias="processVariables")
    result_enabled: bool = Field(default=False, alias="resultEnabled")
    variables_in_result_enabled: bool = Field(default=False, alias="variablesInResultEnabled")


class FetchTopic(CamundaBody):
    topic_name: str = Field(alias="topicName", min_length=1, max_length=200)
    lock_duration: int = Field(alias="lockDuration", gt=0, le=7 * 24 * 3600 * 1000)
    variables: list[str] | None = None


class FetchAndLockRequest(CamundaBody):
    worker_id: str = Field(alias="workerId", min_length=1, max_length=200)
    max_tasks: int = Field(default=1, alias="maxTasks", ge=1, le=100)
    use_priority: bool = Field(default=False, alias="usePriority")
    async_response_timeout: int | None = Field(default=None, alias="asyncResponseTimeout", ge=0, le=1_800_000)
    topics: list[FetchTopic] = Field(min_length=1, max_length=100)


class ExternalCompleteRequest(CamundaBody):
    worker_id: str = Field(alias="workerId", min_length=1, max_length=200)
    variables: Variables | None = None
    local_variables: Variables | None = Field(default=None, alias="localVariables")


class FailureRequest(CamundaBody):
    worker_id: str = Field(alias="workerId", min_length=1, max_length=200)
    error_message: str | None = Field(default=None, alias="errorMessage", max_length=10_000)
    error_details: str | None = Field(default=None, alias="errorDetails", max_length=100_000)
    retries: int = Field(default=0, ge=0, le=1000)
    retry_timeout: int = Field(default=0, alias="retryTimeout", ge=0, le=30 * 24 * 3600 * 1000)


class BpmnErrorRequest(CamundaBody):
    worker_id: str = Field(alias="workerId", min_length=1, max_length=200)
    error_code: str = Field(alias="errorCode", min_length=1, max_length=200)
    error_message: str | None = Field(default=None, alias="errorMessage", max_length=10_000)
    variables: Variables | None = None


class ExtendLockRequest(CamundaBody):
    worker_id: str = Field(alias="workerId", min_length=1, max_length=200)
    new_duration: int = Field(alias="newDuration", gt=0, le=7 * 24 * 3600 * 1000)
