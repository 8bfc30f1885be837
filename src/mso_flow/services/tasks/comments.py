"""Comments on tasks: Thai text in the order written, each also an event of the instance's audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mso_flow.services import policy
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden
from mso_flow.services.platform.unit_of_work import InstanceCommand
from mso_flow.services.privacy import need_to_know
from mso_flow.services.tasks.human_tasks import transition
from mso_flow.services.tasks.queries import not_found
from mso_flow.store import comments as store
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as tasks_store
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import HumanTask, TaskComment


@dataclass(frozen=True, slots=True)
class CommentRecord:
    """A comment as the faces show it."""

    id: int
    task_id: str
    author: str
    at: datetime
    text: str


def comment_record(row: TaskComment) -> CommentRecord:
    return CommentRecord(row.id, row.task_id, row.author, row.at, row.text)


def _forbidden() -> Forbidden:
    return Forbidden("task_forbidden", "ไม่มีสิทธิ์ในงานนี้ (no candidate role for this task)")


def add(services: Services, caller: Caller, task_id: str, text: str) -> CommentRecord:
    """Append a comment by the caller, who must be able to see the task."""
    added: list[CommentRecord] = []

    def change(command: InstanceCommand, task: HumanTask) -> list[NewEvent]:
        if not policy.may_comment(caller, task):
            raise _forbidden()
        comment = store.add(command.session, task, caller.username, command.now, text)
        added.append(comment_record(comment))
        data = {"comment_id": comment.id, "text": text}
        return [NewEvent("task_commented", caller.username, task.id, task.element_id, data)]

    transition(services, caller, task_id, change, "task.comment")
    return added[0]


def listing(
    services: Services, caller: Caller, task_id: str, offset: int, limit: int
) -> tuple[list[CommentRecord], int]:
    """A task's comments, oldest first: the case's data, so for those who read it (403 `instance_data_forbidden`)."""
    with services.db.read() as session:
        task = tasks_store.get(session, task_id)
        if task is None:
            raise not_found(task_id)
        if not policy.may_view_task(caller, task):
            raise _forbidden()
        instance = instances_store.get(session, task.instance_id)
        assert instance is not None  # a task's instance is never deleted
        need_to_know.require_data(session, caller, instance, [task])
        rows, total = store.listing(session, task_id, offset, limit)
        return [comment_record(c) for c in rows], total
