"""The background fan-out: outbox rows become each person's notifications and the mails that carry them.

A batch of outbox rows is taken under `FOR UPDATE SKIP LOCKED` (other processes skip them), the facts of their
tasks, instances and incidents read in a few statements, the active people read once, and every notification and
mail written in the same transaction that marks the rows done. So an event is fanned out once, whatever crashes
or replicas: a transaction that does not commit leaves its rows to the next poll, and the unique keys on (event,
person) and (event, person, channel) refuse a second fan-out outright.

Mail is queued only when a relay is configured (`MSO_FLOW_SMTP_URL`), for people with an address: one mail now
(`immediate`), or a place in the next daily digest (`digest`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from mso_flow.domain import EmailMode, NotificationKind
from mso_flow.services.notifications.rules import About, Person, recipients
from mso_flow.services.platform.context import Caller, Services
from mso_flow.store import notifications as store
from mso_flow.store import tasks as tasks_store
from mso_flow.store import users as users_store
from mso_flow.store.notifications import NotificationEvent

BATCH = 200


def fan_out(services: Services, limit: int = BATCH) -> int:
    """Fan out up to `limit` outbox rows; return how many were taken."""
    mail_on = services.settings.smtp_url is not None
    with services.db.write() as session:
        events = store.pending_events(session, limit)
        if not events:
            return 0
        now = services.clock()
        facts = _facts(services, session, events)
        people = [
            Person(Caller(u.username, frozenset(u.roles)), u.email, u.email_notifications)
            for u in users_store.active(session)
        ]
        notes: list[dict[str, Any]] = []
        mails: list[dict[str, Any]] = []
        for event in events:
            about = facts.get(event.id)
            if about is None:
                continue
            for person in recipients(event, about, people):
                mode = person.mode if mail_on and person.email else EmailMode.OFF
                note = _notification(event, about, person.caller.username, mode)
                notes.append(note)
                if mode == EmailMode.IMMEDIATE:
                    mails.append(store.new_mail(note["username"], note["kind"], now, event.id, note["id"]))
        store.add(session, notes, mails)
        store.fanned_out(session, [e.id for e in events], now)
        return len(events)


def _facts(services: Services, session: Session, events: list[NotificationEvent]) -> dict[str, About]:
    """What each event's notifications may say (events whose task or incident is gone say nothing)."""
    tasks = {t.id: t for t in tasks_store.by_ids(session, [e.task_id for e in events if e.task_id])}
    incidents = store.incidents_by_ids(session, [e.incident_id for e in events if not e.task_id])
    keys = store.business_keys(
        session, [t.instance_id for t in tasks.values()] + [i.instance_id for i in incidents.values()]
    )
    deployers = store.deployers(session, {i.definition_id for i in incidents.values()})
    facts: dict[str, About] = {}
    for event in events:
        if event.task_id:
            task = tasks.get(event.task_id)
            if task is None:
                continue
            model = services.definitions.definition(session, task.definition_id).model
            facts[event.id] = About(
                event.kind, task.instance_id, task.id, task.name, model.name, keys.get(task.instance_id), task.due_at,
                task=task,
            )  # fmt: skip
        elif event.incident_id in incidents:
            incident = incidents[event.incident_id]
            model = services.definitions.definition(session, incident.definition_id).model
            step = incident.element_name or incident.element_id
            facts[event.id] = About(
                NotificationKind.INCIDENT_OPENED,
                incident.instance_id,
                None,
                step,
                model.name,
                keys.get(incident.instance_id or ""),
                None,
                deployed_by=deployers.get(incident.definition_id),
            )
    return facts


def _notification(event: NotificationEvent, about: About, username: str, mode: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "event_id": event.id,
        "username": username,
        "kind": about.kind,
        "task_id": about.task_id,
        "instance_id": about.instance_id,
        "title": about.title,
        "step": about.step,
        "process_name": about.process_name,
        "business_key": about.business_key,
        "due_at": about.due_at,
        "created_at": event.created_at,
        "read_at": None,
        "email": mode if mode in (EmailMode.IMMEDIATE, EmailMode.DIGEST) else None,
        "digest_mail_id": None,
    }
