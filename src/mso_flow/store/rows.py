"""Write back the changed instance and task rows of a write transaction with prebuilt Core UPDATEs.

The hot path (claim, complete, start, every instance command) changes one `ProcessInstance` and at most a few
`HumanTask` objects; the ORM's unit of work costs far more than the statements themselves (bench/PROFILE.md).
`write_back` replaces that flush for these two classes, keeping its guarantees:
- only the columns whose value changed are written, in ONE UPDATE per row;
- the optimistic version is checked and bumped in the same statement (`WHERE id = :id AND version = :v`,
  `SET version = :v + 1`); a row changed by a writer outside our row locks raises `StaleDataError`, exactly what
  the ORM raises (the unit of work maps it to 409 `concurrent_change`);
- the objects are then clean (their new version included), so a later flush writes nothing twice.
Every other dirty or new object is left to the ORM's flush, which `write_back` runs last.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Update, bindparam, inspect, update
from sqlalchemy.orm import InstanceState, Session
from sqlalchemy.orm.exc import StaleDataError

from mso_flow.store.models import HumanTask, ProcessInstance
from mso_flow.store.sqlalchemy_internals import NO_VALUE, committed_values, mark_clean

VERSION_COLUMN: dict[type, str] = {ProcessInstance: "lock_version", HumanTask: "version"}
_statements: dict[tuple[type, frozenset[str]], Update] = {}


def _statement(cls: type, keys: frozenset[str]) -> Update:
    """The UPDATE of these columns of `cls`'s table with its version check, built once per column set."""
    stmt = _statements.get((cls, keys))
    if stmt is None:
        table = cls.__table__  # type: ignore[attr-defined]
        version = VERSION_COLUMN[cls]
        stmt = (
            update(table)
            .where(table.c.id == bindparam("w_id"), table.c[version] == bindparam("w_version"))
            .values({**{k: bindparam(k) for k in keys}, version: bindparam("w_new_version")})
        )
        _statements[(cls, keys)] = stmt
    return stmt


def _changes(state: InstanceState[Any]) -> dict[str, Any]:
    """The changed column values of a persistent object (what the ORM's flush would write)."""
    values = state.dict
    return {
        key: values[key]
        for key, old in committed_values(state).items()
        if key in values and (old is NO_VALUE or old is None or (values[key] is not old and values[key] != old))
    }


def save(session: Session, obj: ProcessInstance | HumanTask) -> None:
    """Write one loaded instance or task's changes in one versioned UPDATE and mark it clean."""
    state: InstanceState[Any] = inspect(obj)
    cls = type(obj)
    version_key = VERSION_COLUMN[cls]
    changes = _changes(state)
    changes.pop(version_key, None)
    if changes:
        current = state.dict[version_key]
        params = {**changes, "w_id": state.dict["id"], "w_version": current, "w_new_version": current + 1}
        result = session.connection().execute(_statement(cls, frozenset(changes)), params)
        if result.rowcount != 1:
            raise StaleDataError(f"{cls.__tablename__} {state.dict['id']} was changed by another writer")  # type: ignore[attr-defined]
        state.dict[version_key] = current + 1
    mark_clean(state, session)


def write_back(session: Session) -> None:
    """Write every changed instance and task row with `save`, then flush whatever else the session holds."""
    for obj in list(session.dirty):
        if type(obj) in VERSION_COLUMN:
            save(session, obj)
    session.flush()
