"""Apply and create Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from mso_flow.store.db import sqlite_begin


def alembic_config(url: str, migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, migrations_dir: Path, revision: str = "head") -> None:
    """Bring the database to `revision`; concurrent starters serialise on PostgreSQL's advisory lock."""
    config = alembic_config(str(engine.url.render_as_string(hide_password=False)), migrations_dir)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(72151)")
        elif connection.dialect.name == "sqlite":
            sqlite_begin(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revision(url: str, migrations_dir: Path, message: str) -> None:
    """Autogenerate a new revision from the models."""
    command.revision(alembic_config(url, migrations_dir), message=message, autogenerate=True)
