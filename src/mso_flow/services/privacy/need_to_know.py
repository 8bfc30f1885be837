"""Need-to-know reads: what of an instance's data (variables, audit event data) a caller is shown.

The decision is `policy.may_read_instance_data`; this module gathers its facts — the tasks at hand first (a
claim, a completion or a task page usually decide it alone), all the instance's tasks only when those do not —
and masks: a view the caller may not read keeps its shape with the variables left out (`variables_visible`
false); a delegate holding no candidate role of their task gets that task's own form fields only. Within what a
caller reads, personal values (and all values of a classified letter) are disclosed or masked by
`services/privacy/personal_data.py` (`disclose`, `task_disclosure`, `events_shown`), which logs what it opens.

A webhook subscriber is shown an instance's data as its owner would read it now (`subscribers_reading`).
Writes from outside (`require_writable`) ask the same facts: `policy.may_write_instance` (need to know plus
ownership), and `policy.may_write_personal_data` for the values the caller would read masked.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from mso_flow.domain import ReadPurpose
from mso_flow.engine.model import FormField
from mso_flow.services import policy
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Forbidden
from mso_flow.services.privacy import personal_data
from mso_flow.services.privacy.personal_data import Disclosure
from mso_flow.services.privacy.sealing import is_sealed
from mso_flow.store import instances as instances_store
from mso_flow.store import tasks as tasks_store
from mso_flow.store import users as users_store
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


def subscribers_reading(session: Session, pairs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of (username, instance id) pairs, those where the user, as they are now (active, their current roles),
    reads the instance's data: a webhook's deliveries obey its owner's need to know as the owner's reads do."""
    if not pairs:
        return set()
    users = users_store.by_usernames(session, sorted({name for name, _ in pairs}))
    callers = {u.username: Caller(u.username, frozenset(u.roles)) for u in users if u.active}
    instances = instances_store.heads(session, sorted({instance_id for _, instance_id in pairs}))
    known = [(name, i) for name, i in pairs if name in callers and i in instances]
    reading = {(name, i) for name, i in known if policy.may_read_instance_data(callers[name], instances[i], ())}
    rest = [pair for pair in known if pair not in reading]
    if rest:  # the instances' tasks decide the others (a subscriber who is also one of a case's people)
        tasks = tasks_store.of_instances(session, sorted({i for _, i in rest}))
        reading.update(
            pair
            for pair in rest
            if policy.may_read_instance_data(callers[pair[0]], instances[pair[1]], tasks.get(pair[1], []))
        )
    return reading


def require_data(
    session: Session, caller: Caller, instance: ProcessInstance, at_hand: Iterable[HumanTask] = ()
) -> None:
    """403 `instance_data_forbidden` unless the caller reads the instance's data."""
    if not data_visible(session, caller, instance, at_hand):
        raise forbidden()


def require_writable(
    services: Services, session: Session, caller: Caller, instance: ProcessInstance, names: Iterable[str] = ()
) -> None:
    """403 unless the caller may change the instance's variables from outside (`instance_write_forbidden`), and
    the values among `names` it reads masked (`personal_data_write_forbidden`)."""
    if not _given_tasks(session, instance, lambda tasks: policy.may_write_instance(caller, instance, tasks)):
        raise Forbidden(
            "instance_write_forbidden",
            "แก้ข้อมูลของเรื่องนี้ได้เฉพาะผู้ดูแลระบบหรือระบบที่เริ่มเรื่อง เจ้าหน้าที่แก้ผ่านแบบฟอร์มของงาน "
            "(only an admin or the integrator that started this instance changes its variables; staff use their "
            "tasks' forms)",
        )
    withheld = personal_data.withheld_names(services, session, instance, names)
    if withheld and not _given_tasks(session, instance, lambda tasks: policy.may_write_personal_data(caller, tasks)):
        raise Forbidden(
            "personal_data_write_forbidden",
            f"แก้ข้อมูลส่วนบุคคล {', '.join(sorted(withheld))} ไม่ได้ เพราะไม่มีสิทธิ์อ่าน "
            "(only those who read these personal values may overwrite them)",
            names=sorted(withheld),
        )


def _given_tasks(session: Session, instance: ProcessInstance, rule: Callable[[Iterable[HumanTask]], bool]) -> bool:
    """A rule that may need the instance's tasks, asked without them first (a role or the starter decides most)."""
    return rule(()) or rule(tasks_store.of_instance(session, instance.id))


