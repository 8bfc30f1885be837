"""Record what happened to an instance: the audit trail (its head signed), and in the same transaction the webhook
outbox (for the subscriptions whose process and unit filters match, with or without variables) and the
notification outbox (`services/notifications/outbox.py`); count instances started and completed (on commit) and
log each event with the instance id, never its data. Whether a webhook subscriber is shown the data is decided when
it is delivered (`services/integrations/webhook_delivery.py`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from mso_flow.services.notifications import outbox
from mso_flow.services.platform import anchoring
from mso_flow.services.platform.context import Services
from mso_flow.services.privacy import personal_data
from mso_flow.store import audit as audit_store
from mso_flow.store import webhooks as webhooks_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import HumanTask, ProcessInstance, Webhook
from mso_flow.telemetry import metrics

log = logging.getLogger("mso_flow.engine")
COUNTED = {"instance_started": metrics.INSTANCES_STARTED, "instance_completed": metrics.INSTANCES_COMPLETED}
# a line per instance-level event at INFO; task-level events at DEBUG (several per request)
LOGGED_AT_INFO = frozenset(
    {
        "instance_started",
        "instance_completed",
        "instance_cancelled",
        "instance_migrated",
        "timer_fired",
        "message_correlated",
        "external_task_failed",
    }
)

# audit event type -> webhook event name
WEBHOOK_EVENTS = {
    "instance_started": "instance.started",
    "instance_completed": "instance.completed",
    "instance_cancelled": "instance.cancelled",
    "instance_migrated": "instance.migrated",
    "task_created": "task.created",
    "task_completed": "task.completed",
    "task_cancelled": "task.cancelled",
    "task_claimed": "task.claimed",
    "task_assigned": "task.assigned",
    "message_correlated": "message.correlated",
    "timer_fired": "timer.fired",
    "external_task_created": "external_task.created",
    "external_task_completed": "external_task.completed",
    "external_task_failed": "external_task.failed",
    "incident_created": "incident.created",
    "document_added": "document.added",  # metadata only: id, version, SHA-256, size, type, field
    "document_version_added": "document.version_added",
    "document_withdrawn": "document.withdrawn",
}


def record(
    services: Services,
    session: Session,
    instance: ProcessInstance,
    events: list[NewEvent],
    at: datetime,
    tasks: Sequence[HumanTask] = (),
) -> None:
    """Append `events` to the instance's audit chain, queue a delivery for every subscribed webhook (protected
    values sealed in both: `services/privacy/personal_data.py`) and the events that may concern people for their
    notifications (`tasks`: the tasks the command created, `services/notifications/outbox.py`)."""
    model = services.definitions.definition(session, instance.definition_id).model
    plain = events
    if model.confidential:
        events = personal_data.seal_events(services, session, instance, model, events)
    first_seq = instance.audit_seq + 1
    audit_store.append(session, instance, events, at)
    outbox.write(services, session, instance, [(e, first_seq + i) for i, e in enumerate(plain)], at, tasks)
    _observe(session, instance, events)
    if events:
        instance.audit_signature = anchoring.signer(services.settings).sign(
            instance.id, instance.audit_seq, instance.audit_head
        )
    published = [(WEBHOOK_EVENTS[e.type], e, first_seq + i) for i, e in enumerate(events) if e.type in WEBHOOK_EVENTS]
    if not published:
        return
    hooks = [h for h in services.subscriptions.get(session, at) if _concerns(services, session, h, instance)]
    rows = []
    for name, event, seq in published:
        bodies: dict[tuple[bool, bool], str] = {}
        for hook in hooks:
            if name in hook.events or "*" in hook.events:
                kind = (hook.include_variables, hook.personal_data)
                if kind not in bodies:
                    bodies[kind] = _payload(name, event, instance, at, seq, *kind)
                rows.append((hook.id, name, bodies[kind], instance.id, seq))
    webhooks_store.enqueue(session, rows, at)


def _observe(session: Session, instance: ProcessInstance, events: list[NewEvent]) -> None:
    for event in events:
        if event.type in COUNTED:
            metrics.count_on_commit(session, COUNTED[event.type], instance.definition_key)
        level = logging.INFO if event.type in LOGGED_AT_INFO else logging.DEBUG
        if log.isEnabledFor(level):
            log.log(
                level,
                "%s %s",
                event.type,
                instance.id,
                extra={
                    "event": event.type,
                    "instance_id": instance.id,
                    "process_key": instance.definition_key,
                    "task_id": event.task_id,
                    "element_id": event.element_id,
                    "actor": event.actor,
                },
            )


def _concerns(services: Services, session: Session, hook: Webhook, instance: ProcessInstance) -> bool:
    """Whether the instance is of a process and unit the subscription asked for (None: any)."""
    if hook.process_keys is not None and instance.definition_key not in hook.process_keys:
        return False
    if hook.units is not None:
        properties = services.definitions.definition(session, instance.definition_id).model.properties
        if not {properties.get("unit"), properties.get("unit_name")} & set(hook.units):
            return False
    return True


def _payload(
    name: str,
    event: NewEvent,
    instance: ProcessInstance,
    at: datetime,
    seq: int,
    with_variables: bool,
    personal: bool,
) -> str:
    """The delivery's body; sealed values masked unless the subscription is granted personal data (then they stay
    sealed in the outbox and are opened when delivered)."""
    data = dict(event.data or {})
    if not with_variables:
        data.pop("variables", None)
    elif not personal:
        data = personal_data.masked_event_data(data)
    return json.dumps(
        {
            "event": name,
            "at": at.isoformat(),
            "actor": event.actor,
            "process_instance_id": instance.id,
            "seq": seq,
            "definition_key": instance.definition_key,
            "definition_version": instance.definition_version,
            "business_key": instance.business_key,
            "task_id": event.task_id,
            "element_id": event.element_id,
            "data": data,
            "data_visible": True,
        },
        ensure_ascii=False,
        default=str,
    )


def without_data(payload: str) -> str:
    """A delivery's body for a subscriber whose owner does not read the instance's data: who, what and when remain,
    `data` is empty and `data_visible` false (as the API shows the audit trail to whoever sees the instance)."""
    body = json.loads(payload)
    return json.dumps(body | {"data": {}, "data_visible": False}, ensure_ascii=False)
