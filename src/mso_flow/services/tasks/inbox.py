"""A person's inbox as the web app shows it: the open tasks they may work (held by them, or unassigned in one of
their roles), soonest due first, each with its process's name and its instance's business key, optionally one
role only and matching a search text; one page at a time, paged, filtered and counted in the database by the API's
task query (`store/tasks.py`), so it reads the same few rows whether a role has ten tasks or a million."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mso_flow.services import policy
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.tasks import queries as tasks
from mso_flow.services.tasks.candidates import roles_of
from mso_flow.services.tasks.records import TaskRecord
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as tasks_store
from mso_flow.store.tasks import TaskFilter

PAGE_SIZE = 50
MAX_SEARCH = 200


@dataclass(frozen=True)
class InboxItem:
    task: TaskRecord
    process_name: str
    business_key: str | None
    overdue: bool


@dataclass(frozen=True)
class Window:
    """Where a page of a long list is: `total` items, this page from `offset`, `limit` a page."""

    total: int
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None


@dataclass(frozen=True)
class InboxPage(Window):
    items: list[InboxItem]


def inbox(
    services: Services,
    caller: Caller,
    role: str | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> InboxPage:
    """One page of the caller's workable open tasks, filtered by role (403 for a role they do not hold) and by `q`
    in the task's name, the process's name or the business key, with the total of all pages."""
    workable_by = (caller.username, tuple(sorted(roles_of(caller))))  # roles and personal role (candidateUsers)
    needle = (q or "").strip()[:MAX_SEARCH] or None
    f = TaskFilter(candidate_role=role or None, sort="due_at", workable_by=workable_by, text=needle)
    found, total = tasks.listing(services, caller, f, max(0, offset), limit)
    now = services.clock()
    with services.db.read() as session:
        keys = instances_store.business_keys(session, sorted({t.instance_id for t in found}))
        names = {i: services.definitions.definition(session, i).model.name for i in {t.definition_id for t in found}}
    items = [InboxItem(t, names[t.definition_id], keys.get(t.instance_id), _late(t.due_at, now)) for t in found]
    return InboxPage(total, max(0, offset), limit, items)


def counts(services: Services, caller: Caller) -> dict[str, tuple[int, int]]:
    """(open, overdue) tasks per staff role of the caller that the inbox lists under the role: unassigned or held
    by the caller (tasks others hold are theirs)."""
    with services.db.read() as session:
        return tasks_store.workable_counts_by_role(
            session, policy.staff_roles(caller), caller.username, services.clock()
        )


def _late(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at < now
