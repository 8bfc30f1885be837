"""Who is told what: the recipients of each kind of notification and the words it is told in.

The recipients are the active people for whom the predicate of the kind in `services/policy.py` says yes, judged
on the task as it is when the event is fanned out (a task closed meanwhile tells nobody), never the person whose
own act caused the event (who completed the step before, who assigned). What a notification says is limited to
names of steps and processes, the business key and dates (`About`): never a variable of the case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from mso_flow.domain import NotificationKind
from mso_flow.services import policy
from mso_flow.services.platform.context import Caller
from mso_flow.store.models import HumanTask
from mso_flow.store.notifications import NotificationEvent

Kind = NotificationKind
WORDS = {
    Kind.TASK_CREATED: "งานใหม่",
    Kind.TASK_ASSIGNED: "งานที่มอบหมายให้คุณ",
    Kind.TASK_DUE_SOON: "งานใกล้ครบกำหนด",
    Kind.TASK_OVERDUE: "งานเกินกำหนด",
    Kind.INCIDENT_OPENED: "เหตุขัดข้องของกระบวนงาน",
    Kind.DIGEST: "สรุปการแจ้งเตือนประจำวัน",
}


@dataclass(frozen=True)
class Person:
    """An active user as notifications see them: who they are, their address and how they want mail."""

    caller: Caller
    email: str | None
    mode: str  # EmailMode


@dataclass(frozen=True)
class About:
    """Everything a notification may say about its event."""

    kind: str
    instance_id: str | None
    task_id: str | None
    step: str | None
    process_name: str | None
    business_key: str | None
    due_at: datetime | None
    task: HumanTask | None = None
    deployed_by: str | None = None

    @property
    def title(self) -> str:
        """`งานใหม่: <step>` (the kind's words and the step, or the process for an incident at a start)."""
        return f"{WORDS[Kind(self.kind)]}: {self.step or self.process_name or '-'}"


def recipients(event: NotificationEvent, about: About, people: Iterable[Person]) -> list[Person]:
    """The people told of `event`, in the order given."""
    told = _rule(event, about)
    return [p for p in people if p.caller.username != event.actor and told(p.caller)]


def _rule(event: NotificationEvent, about: About) -> Callable[[Caller], bool]:
    if event.kind == Kind.INCIDENT_OPENED:
        return lambda person: policy.is_told_of_incident(person, about.deployed_by)
    task = about.task
    if task is None:
        return lambda person: False
    rules: dict[str, Callable[[Caller], bool]] = {
        Kind.TASK_CREATED: lambda person: policy.is_told_of_new_task(person, task),
        Kind.TASK_ASSIGNED: lambda person: policy.is_told_of_assignment(person, task, event.target),
        Kind.TASK_DUE_SOON: lambda person: policy.is_told_due_soon(person, task),
        Kind.TASK_OVERDUE: lambda person: policy.is_told_overdue(person, task),
    }
    return rules.get(event.kind, lambda person: False)
