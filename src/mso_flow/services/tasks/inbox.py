"""A person's inbox as the web app shows it: the open tasks they may work (held by them, or unclaimed in one of
their roles), soonest due first, each with its process's name and its instance's business key, optionally one
role only and matching a search text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.services.tasks.candidates import roles_of
from mso_flow.store import instances as instances_store
from mso_flow.store.models import HumanTask
from mso_flow.store.tasks import TaskFilter

MAX_ITEMS = 500


@dataclass(frozen=True)
class InboxItem:
    task: HumanTask
    process_name: str
    business_key: str | None
    overdue: bool


def inbox(services: Services, caller: Caller, role: str | None = None, q: str | None = None) -> list[InboxItem]:
    """The caller's workable open tasks (at most `MAX_ITEMS`), filtered by role and by `q` in the task's name,
    the process's name or the business key."""
    workable_by = (caller.username, tuple(sorted(roles_of(caller))))  # roles and personal role (candidateUsers)
    found, _ = tasks.listing(
        services,
        caller,
        TaskFilter(candidate_role=role or None, sort="due_at", workable_by=workable_by),
        0,
        MAX_ITEMS,
    )
    now = services.clock()
    with services.db.read() as session:
        keys = instances_store.business_keys(session, sorted({t.instance_id for t in found}))
        names = {i: services.definitions.definition(session, i).model.name for i in {t.definition_id for t in found}}
    items = [InboxItem(t, names[t.definition_id], keys.get(t.instance_id), _late(t.due_at, now)) for t in found]
    needle = (q or "").strip()
    if needle:
        items = [
            i for i in items if any(needle in (text or "") for text in (i.task.name, i.process_name, i.business_key))
        ]
    return items


def _late(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at < now