def disclose(
    services: Services,
    session: Session,
    caller: Caller,
    instance: ProcessInstance,
    at_hand: Iterable[HumanTask] = (),
    purpose: ReadPurpose = ReadPurpose.VIEW,
    visible: bool | None = None,
) -> Disclosure:
    """The instance's variables as the caller is shown them (`visible`: already decided, else decided here)."""
    at_hand = list(at_hand)
    if visible is None:
        visible = data_visible(session, caller, instance, at_hand)
    return personal_data.disclosure(services, session, caller, instance, visible, at_hand, purpose)


@dataclass(frozen=True, slots=True)
class TaskReading:
    """What a caller reads of a task's instance at one moment (`task_reading`): all its data (`data`), or a
    delegate's own fields only (`delegate_only`), or none; and whether its personal values (`personal`: None when
    it held none sealed, so that nothing was asked)."""

    data: bool
    delegate_only: bool
    personal: bool | None


def task_reading(session: Session, caller: Caller, task: HumanTask, instance: ProcessInstance) -> TaskReading:
    """What the caller reads of the instance now, given the task at hand: a command takes it before it changes who
    holds the task, so that its answer discloses nothing the caller could not read already."""
    if not data_visible(session, caller, instance, [task]):
        return TaskReading(False, policy.is_delegate_only(caller, task), None)
    sealed = any(is_sealed(v) for v in instance.variables.values())
    personal = personal_data.may_read_personal(session, caller, instance, [task]) if sealed else None
    return TaskReading(True, False, personal)


def task_disclosure(
    services: Services,
    session: Session,
    caller: Caller,
    task: HumanTask,
    form: tuple[FormField, ...],
    instance: ProcessInstance,
    reading: TaskReading | None = None,
) -> Disclosure:
    """The variables shown with a task (`visible` false: only the task's own fields, for a delegate); `reading`:
    what the caller read at an earlier moment (`task_reading`), else what they read now. Opened personal values
    are logged as read."""
    if reading is None:
        visible = data_visible(session, caller, instance, [task])
        reading = TaskReading(visible, not visible and policy.is_delegate_only(caller, task), None)
    if reading.data:
        return personal_data.disclosure(
            services, session, caller, instance, True, [task], ReadPurpose.TASK, reading.personal
        )
    if reading.delegate_only:  # the task's own fields, personal ones included: the work delegated
        fields = {f.id: instance.variables[f.id] for f in form if f.id in instance.variables}
        if not any(is_sealed(v) for v in fields.values()):
            return Disclosure(False, fields)
        reveal = personal_data.Reveal(services, session, caller, instance, [task], allowed=True)
        shown = reveal.show_all(fields)
        reveal.log(ReadPurpose.TASK)
        return Disclosure(False, shown, (), reveal.opener.erased)
    return personal_data.HIDDEN


def events_shown(
    services: Services, session: Session, caller: Caller, instance: ProcessInstance, events: list[AuditEvent]
) -> tuple[list[AuditEvent], bool]:
    """Audit events as the caller is shown them, and whether with their data: without it for whoever does not
    read the instance's data; sealed values opened for whoever reads its personal data (logged), else masked."""
    if not data_visible(session, caller, instance):
        return [masked(e) for e in events], False
    if not any(_has_sealed(e) for e in events):
        return events, True
    reveal = personal_data.Reveal(services, session, caller, instance)
    shown = [
        _copy(e, {**e.data, "variables": reveal.show_all(e.data["variables"])}) if _has_sealed(e) else e for e in events
    ]
    reveal.log(ReadPurpose.VIEW)
    return shown, True


def _has_sealed(event: AuditEvent) -> bool:
    values = (event.data or {}).get("variables")
    return isinstance(values, dict) and any(is_sealed(v) for v in values.values())


def masked(event: AuditEvent) -> AuditEvent:
    """An unattached copy of an audit event without its data (who, what, when and the hashes remain)."""
    return _copy(event, {})


def exported(
    services: Services, session: Session, caller: Caller, instance: ProcessInstance, events: list[AuditEvent]
) -> list[AuditEvent]:
    """Audit events for an export: personal values (all values of a classified letter) masked whoever asks."""
    if not any(_has_sealed(e) for e in events):
        return events
    reveal = personal_data.Reveal(services, session, caller, instance, allowed=False)
    return [
        _copy(e, {**e.data, "variables": reveal.show_all(e.data["variables"])}) if _has_sealed(e) else e for e in events
    ]


def _copy(event: AuditEvent, data: dict[str, Any]) -> AuditEvent:
    """An unattached copy of an audit event with other data (the hashes remain those of the stored event)."""
    columns = {c.key: getattr(event, c.key) for c in inspect(AuditEvent).column_attrs}
    return AuditEvent(**columns | {"data": data})
