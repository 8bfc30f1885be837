"""Database engine and transactions: SQLite (WAL, embedded default) or PostgreSQL (production).

`Database.write()` opens a transaction that may write; on SQLite it starts with `BEGIN IMMEDIATE` so that
concurrent writers queue on the database lock instead of failing to upgrade a read lock. SQLite's BEGIN is emitted
as a session's transaction takes its connection (`_sqlite_session_begin`); code that begins a transaction on the
engine itself and needs SQLite's opens it with `sqlite_begin` (the migrations do). `Database.read()` is
a plain transaction for queries; `Database.query()` a bare connection for a single read statement (the token
lookup of every request), which needs no transaction.

With `MSO_FLOW_SQL_STATS=1` in the environment (for benchmarks), every engine counts the SQL statements and
commits run inside `counting_sql()` blocks; without it nothing is registered and nothing is counted.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Select, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

IMMEDIATE = "mso_begin_immediate"
ONE_READ = "mso_one_read"  # a connection for one SELECT: on SQLite no BEGIN (a single statement is atomic)
SQL_STATS_ENV = "MSO_FLOW_SQL_STATS"
WRITABLE = "mso_writable"  # in `Session.info` of a `Database.write()` session


@dataclass
class SqlCounts:
    """Statements (not counting the BEGIN this module emits) and commits of one unit of counting."""

    statements: int = 0
    commits: int = 0


_sql_counts: ContextVar[SqlCounts | None] = ContextVar("mso_flow_sql_counts", default=None)


def sql_stats_enabled() -> bool:
    return os.environ.get(SQL_STATS_ENV, "") not in ("", "0")


@contextmanager
def counting_sql() -> Iterator[SqlCounts]:
    """Count the statements and commits of this context (and of threads started from it with a copy of it)."""
    counts = SqlCounts()
    token = _sql_counts.set(counts)
    try:
        yield counts
    finally:
        _sql_counts.reset(token)


def _count_sql(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counts = _sql_counts.get()
        if counts is not None and not statement.startswith("BEGIN"):
            counts.statements += 1

    @event.listens_for(engine, "commit")
    def _on_commit(_conn: Any) -> None:
        counts = _sql_counts.get()
        if counts is not None:
            counts.commits += 1


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")  # a pool event: the engine's connections dispatch no event for it
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def sqlite_begin(connection: Connection, immediate: bool = False) -> None:
    """Open SQLite's transaction on `connection`, which SQLAlchemy has begun (the driver runs in autocommit mode:
    `_sqlite_setup`): `BEGIN IMMEDIATE` takes the write lock at once, so a write transaction never has to
    upgrade a read lock. On the DB-API connection: `exec_driver_sql` would build an execution context for it (issue
    31)."""
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    try:
        connection.connection.driver_connection.execute(begin)  # type: ignore[union-attr]
    except sqlite3.Error as err:
        raise DBAPIError.instance(begin, (), err, sqlite3.Error) from err


def _sqlite_session_begin(_session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    """A session's transaction took its connection: open SQLite's (a savepoint is the transaction's own).

    A session event, not the engine's "begin": an engine with any connection event listener dispatches its
    connection events on every statement (≈ 10 µs a statement, ≈ 17 µs a transaction here: issue 31)."""
    if not transaction.nested:
        sqlite_begin(connection, connection.get_execution_options().get(IMMEDIATE, False))


def create_db_engine(url: str, pool_size: int = 10) -> Engine:
    """An engine for `url` with the settings MSO Flow relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_setup(engine)
    else:
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    if sql_stats_enabled():
        _count_sql(engine)
    return engine


class Database:
    """The store's entry point: one engine and the two kinds of transaction."""

    def __init__(self, url: str, pool_size: int = 10):
        self.url = url
        self.engine = create_db_engine(url, pool_size)
        self.dialect = self.engine.dialect.name
        # SQLite has one writer at a time: queue this process's writers on a lock instead of letting each
        # poll the database lock in SQLite's busy handler (which sleeps up to 100 ms between tries).
        self._writer = threading.Lock() if self.dialect == "sqlite" else contextlib.nullcontext()
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False)
        if self.dialect == "sqlite":
            for sessions in (self._read, self._write):
                event.listen(sessions, "after_begin", _sqlite_session_begin)
        self._one_read = self.engine.execution_options(**{ONE_READ: True})
        self._compiled: dict[int, tuple[Select[Any], str, tuple[str, ...] | None]] = {}

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work."""
        with self._read() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work that commits on success and rolls back on any exception."""
        with self._writer, self._write() as session, session.begin():
            session.info[WRITABLE] = True
            yield session

    @contextmanager
    def write_along(self, session: Session) -> Iterator[Session]:
        """`session` when it is a write transaction (what is written then commits or rolls back with it), else a
        write transaction of its own, committed when the block ends."""
        if session.info.get(WRITABLE):
            yield session
            return
        with self.write() as own:
            yield own

    @contextmanager
    def query(self) -> Iterator[Connection]:
        """A bare connection for ONE read statement (no session, no transaction of ours: on SQLite the statement
        runs on its own, atomically; PostgreSQL's implicit transaction is rolled back when it closes)."""
        with self._one_read.connect() as connection:
            yield connection

    def fetch_one(self, statement: Select[Any], params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of ONE prebuilt SELECT (a module-level statement), run on a pooled DB-API connection with
        no `Connection`, execution context, result object or events: the token lookup of every request, which
        through `query()` cost several times its statement (issue 31). Columns come as the driver returns them
        (no result processors: a JSON column is text on SQLite, decoded on PostgreSQL). Like `query()`, no
        transaction of ours: on SQLite the statement runs on its own; PostgreSQL's implicit transaction is rolled
        back when the connection returns to the pool. Driver errors are raised as SQLAlchemy's `DBAPIError`."""
        compiled = self._compiled.get(id(statement))
        if compiled is None:
            done = statement.compile(dialect=self.engine.dialect)
            positions = tuple(done.positiontup) if done.positiontup else None
            compiled = self._compiled[id(statement)] = (statement, done.string, positions)  # keeps `statement` alive
        _, sql, positions = compiled
        args: Any = [params[name] for name in positions] if positions else params
        counts = _sql_counts.get()
        if counts is not None:
            counts.statements += 1
        dialect = self.engine.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        try:
            connection = self.engine.raw_connection()
        except dbapi_error as err:  # no database (SQLAlchemy's connect wraps this too): 503 at the API
            raise DBAPIError.instance(None, None, err, dbapi_error, dialect=dialect) from err
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, args)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except dbapi_error as err:
            raise DBAPIError.instance(sql, args, err, dbapi_error, dialect=dialect) from err
        finally:
            connection.close()
        return tuple(row) if row is not None else None

    def ping(self) -> bool:
        """True when the database answers."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    def dispose(self) -> None:
        self.engine.dispose()


LOCK_CONFLICT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})  # serialization failure, deadlock, lock timeout


def is_lock_conflict(err: DBAPIError) -> bool:
    """Whether a database error means two transactions collided (retry), not a broken statement."""
    code = getattr(err.orig, "sqlstate", None)
    return code in LOCK_CONFLICT_SQLSTATES or "database is locked" in str(err.orig)
