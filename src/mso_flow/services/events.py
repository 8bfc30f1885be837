"""Record what happened to an instance: the audit trail, and the webhook outbox in the same transaction."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from mso_flow.services.context import Services
from mso_flow.store import audit as audit_store
from mso_flow.store import webhooks as webhooks_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import ProcessInstance

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
}


def record(
    services: Services, session: Session, instance: ProcessInstance, events: list[NewEvent], at: datetime
) -> None:
    """Append `events` to the instance's audit chain and queue a delivery for every subscribed webhook."""
    first_seq = instance.audit_seq + 1
    audit_store.append(session, instance, events, at)
    published = [(WEBHOOK_EVENTS[e.type], e, first_seq + i) for i, e in enumerate(events) if e.type in WEBHOOK_EVENTS]
    if not published:
        return
    hooks = services.subscriptions.get(session, at)
    rows = []
    for name, event, seq in published:
        body = None
        for hook in hooks:
            if name in hook.events or "*" in hook.events:
                body = body or _payload(name, event, instance, at, seq)
                rows.append((hook.id, name, body, instance.id, seq))
    webhooks_store.enqueue(session, rows, at)


def _payload(name: str, event: NewEvent, instance: ProcessInstance, at: datetime, seq: int) -> str:
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
            "data": event.data or {},
        },
        ensure_ascii=False,
        default=str,
    )
