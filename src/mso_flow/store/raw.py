"""Prebuilt Core statements run on the DB-API cursor of a session's transaction (the hot path's statements).

`session.connection().execute(stmt, params)` costs 100–250 µs a statement on these machines even for a statement
built once (issue 31, `bench/cpu_breakdown.py`): an execution context, the compiled cache lookup, events, a
`CursorResult` and row objects, while the DB-API call itself takes 10–30 µs. `execute`, `first` and `rowcount`
run a module-level statement on the same connection and transaction instead, keeping what the store relies on:

- the SQL is SQLAlchemy's own, compiled once per statement, dialect and set of parameter names;
- parameters pass through the same bind processors (`UTCDateTime`, JSON…) and result columns through the same
  result processors as with `Connection.execute`;
- a driver error is raised as SQLAlchemy's (`DBAPIError.instance`: `IntegrityError`, `OperationalError`…), with
  the driver's error as `.orig`, so the API's error mapping and `is_lock_conflict` see what they saw before;
- the engine's `before_cursor_execute` listeners see the statement (`counting_sql()`, X-SQL-Statements, tests'
  traces); its other execution events do not fire.

Not for statements whose table fills columns from Python-side defaults that the parameters leave out (the raw
call would not apply them): those, and any statement this module cannot prepare, run through
`Connection.execute` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Prepared:
    statement: Executable  # kept alive: the cache is keyed by its id
    compiled: SQLCompiler
    sql: str
    positions: tuple[str, ...] | None
    binds: dict[str, Processor]
    results: tuple[Processor, ...]


_prepared: dict[tuple[int, str, tuple[str, ...]], _Prepared | None] = {}


def _prepare(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Prepared | None:
    cache_key = (id(statement), f"{dialect.name}+{dialect.driver}", keys)
    if cache_key in _prepared:
        return _prepared[cache_key]
    found: _Prepared | None = None
    table = getattr(statement, "table", None)
    defaulted = (
        isinstance(statement, Insert)
        and table is not None
        and any(c.default is not None and c.key not in keys for c in table.columns)
    )
    compiled = None if defaulted else statement.compile(dialect=dialect, column_keys=list(keys) or None)  # type: ignore[attr-defined]
    binds: dict[str, Processor] = {}
    for name, process in (compiled._bind_processors if isinstance(compiled, SQLCompiler) else {}).items():
        if process is not None and not callable(process):  # a tuple's processors (expanding IN): not here
            compiled = None
            break
        binds[name] = process
    if isinstance(compiled, SQLCompiler):
        results = tuple(
            column.type._cached_result_processor(dialect, None) for column in (compiled._result_columns or ())
        )
        positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        found = _Prepared(statement, compiled, compiled.string, positions, binds, results)
    _prepared[cache_key] = found
    return found


def _params(prepared: _Prepared, given: dict[str, Any]) -> Any:
    values = prepared.compiled.construct_params(given)
    for name, process in prepared.binds.items():
        if process is not None and name in values:
            values[name] = process(values[name])
    if prepared.positions is not None:
        return [values[name] for name in prepared.positions]
    return values


def _row(prepared: _Prepared, row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(
        value if process is None else process(value) for process, value in zip(prepared.results, row, strict=True)
    )


def _run(session: Session, statement: Executable, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """Run `statement` on the session's transaction; the DB-API cursor, or None when not prepared (then the
    statement ran through `Connection.execute` and its result is returned in a list)."""
    connection: Connection = session.connection()
    many = isinstance(params, list)
    first: dict[str, Any] = params[0] if isinstance(params, list) else params
    prepared = _prepare(statement, connection.dialect, tuple(first))
    if prepared is None:
        return [connection.execute(statement, params)]
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    args: Any = None
    try:
        args = [_params(prepared, p) for p in params] if isinstance(params, list) else _params(prepared, first)
        listeners = connection.dispatch.before_cursor_execute
        if listeners:  # SQL counting (X-SQL-*), tests' traces: they see the statement as with Connection.execute
            listeners(connection, cursor, prepared.sql, args, None, many)
        if many:
            cursor.executemany(prepared.sql, args)
        else:
            cursor.execute(prepared.sql, args)
    except connection.dialect.loaded_dbapi.Error as err:
        cursor.close()
        raise DBAPIError.instance(
            prepared.sql, args, err, connection.dialect.loaded_dbapi.Error, dialect=connection.dialect
        ) from err
    return cursor, prepared


def execute(session: Session, statement: Executable, params: dict[str, Any] | list[dict[str, Any]]) -> int:
    """Run an INSERT, UPDATE or DELETE (a list of parameter sets: executemany); the rows it matched."""
    result = _run(session, statement, params)
    if isinstance(result, list):
        return int(result[0].rowcount)
    cursor, _ = result
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def first(session: Session, statement: Executable, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row of a SELECT, its columns processed as `Connection.execute` would."""
    result = _run(session, statement, params)
    if isinstance(result, list):
        row = result[0].first()
        return tuple(row) if row is not None else None
    cursor, prepared = result
    try:
        fetched = cursor.fetchone()
    finally:
        cursor.close()
    return None if fetched is None else _row(prepared, fetched)
