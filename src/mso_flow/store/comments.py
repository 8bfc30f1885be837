"""Task comments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mso_flow.store.models import HumanTask, TaskComment
from mso_flow.store.paging import page


def add(session: Session, task: HumanTask, author: str, at: datetime, text: str) -> TaskComment:
    comment = TaskComment(task_id=task.id, instance_id=task.instance_id, author=author, at=at, text=text)
    session.add(comment)
    session.flush()
    return comment


def listing(session: Session, task_id: str, offset: int, limit: int) -> tuple[list[TaskComment], int]:
    return page(
        session, select(TaskComment).where(TaskComment.task_id == task_id).order_by(TaskComment.id), offset, limit
    )
