"""The hot write path (issue 19): one transaction a request, each changed row written once with its version
checked, and a row changed by a writer outside our locks refused with 409 `concurrent_change`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Table, event, select, update

from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform.context import Caller, Services
from mso_flow.services.platform.failures import Conflict
from mso_flow.services.platform.unit_of_work import instance_command, lock_task
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.services.tasks import queries as task_queries
from mso_flow.services.tasks.queries import not_found
from mso_flow.store.audit import NewEvent
from mso_flow.store.models import AuditEvent, HumanTask, ProcessInstance

CLERK = Caller("clerk", frozenset({"เจ้าหน้าที่งานสารบรรณ"}))
STARTER = Caller("starter", frozenset({"integrator"}))


@dataclass
class Trace:
    statements: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0

    def writes_to(self, verb: str, table: str) -> int:
        return sum(1 for s in self.statements if s.lstrip().upper().startswith(f"{verb} {table}".upper()))


@contextmanager
def traced(services: Services) -> Iterator[Trace]:
    trace = Trace()
    engine = services.db.engine

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            trace.statements.append(statement)

    def on_begin(_conn: Any) -> None:
        trace.begins += 1

    def on_commit(_conn: Any) -> None:
        trace.commits += 1

    hooks = [("before_cursor_execute", on_statement), ("begin", on_begin), ("commit", on_commit)]
    for name, hook in hooks:
        event.listen(engine, name, hook)
    try:
        yield trace
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)


def _open_task(services: Services, instance_id: str) -> HumanTask:
    with services.db.read() as session:
        stmt = select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
        task = session.scalars(stmt).one()
        session.expunge(task)
        return task


def _instance_row(services: Services, instance_id: str) -> ProcessInstance:
    with services.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        session.expunge(instance)
        return instance


def test_start_claim_complete_each_run_one_transaction_writing_each_row_once(services: Services, saraban: str) -> None:
    instances.start(services, STARTER, saraban, None, {})  # warms the definitions cache
    with traced(services) as start:
        started = instances.start(services, STARTER, saraban, None, {})
    assert (start.begins, start.commits) == (1, 1)
    assert start.writes_to("INSERT INTO", "process_instance") == 1
    assert start.writes_to("UPDATE", "process_instance") <= 1

    task = _open_task(services, started.instance.id)
    before = _instance_row(services, started.instance.id)
    with traced(services) as claim:
        claimed = tasks.claim(services, CLERK, task.id)
    assert (claim.begins, claim.commits) == (1, 1)
    assert claim.writes_to("UPDATE", "human_task") == 1
    assert claim.writes_to("UPDATE", "process_instance") == 1
    assert claimed.assignee == "clerk" and _open_task(services, started.instance.id).version == task.version + 1
    after_claim = _instance_row(services, started.instance.id)
    assert after_claim.lock_version == before.lock_version + 1
    assert after_claim.audit_seq == before.audit_seq + 1 and after_claim.audit_signature

    with traced(services) as complete:
        tasks.complete(services, CLERK, task.id, {"subject": "ขอข้อมูล", "speed": "urgent"})
    assert (complete.begins, complete.commits) == (1, 1)
    assert complete.writes_to("UPDATE", "human_task") == 1
    assert complete.writes_to("UPDATE", "process_instance") == 1
    after_complete = _instance_row(services, started.instance.id)
    assert after_complete.lock_version == after_claim.lock_version + 1
    assert after_complete.engine_state != after_claim.engine_state
    assert instances.verify_audit(services, Caller("admin", frozenset({"admin"})), started.instance.id).ok


def test_what_v1_answers_after_a_command_is_one_read_writing_nothing(services: Services, saraban: str) -> None:
    """The claim's and the completion's answers are queries after the commands (issue 28 item 2): one read
    transaction each, the tasks shown and their instance read in one statement, nothing written."""
    started = instances.start(services, STARTER, saraban, None, {})
    task = _open_task(services, started.instance.id)
    claimed = tasks.claim(services, CLERK, task.id)
    with traced(services) as claim:
        [view] = task_queries.changed(services, CLERK, [claimed])
    done = tasks.complete(services, CLERK, task.id, {"subject": "ขอข้อมูล", "speed": "urgent"})
    with traced(services) as complete:
        completed, case = task_queries.completion(services, CLERK, done)
    for read in (claim, complete):
        assert read.begins == 1 and not any(
            s.lstrip().upper().startswith(("INSERT", "UPDATE")) for s in read.statements
        )
        assert sum(1 for s in read.statements if "FROM process_instance JOIN human_task" in s) == 1
        assert not any("FROM human_task" in s and "process_instance" not in s for s in read.statements)
    assert view.task.assignee == "clerk" and view.task.state == "open"
    assert completed.task.state == "completed" and completed.step is not None
    assert [t.id for t in case.active_tasks] == list(done.open_task_ids) and case.instance.state == "running"


@pytest.mark.parametrize("row", ["instance", "task"])
def test_a_row_changed_outside_our_locks_is_a_conflict_and_nothing_is_written(
    services: Services, saraban: str, row: str
) -> None:
    started = instances.start(services, STARTER, saraban, None, {})
    task = _open_task(services, started.instance.id)
    before = _instance_row(services, started.instance.id)
    command_of_task = instance_command(services, "clerk", lock_task(task.id), lambda: not_found(task.id))
    with pytest.raises(Conflict) as raised, command_of_task as (command, held):
        # a writer that bypasses our row locks bumps the version of the row we hold
        table: Table = ProcessInstance.__table__ if row == "instance" else HumanTask.__table__  # type: ignore[assignment]
        version = table.c.lock_version if row == "instance" else table.c.version
        key = command.instance.id if row == "instance" else held.id
        command.session.connection().execute(update(table).where(table.c.id == key).values({version.key: version + 1}))
        held.assignee = "clerk"
        command.record([NewEvent("task_claimed", "clerk", held.id, held.element_id)])
    assert raised.value.code == "concurrent_change"
    after = _instance_row(services, started.instance.id)
    assert (after.lock_version, after.audit_seq, after.audit_head) == (
        before.lock_version,
        before.audit_seq,
        before.audit_head,
    )
    assert _open_task(services, started.instance.id).assignee is None
    with services.db.read() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == started.instance.id)).all()
    assert len(events) == before.audit_seq
