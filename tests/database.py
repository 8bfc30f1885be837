"""Empty a test database between runs (tests, benchmarks): every row removed, children first."""

from __future__ import annotations

from sqlalchemy import text

from mso_flow.store.db import Database
from mso_flow.store.models import Base


def clean(database: Database) -> None:
    """Remove every row, children first."""
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
