"""The opt-in SQL counter of benchmarks: counts only when MSO_FLOW_SQL_STATS is set, headers only then."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from mso_flow.api.app import create_app
from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM, Services
from mso_flow.settings import Settings
from mso_flow.store.db import SQL_STATS_ENV, Database, counting_sql
from tests.conftest import SARABAN, clean


@pytest.fixture
def counted(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """Services whose engine was built with the counter switched on."""
    monkeypatch.setenv(SQL_STATS_ENV, "1")
    database = Database(settings.database_url)
    clean(database)
    yield Services(settings=settings, db=database)
    database.dispose()


def test_counts_statements_and_commits_of_its_context(counted: Services) -> None:
    with counting_sql() as counts:
        with counted.db.write() as session:
            session.execute(text("SELECT 1"))
            session.execute(text("SELECT 2"))
        with counted.db.read() as session:
            session.execute(text("SELECT 3"))
    assert (counts.statements, counts.commits) == (3, 2)
    with counted.db.write() as session:  # outside any counting context: nothing to count into, no error
        session.execute(text("SELECT 4"))
    assert (counts.statements, counts.commits) == (3, 2)


def test_counts_nothing_when_switched_off(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SQL_STATS_ENV, raising=False)
    database = Database(settings.database_url)
    try:
        with counting_sql() as counts, database.write() as session:
            session.execute(text("SELECT 1"))
        assert (counts.statements, counts.commits) == (0, 0)
    finally:
        database.dispose()


def test_responses_carry_the_counts_of_their_request(counted: Services) -> None:
    definitions.deploy(counted, SYSTEM, [("central/central_saraban.bpmn", SARABAN.read_bytes())])
    _, token = users.create_user(counted, SYSTEM, "esaraban", ["integrator"])
    with TestClient(create_app(services=counted)) as client:
        started = client.post(
            "/api/v1/process-definitions/central_saraban/start",
            headers={"Authorization": f"Bearer {token}"},
            json={"business_key": "stats-1"},
        )
    assert started.status_code == 201, started.text
    # at least the instance's INSERT, committed once
    assert int(started.headers["x-sql-statements"]) >= 2
    assert int(started.headers["x-sql-commits"]) >= 1


def test_no_headers_when_switched_off(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SQL_STATS_ENV, raising=False)
    with TestClient(create_app(services=services)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert "x-sql-statements" not in response.headers
