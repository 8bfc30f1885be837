"""One migration history that builds the models' schema on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from mso_flow.store.migrate import alembic_config
from mso_flow.store.models import Base
from tests.conftest import MIGRATIONS


def test_migrations_match_the_models(services):
    with services.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_database_is_at_head(services):
    with services.db.engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config(services.settings.database_url, MIGRATIONS)).get_current_head()
    assert revision == head
