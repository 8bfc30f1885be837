"""The inbox query at ministry scale: PostgreSQL seeded with 1,000,000 instances and 100,000 open tasks.

Seeds a fresh database (migrated by Alembic) with SQL `generate_series`: one definition per manual-like process
key, N instances (90 % completed), one task row per instance (the open ones spread over 60 lane roles, 10 % of
them claimed), then measures the task list a staff member with three roles opens all day — open tasks they hold
or may work, sorted by due date, first page, with the total — through the same store function the service's
`GET /api/v1/tasks` uses. Prints p50/p95/max of the whole call and the `EXPLAIN ANALYZE` of its page query.

    python bench/inbox_query.py --instances 1000000 --open-tasks 100000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store import tasks as tasks_store
from mso_flow.store.db import Database
from mso_flow.store.tasks import TaskFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import postgres_database

ROLES = 60
USERS = 2000
KEYS = 70

SEED = """
INSERT INTO deployment (id, deployed_at, deployed_by, source, files) VALUES ('bench', now(), 'bench', 'bench', '[]');

INSERT INTO process_definition (id, key, version, name, unit, file_name, bpmn_xml, sha256, model, deployment_id,
                                deployed_at, deployed_by)
SELECT 'bench_' || k || ':1', 'bench_' || k, 1, 'กระบวนการ ' || k, 'หน่วย ' || (k % 15), 'bench.bpmn', ''::bytea,
       md5(k::text), '{{}}', 'bench', now(), 'bench'
FROM generate_series(1, {keys}) AS k;

INSERT INTO process_instance (id, definition_id, definition_key, definition_version, business_key, state,
                              engine_state, variables, lock_version, started_at, started_by, ended_at, ended_by,
                              audit_seq, audit_head)
SELECT 'i' || lpad(n::text, 11, '0'), 'bench_' || (n % {keys} + 1) || ':1', 'bench_' || (n % {keys} + 1), 1,
       'BK-' || n, CASE WHEN n <= {open} THEN 'running' ELSE 'completed' END, '{{}}', '{{}}', 1,
       now() - (n % 365) * interval '1 day', 'bench',
       CASE WHEN n <= {open} THEN NULL ELSE now() - (n % 300) * interval '1 day' END,
       CASE WHEN n <= {open} THEN NULL ELSE 'bench' END, 0, ''
FROM generate_series(1, {instances}) AS n;

INSERT INTO human_task (id, instance_id, definition_id, definition_key, element_id, name, lane, candidate_roles, state,
                        assignee, created_at, due_at, completed_at, completed_by, version)
SELECT 't' || lpad(n::text, 11, '0'), 'i' || lpad(n::text, 11, '0'), 'bench_' || (n % {keys} + 1) || ':1',
       'bench_' || (n % {keys} + 1), 'Task_' || (n % 7), 'ขั้นตอนที่ ' || (n % 7), 'role_' || (n % {roles}),
       ('["role_' || (n % {roles}) || '"]')::json,
       CASE WHEN n <= {open} THEN 'open' ELSE 'completed' END,
       CASE WHEN n <= {open} AND n % 10 = 0 THEN 'user_' || (n % {users}) END,
       now() - (n % 90) * interval '1 day', now() + ((n::bigint * 7919) % 2000 - 400) * interval '1 hour',
       CASE WHEN n <= {open} THEN NULL ELSE now() - (n % 300) * interval '1 day' END,
       CASE WHEN n <= {open} THEN NULL ELSE 'user_' || (n % {users}) END, 1
FROM generate_series(1, {instances}) AS n;

INSERT INTO task_candidate (task_id, role, due_at)
SELECT id, lane, due_at FROM human_task WHERE state = 'open';
"""


def seed(db: Database, instances: int, open_tasks: int) -> float:
    started = time.perf_counter()
    sql = SEED.format(keys=KEYS, instances=instances, open=open_tasks, roles=ROLES, users=USERS)
    with db.engine.begin() as connection:
        for statement in filter(str.strip, sql.split(";")):
            connection.exec_driver_sql(statement.replace("%", "%%"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def inbox(user: int) -> TaskFilter:
    roles = tuple(sorted(f"role_{(user * 3 + i) % ROLES}" for i in range(3)))
    return TaskFilter(workable_by=(f"user_{user % USERS}", roles), sort="due_at")


def measure(db: Database, repeat: int, limit: int) -> list[float]:
    timings = []
    rng = random.Random(7)
    for _ in range(repeat):
        f = inbox(rng.randrange(USERS))
        with db.read() as session:
            started = time.perf_counter()
            items, total = tasks_store.listing(session, f, 0, limit)
            timings.append((time.perf_counter() - started) * 1000)
            assert len(items) == min(limit, total)
    return timings


def explain(db: Database, limit: int) -> str:
    """EXPLAIN ANALYZE of the statements one inbox call really runs (captured as executed, with parameters)."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    with db.read() as session:
        tasks_store.listing(session, inbox(42), 0, limit)
    event.remove(db.engine, "before_cursor_execute", capture)
    out = []
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in captured:
            if statement.lstrip().upper().startswith("SELECT"):
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                out.append(f"{statement}\n{parameters}\n\n{plan}")
    finally:
        raw.close()
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--open-tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()
    with postgres_database() as url:
        db = Database(url)
        migrate.upgrade(db.engine, Settings().migrations_dir)
        seconds = seed(db, args.instances, args.open_tasks)
        print(f"seeded {args.instances:,} instances, {args.open_tasks:,} open tasks in {seconds:.1f} s")
        measure(db, 20, args.limit)  # warm the cache
        timings = sorted(measure(db, args.repeat, args.limit))
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(
            f"inbox (3 roles, open, candidate or assigned, by due date, first {args.limit} + total): "
            f"p50 {statistics.median(timings):.2f} ms  p95 {p95:.2f} ms  max {timings[-1]:.2f} ms  "
            f"over {len(timings)} queries (target p95 < 20 ms)"
        )
        print(explain(db, args.limit))
        db.dispose()


if __name__ == "__main__":
    main()
