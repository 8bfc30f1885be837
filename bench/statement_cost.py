"""What one SQL statement and one claim cost through each SQLAlchemy style (SQLite, in-process, CPU time).

    python bench/statement_cost.py

Part 1 times one UPDATE / INSERT inside a session: built per call on the ORM entity (what store/ does), built
per call on the Table, prebuilt once with bindparam(), and the ORM bulk-insert path against a Core insert.
Part 2 times a whole claim: `services.tasks.claim` as it is, then the same rows written (the locked SELECT of
instance + task, the task UPDATE with its version check, the candidate rows, the audit event with its hash, the
instance's version and audit head) through Core with statements built per call, and with prebuilt statements.
Figures are medians of thread CPU time, so other load on the machine inflates them less than wall time.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform.context import SYSTEM, Caller, Services
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.audit import NewEvent, content_hash
from mso_flow.store.db import IMMEDIATE, Database
from mso_flow.store.models import AuditEvent, HumanTask, ProcessInstance, TaskCandidate
from step_cost import BPMN, BPMN_XML, CLERK, KEY

INSTANCE, TASK, CANDIDATE, AUDIT = (
    cast(Table, m.__table__) for m in (ProcessInstance, HumanTask, TaskCandidate, AuditEvent)
)


def median_us(action: Callable[[int], Any], count: int, warmup: int = 100) -> float:
    for i in range(warmup):
        action(-1 - i)
    times = []
    for i in range(count):
        began = time.thread_time()
        action(i)
        times.append(time.thread_time() - began)
    return statistics.median(times) * 1e6


def statements(database: Database, count: int) -> list[str]:
    raw = database.engine.raw_connection()  # lone rows without parents: no foreign keys on this connection
    raw.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    raw.close()
    now = datetime.now(UTC)
    prebuilt = update(CANDIDATE).where(CANDIDATE.c.task_id == bindparam("tid")).values(assignee=bindparam("who"))

    sequence = itertools.count()

    def audit(_: int) -> dict[str, Any]:
        row = {"instance_id": "x", "seq": next(sequence), "at": now, "actor": "a", "type": "t"}
        return row | {"data": {}, "prev_hash": "", "hash": "h"}

    cases: list[tuple[str, Callable[[Session, int], Any]]] = [
        (
            "session.execute(update(Entity)...) built per call",
            lambda s, i: s.execute(
                update(TaskCandidate)
                .where(TaskCandidate.task_id == "x")
                .values(assignee=f"u{i}")
                .execution_options(synchronize_session=False)
            ),
        ),
        (
            "session.execute(update(Table)...) built per call",
            lambda s, i: s.execute(update(CANDIDATE).where(CANDIDATE.c.task_id == "x").values(assignee=f"u{i}")),
        ),
        ("session.execute(prebuilt Table update)", lambda s, i: s.execute(prebuilt, {"tid": "x", "who": f"u{i}"})),
        (
            "session.connection().execute(prebuilt)",
            lambda s, i: s.connection().execute(prebuilt, {"tid": "x", "who": f"u{i}"}),
        ),
        ("session.execute(insert(Entity), [row]) ORM bulk", lambda s, i: s.execute(insert(AuditEvent), [audit(i)])),
        ("session.execute(insert(Table), [row])", lambda s, i: s.execute(insert(AUDIT), [audit(i)])),
    ]
    lines: list[str] = []
    for name, case in cases:
        with database.write() as session:
            cost = median_us(lambda i, case=case, session=session: case(session, i), count)  # type: ignore[misc]
            session.rollback()
        lines.append(f"  {name:<52} {cost:7.1f} us")
    return lines


SELECT_LOCKED = (
    select(
        INSTANCE.c.id,
        INSTANCE.c.lock_version,
        INSTANCE.c.audit_seq,
        INSTANCE.c.audit_head,
        TASK.c.version,
        TASK.c.element_id,
    )
    .join(TASK, TASK.c.instance_id == INSTANCE.c.id)
    .where(TASK.c.id == bindparam("tid"))
    .with_for_update()
)
CLAIM_TASK = (
    update(TASK)
    .where(TASK.c.id == bindparam("tid"), TASK.c.version == bindparam("v"))
    .values(assignee=bindparam("who"), claimed_at=bindparam("now"), version=bindparam("v2"))
)
CLAIM_CANDIDATES = update(CANDIDATE).where(CANDIDATE.c.task_id == bindparam("tid")).values(assignee=bindparam("who"))
ADVANCE_INSTANCE = (
    update(INSTANCE)
    .where(INSTANCE.c.id == bindparam("iid"), INSTANCE.c.lock_version == bindparam("lv"))
    .values(lock_version=bindparam("lv2"), audit_seq=bindparam("seq"), audit_head=bindparam("head"))
)


def claim_core(connection: Connection, task_id: str, prebuilt: bool) -> None:
    """The rows `tasks.claim` writes, without its checks of roles and state (which cost no SQL)."""
    now, who = datetime.now(UTC), "clerk"
    if prebuilt:
        row = connection.execute(SELECT_LOCKED, {"tid": task_id}).one()
    else:
        columns = (ProcessInstance.id, ProcessInstance.lock_version, ProcessInstance.audit_seq)
        locked = select(*columns, ProcessInstance.audit_head, HumanTask.version, HumanTask.element_id)
        locked = locked.join(HumanTask, HumanTask.instance_id == ProcessInstance.id).where(HumanTask.id == task_id)
        row = connection.execute(locked.with_for_update()).one()
    seq = row.audit_seq + 1
    event = NewEvent("task_claimed", who, task_id, row.element_id)
    digest = content_hash(row.audit_head, row.id, seq, now, event)
    audit = {"instance_id": row.id, "seq": seq, "at": now, "actor": who, "type": event.type, "task_id": task_id}
    audit |= {"element_id": row.element_id, "data": {}, "prev_hash": row.audit_head, "hash": digest}
    if prebuilt:
        params = {"tid": task_id, "v": row.version, "v2": row.version + 1, "who": who, "now": now}
        claimed = connection.execute(CLAIM_TASK, params).rowcount
        connection.execute(CLAIM_CANDIDATES, {"tid": task_id, "who": who})
        connection.execute(insert(AUDIT), [audit])
        params = {"iid": row.id, "lv": row.lock_version, "lv2": row.lock_version + 1, "seq": seq, "head": digest}
        advanced = connection.execute(ADVANCE_INSTANCE, params).rowcount
    else:
        task_row = update(HumanTask).where(HumanTask.id == task_id, HumanTask.version == row.version)
        claimed = connection.execute(task_row.values(assignee=who, claimed_at=now, version=row.version + 1)).rowcount
        connection.execute(update(TaskCandidate).where(TaskCandidate.task_id == task_id).values(assignee=who))
        connection.execute(insert(AuditEvent).values(**audit))
        instance_row = update(ProcessInstance).where(
            ProcessInstance.id == row.id, ProcessInstance.lock_version == row.lock_version
        )
        advanced = connection.execute(
            instance_row.values(lock_version=row.lock_version + 1, audit_seq=seq, audit_head=digest)
        ).rowcount
    assert claimed == advanced == 1


def claims(database: Database, settings: Settings, count: int) -> list[str]:
    services = Services(settings=settings, db=database)
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", BPMN_XML)])
    integrator, clerk = Caller("i", frozenset({"integrator"})), Caller("clerk", frozenset({CLERK}))
    pending = [
        instances.start(services, integrator, KEY, f"claim-{i}", {}).active_tasks[0].id for i in range(3 * count + 60)
    ]
    engine = database.engine.execution_options(**{IMMEDIATE: True})

    def core(prebuilt: bool) -> Callable[[int], None]:
        def claim(_: int) -> None:
            with engine.begin() as connection:  # one thread: no need for the writers' lock
                claim_core(connection, pending.pop(), prebuilt)

        return claim

    cases: list[tuple[str, Callable[[int], Any]]] = [
        ("services.tasks.claim (as it is)", lambda _: tasks.claim(services, clerk, pending.pop())),
        ("the same rows through Core, statements built per call", core(False)),
        ("the same rows through Core, prebuilt statements", core(True)),
    ]
    return [f"  {name:<52} {median_us(case, count, warmup=20) / 1000:7.3f} ms" for name, case in cases]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300, help="timed repetitions of each case")
    args = parser.parse_args()
    with TemporaryDirectory() as name:
        url = f"sqlite:///{Path(name) / 'statements.db'}"
        settings = Settings(database_url=url, bpmn_dir=BPMN.parents[1])
        database = Database(url)
        migrate.upgrade(database.engine, settings.migrations_dir)
        print("one statement inside a session (median CPU):")
        print("\n".join(statements(database, args.count * 5)))
        database.dispose()
        url = f"sqlite:///{Path(name) / 'claims.db'}"
        database = Database(url)
        migrate.upgrade(database.engine, settings.migrations_dir)
        print("a whole claim, one transaction each (median CPU):")
        print("\n".join(claims(database, Settings(database_url=url, bpmn_dir=BPMN.parents[1]), args.count)))
        database.dispose()


if __name__ == "__main__":
    main()
