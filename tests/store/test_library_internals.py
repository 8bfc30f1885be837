"""The non-public parts of SQLAlchemy that `store/sqlalchemy_internals.py` wraps still do what the store relies on
(`store/rows.py` writes rows with Core and marks them clean; `store/instances.py` attaches rows read with Core).

Each test fails when SQLAlchemy changes one of them (an upgrade must then update the adapter)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import String, create_engine, inspect, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from mso_flow.store.sqlalchemy_internals import NO_VALUE, committed_values, mark_clean, new_unloaded


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "row"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)

    def __init__(self, **kwargs: str) -> None:
        raise AssertionError("new_unloaded must not call __init__")


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO row (id, name) VALUES ('a', 'before')")
    with Session(engine) as s:
        yield s


def test_committed_values_hold_the_loaded_value_of_a_changed_attribute(session: Session) -> None:
    row = session.get(Row, "a")
    assert row is not None
    row.name = "after"
    assert committed_values(inspect(row)) == {"name": "before"}
    assert NO_VALUE is not None and NO_VALUE != "before"


def test_mark_clean_leaves_nothing_for_the_flush(session: Session) -> None:
    row = session.get(Row, "a")
    assert row is not None
    row.name = "after"
    session.execute(update(Row).where(Row.id == "a").values(name="after"))  # written with Core, as rows.save does
    mark_clean(inspect(row), session)
    assert row not in session.dirty and committed_values(inspect(row)) == {}
    session.flush()
    session.expire_all()
    assert session.get(Row, "a").name == "after"  # type: ignore[union-attr]


def test_new_unloaded_makes_an_object_without_its_init(session: Session) -> None:
    row = new_unloaded(Row)
    assert isinstance(row, Row)
    state = inspect(row)
    assert state.transient and "name" not in state.dict
