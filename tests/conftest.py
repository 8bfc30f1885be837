"""Shared fixtures: every store-backed test runs on SQLite and on PostgreSQL, with the real engine and BPMN.

`MSO_FLOW_TEST_BACKENDS=sqlite` restricts a local run to SQLite; CI runs both. PostgreSQL tests use a fresh
database per test session on `MSO_FLOW_TEST_PG` (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from mso_flow.api.app import create_app
from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM, Services
from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.db import Database
from tests.database import clean

ROOT = Path(__file__).resolve().parents[1]
BPMN_DIR = ROOT / "bpmn"
MIGRATIONS = ROOT / "migrations"
SARABAN = BPMN_DIR / "central" / "central_saraban.bpmn"
PG_SERVER = os.environ.get("MSO_FLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
BACKENDS = os.environ.get("MSO_FLOW_TEST_BACKENDS", "sqlite,postgresql").split(",")


@functools.cache
def postgres_unreachable() -> str | None:
    """Why the PostgreSQL tests cannot run here (one line), or None when the server answers."""
    engine = create_engine(f"{PG_SERVER}/postgres", connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except OperationalError:
        return (
            f"PostgreSQL at {PG_SERVER} is not reachable: skipping PostgreSQL tests; start it with "
            "`pg_ctlcluster 15 main start` (or set MSO_FLOW_TEST_BACKENDS=sqlite)"
        )
    finally:
        engine.dispose()


# PostgreSQL tests run when asked for and reachable; otherwise one line says why (no connection traceback).
PG_SKIPPED = (
    "MSO_FLOW_TEST_BACKENDS excludes postgresql: skipping PostgreSQL tests"
    if "postgresql" not in BACKENDS
    else postgres_unreachable()
)
BACKENDS = [b for b in BACKENDS if b != "postgresql" or not PG_SKIPPED]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs the PostgreSQL server (skipped with one line when absent)")


def pytest_report_header(config: pytest.Config) -> str | None:
    return PG_SKIPPED


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_SKIPPED:
        skip = pytest.mark.skip(reason=PG_SKIPPED)
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)
    _long_files_first(items)


def _long_files_first(items: list[pytest.Item]) -> None:
    """Order the files for `--dist=loadfile`, which hands each file whole to a free worker in the order collected
    (pyproject: `--no-loadscope-reorder`): the files marked `slow` (real service processes, a minute or more each)
    first, then the others by their number of tests, most first, so that small files fill the end. xdist's own
    order (by number of tests) handed out the few-test live files last, and one worker waited for the other."""
    count = Counter(item.path for item in items)
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    position: dict[Path, int] = {}
    for index, item in enumerate(items):
        position.setdefault(item.path, index)
    items.sort(
        key=lambda item: (item.path not in slow, 0 if item.path in slow else -count[item.path], position[item.path])
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if PG_SKIPPED and "postgresql" in os.environ.get("MSO_FLOW_TEST_BACKENDS", "postgresql"):
        terminalreporter.write_line(PG_SKIPPED, yellow=True)


@pytest.fixture(scope="session", autouse=True)
def _keys_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Settings that a test builds without key files (and the commands it runs) use the session's keys in a
    temporary folder: never the home folder of whoever runs the tests, nor a key left in the working directory."""
    folder = tmp_path_factory.mktemp("keys")
    os.environ["MSO_FLOW_MASTER_KEY_FILE"] = str(folder / "master.keys")
    os.environ["MSO_FLOW_AUDIT_SIGNING_KEY_FILE"] = str(folder / "audit-ed25519.pem")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the test session, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'mso_flow.db'}"
        _migrate(url)
        yield url
        return
    name = f"mso_flow_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    database = Database(url)
    migrate.upgrade(database.engine, MIGRATIONS)
    database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        bpmn_dir=BPMN_DIR,
        migrations_dir=MIGRATIONS,
        admin_token=None,
        audit_signing_key_file=tmp_path_factory.getbasetemp() / "audit-ed25519.pem",
        master_key_file=tmp_path_factory.getbasetemp() / "master.keys",
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Services on an empty database (fresh caches per test)."""
    database = Database(settings.database_url, pool_size=20)
    clean(database)
    yield Services(settings=settings, db=database)
    database.dispose()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def make_user(services: Services) -> Callable[..., dict[str, str]]:
    """Create a user with roles; return the Authorization header of its token."""

    def make(username: str, *roles: str) -> dict[str, str]:
        _, token = users.create_user(services, SYSTEM, username, list(roles), force=True)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def admin(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_user("admin", "admin")


@pytest.fixture
def saraban(services: Services) -> str:
    """The manual's สารบรรณ process, deployed; returns its key."""
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", SARABAN.read_bytes())])
    return "central_saraban"
