"""Messages, webhooks and external tasks: what other systems of the ministry send and receive."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, Field

from mso_flow.schemas.common import Request


class MessageRequest(Request):
    name: str = Field(min_length=1, max_length=200, description="the BPMN message name")
    business_key: str | None = Field(default=None, max_length=200, description="correlate by business key")
    process_instance_id: str | None = Field(default=None, max_length=64, description="or by instance id")
    variables: dict[str, Any] = Field(default_factory=dict, description="become variables of the instance")


class MessageResult(BaseModel):
    instance_id: str
    started: bool = Field(description="extension: true when the message started a new instance")


class WebhookRequest(Request):
    url: AnyHttpUrl
    events: list[str] = Field(min_length=1, max_length=50, description='event names, or ["*"] for every event')
    secret: str = Field(min_length=16, max_length=200, description="HMAC-SHA256 key of X-MSO-Signature")
    process_keys: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=200, description="only instances of these process keys (default: every process)"
    )
    units: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=100, description="only processes of these units, by code or Thai name (default: all)"
    )
    include_variables: bool = Field(default=True, description="false: payloads leave out `data.variables`")


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_by: str
    created_at: datetime
    process_keys: list[str] | None = None
    units: list[str] | None = None
    include_variables: bool = True
    personal_data: bool = Field(
        default=False, description="granted personal values unmasked by a privacy officer (else they arrive null)"
    )
    paused_until: datetime | None = Field(default=None, description="the circuit breaker holds deliveries until")


class DeliveryOut(BaseModel):
    """Extension: one outbox entry of a webhook (`GET /webhooks/{id}/deliveries`)."""

    id: str = Field(description="the X-MSO-Delivery header, stable across retries")
    event: str
    state: str = Field(description="pending | delivered | failed")
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class TopicRequest(Request):
    name: str = Field(min_length=1, max_length=200)
    lock_duration_ms: int = Field(ge=1, le=24 * 3600 * 1000)


class FetchAndLockRequest(Request):
    worker_id: str = Field(min_length=1, max_length=200)
    topics: list[TopicRequest] = Field(min_length=1, max_length=50)
    max_tasks: int = Field(default=10, ge=1, le=100)


class ExternalTaskOut(BaseModel):
    id: str
    topic: str
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None
    error_message: str | None
    element_id: str
    process_instance_id: str
    definition_key: str
    business_key: str | None
    variables: dict[str, Any]
    variables_visible: bool = Field(
        default=True, description="false: the worker's user does not read this instance's data, so none is shown"
    )


class ExternalCompleteRequest(Request):
    worker_id: str = Field(min_length=1, max_length=200)
    variables: dict[str, Any] = Field(default_factory=dict)


class ExternalFailureRequest(Request):
    worker_id: str = Field(min_length=1, max_length=200)
    error_message: str = Field(default="", max_length=4000)
    retries: int = Field(ge=0, le=1000, description="attempts left; 0 makes an incident no worker fetches")
    retry_timeout_ms: int = Field(default=0, ge=0, le=7 * 24 * 3600 * 1000)


class ExternalBpmnErrorRequest(Request):
    worker_id: str = Field(min_length=1, max_length=200)
    error_code: str = Field(min_length=1, max_length=200, description="matched against error boundary events")
    error_message: str | None = Field(default=None, max_length=4000)
    variables: dict[str, Any] = Field(default_factory=dict)


class ExternalBpmnErrorResult(BaseModel):
    caught: bool = Field(description="an error boundary event took the process on; false: the task is an incident")


class ExternalExtendLockRequest(Request):
    worker_id: str = Field(min_length=1, max_length=200)
    lock_duration_ms: int = Field(gt=0, le=7 * 24 * 3600 * 1000, description="new lock length from now")
