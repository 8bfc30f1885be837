"""Who holds a task, in the Thai a clerk reads: claimed by its holder, assigned by a head of section, delegated by
its owner, or nobody yet; and the confirmation shown after a change of holder (`?done=` on the task page)."""

from __future__ import annotations

from mso_flow.domain import DelegationState
from mso_flow.services.tasks.records import TaskRecord

DONE = {
    "claimed": "รับงานแล้ว",
    "unclaimed": "คืนงานแล้ว",
    "assigned": "มอบหมายงานให้ {assignee} แล้ว",
    "unassigned": "ยกเลิกการมอบหมายแล้ว งานกลับไปรอผู้รับ",
    "delegated": "ฝากงานให้ {assignee} ทำแทนแล้ว",
    "resolved": "ส่งงานคืน {assignee} แล้ว",
}


def holding(task: TaskRecord) -> str:
    """The task's holder as a phrase: "มอบหมายให้ … แล้ว" is not "รับงานแล้ว"."""
    if task.assignee is None:
        return "ยังไม่มีผู้รับ"
    if task.delegation_state == DelegationState.PENDING:
        return f"ฝากให้ {task.assignee} ทำแทน {task.owner}"
    if task.assigned_by:
        return f"มอบหมายให้ {task.assignee} แล้ว (โดย {task.assigned_by})"
    return f"{task.assignee} รับงานแล้ว"


def done_message(done: str, task: TaskRecord) -> str | None:
    """The confirmation of `done` (a key of `DONE`; anything else: none)."""
    text = DONE.get(done)
    return text.format(assignee=task.assignee or "-") if text else None
