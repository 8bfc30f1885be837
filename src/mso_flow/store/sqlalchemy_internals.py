"""Every non-public part of SQLAlchemy 2 that the store uses, in one place (issue 28 item 5).

The hot path writes instance and task rows with prebuilt Core UPDATEs (`store/rows.py`) and attaches rows it read
with Core as loaded objects (`store/instances.py`); the ORM offers no public call for the steps below.
`tests/store/test_library_internals.py` fails when SQLAlchemy changes one (pinned `<2.2` in pyproject.toml):

- `NO_VALUE`: the marker of an attribute never loaded (`sqlalchemy.orm.base`);
- `committed_values`: an object's values as loaded, for the attributes changed since (`InstanceState.committed_state`);
- `mark_clean`: an object's current values become its loaded ones (`InstanceState._commit_all`), what the ORM's flush
  does after writing it;
- `new_unloaded`: an object of a mapped class made without calling `__init__` (`ClassManager.new_instance`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import InstanceState, Session, class_mapper
from sqlalchemy.orm.base import NO_VALUE

__all__ = ["NO_VALUE", "committed_values", "mark_clean", "new_unloaded"]

T = TypeVar("T")


def committed_values(state: InstanceState[Any]) -> dict[str, Any]:
    """The loaded value of every attribute changed since the object was loaded or last flushed."""
    return state.committed_state


def mark_clean(state: InstanceState[Any], session: Session) -> None:
    """The object's current values are now its committed ones: not dirty, nothing for a flush to write."""
    state._commit_all(state.dict, session.identity_map)


def new_unloaded(cls: type[T]) -> T:
    """An instance of mapped `cls` with ORM state and no attributes set (its `__init__` is not called)."""
    obj: T = class_mapper(cls).class_manager.new_instance()
    return obj
