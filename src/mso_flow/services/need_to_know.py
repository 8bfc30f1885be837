"""Need-to-know reads: what of an instance's data (variables, audit event data) a caller is shown.

The decision is `policy.may_read_instance_data`; this module gathers its facts — the tasks at hand first (a
claim, a completion or a task page usually decide it alone), all the instance's tasks only when those do not —
and masks: a view the caller may not read keeps its shape with the variables left out (`variables_visible`
false); a delegate holding no candidate role of their task gets that task's own form fields only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from mso_flow.engine.model import FormField
from mso_flow.services import policy
from mso_flow.services.context import Caller
from mso_flow.services.errors import Forbidden
from mso_flow.store import tasks as tasks_store
from mso_flow.store.models import AuditEvent, HumanTask, ProcessInstance


def forbidden() -> Forbidden:
    return Forbidden(
        "instance_data_forbidden",
        "ไม่มีสิทธิ์ดูข้อมูลของเรื่องนี้ (only the people of this instance, its starter, an auditor or an admin may read its data)",
    )


def data_visible(
    session: Session, caller: Caller, instance: ProcessInstance, at_hand: Iterable[HumanTask] = ()
) -> bool:
    """Whether the caller reads the instance's data."""
    if policy.may_read_instance_data(caller, instance, at_hand):
        return True
    return policy.may_read_instance_data(caller, instance, tasks_store.of_instance(session, instance.id))


def require_data(
    session: Session, caller: Caller, instance: ProcessInstance, at_hand: Iterable[HumanTask] = ()
) -> None:
    """403 `instance_data_forbidden` unless the caller reads the instance's data."""
    if not data_visible(session, caller, instance, at_hand):
        raise forbidden()


def task_variables(
    session: Session, caller: Caller, task: HumanTask, form: tuple[FormField, ...], instance: ProcessInstance
) -> tuple[dict[str, Any], bool]:
    """(variables shown with the task, whether they are all the instance's)."""
    if data_visible(session, caller, instance, [task]):
        return dict(instance.variables), True
    if policy.is_delegate_only(caller, task):
        fields = {f.id for f in form}
        return {k: v for k, v in instance.variables.items() if k in fields}, False
    return {}, False


def masked(event: AuditEvent) -> AuditEvent:
    """An unattached copy of an audit event without its data (who, what, when and the hashes remain)."""
    columns = {c.key: getattr(event, c.key) for c in inspect(AuditEvent).column_attrs}
    return AuditEvent(**columns | {"data": {}})
