"""`compose.yaml` starts the service on PostgreSQL 15 with health checks, a data volume, a key volume and secrets
from an env file, with two database roles: `migrate` migrates as the schema's owner, `app` serves as the service
role and never holds the owner's or the superuser's password. Its init script is run against the real PostgreSQL
(a throwaway database and roles), then the migration and `mso-flow serve` with compose's environment: a protected
case works, and the service role cannot drop or alter tables nor rewrite the append-only ones.
`docker compose config` accepts the file where the compose plugin is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from mso_flow.settings import Settings
from tests.conftest import ROOT
from tests.live import PG_SERVER, live_service, postgres_database
from tests.ops.dockerfile import read_dockerfile
from tests.ops.protected_case import hotline_case

COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
INIT_DIR = "/docker-entrypoint-initdb.d/"
NOT_FOR_THE_SERVICE = ("POSTGRES_PASSWORD", "POSTGRES_OWNER_PASSWORD")  # the superuser's, the schema owner's
KEY_SETTINGS = ("MSO_FLOW_MASTER_KEY_FILE", "MSO_FLOW_AUDIT_SIGNING_KEY_FILE")


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_]+=", line))
    return dict(pairs)


def _services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _interpolated(environment: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """A service's environment with compose's `${NAME}`, `${NAME:?…}` and `${NAME:-…}` filled from `values`."""
    pattern = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
    return {key: pattern.sub(lambda m: values[m[1]], str(value)) for key, value in environment.items()}


def test_compose_runs_the_service_on_a_healthy_postgres_with_a_volume():
    compose = yaml.safe_load(COMPOSE.read_text())
    db, app = compose["services"]["db"], compose["services"]["app"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume, mount = db["volumes"][0].split(":")
    assert volume in compose["volumes"] and mount == "/var/lib/postgresql/data"
    assert "/health" in " ".join(app["healthcheck"]["test"])
    assert "@db:5432/mso_flow" in app["environment"]["MSO_FLOW_DATABASE_URL"]
    assert app["command"][:2] == ["mso-flow", "serve"] and "--workers" in app["command"]
    assert all(port.startswith("127.0.0.1:") for port in app["ports"])  # the proxy in front adds TLS


def test_the_env_example_names_every_variable_compose_needs_and_only_real_settings():
    env = _env_example()
    needed = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    assert needed <= env.keys()
    assert {"MSO_FLOW_ADMIN_TOKEN", "MSO_FLOW_METRICS_TOKEN", "POSTGRES_PASSWORD"} <= env.keys()
    settings = {f"MSO_FLOW_{name.upper()}" for name in Settings.model_fields}
    assert {k for k in env if k.startswith("MSO_FLOW_")} <= settings
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_docker_compose_config_accepts_it(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed: the structure was checked above")
    shutil.copy(COMPOSE, tmp_path / "compose.yaml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    result = subprocess.run([docker, "compose", "config", "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_compose_migrates_as_the_owner_and_serves_as_the_service_role_apart_from_the_superuser():
    services = _services()
    db, migrate, app = services["db"], services["migrate"], services["app"]
    owner, service = db["environment"]["POSTGRES_OWNER_ROLE"], db["environment"]["POSTGRES_SERVICE_ROLE"]
    superuser = db["environment"]["POSTGRES_USER"]
    assert len({owner, service, superuser}) == 3
    script, mount = next(v.split(":")[:2] for v in db["volumes"] if INIT_DIR in v)
    assert (ROOT / script).is_file() and os.access(ROOT / script, os.X_OK) and mount.endswith(".sh")

    assert migrate["command"] == ["mso-flow", "db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert make_url(migrate["environment"]["MSO_FLOW_MIGRATION_DATABASE_URL"]).username == owner
    assert migrate["environment"]["MSO_FLOW_SERVICE_DATABASE_ROLE"] == service

    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert make_url(app["environment"]["MSO_FLOW_DATABASE_URL"]).username == service
    assert "env_file" not in app and "MSO_FLOW_MIGRATION_DATABASE_URL" not in app["environment"]
    handed = " ".join(map(str, app["environment"].values()))
    assert not any(f"${{{name}" in handed for name in NOT_FOR_THE_SERVICE), "only its own role's password"

    # the keys (the Dockerfile's key settings) on a volume of their own, never the database's
    settings = {**read_dockerfile()[-1].env, **app["environment"]}
    folders = {str(Path(settings[name]).parent) for name in KEY_SETTINGS}
    mounts = dict(reversed(volume.split(":")[:2]) for volume in app["volumes"])
    assert {mounts.get(folder) for folder in folders} == {"keys"}
    assert "keys" in yaml.safe_load(COMPOSE.read_text())["volumes"] and "keys" not in str(db["volumes"])


@pytest.fixture
def db_environment() -> Iterator[dict[str, str]]:
    """The db service's environment, for a throwaway database on the local PostgreSQL and roles of unique names
    (roles belong to the whole server); the database, then the roles, are dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    env = _interpolated(_services()["db"]["environment"], _env_example())
    env["POSTGRES_USER"] = make_url(PG_SERVER).username or "postgres"
    env["POSTGRES_OWNER_ROLE"] += f"_{suffix}"
    env["POSTGRES_SERVICE_ROLE"] += f"_{suffix}"
    try:
        with postgres_database() as url:  # made by the superuser, as the image makes POSTGRES_DB
            env["POSTGRES_DB"] = make_url(url).database or ""
            yield env
    finally:
        admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for role in (env["POSTGRES_OWNER_ROLE"], env["POSTGRES_SERVICE_ROLE"]):
                connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_the_init_script_makes_roles_that_migrate_and_serve_as_compose_says(db_environment, tmp_path):
    if shutil.which("psql") is None:
        pytest.skip("psql (PostgreSQL's client) is not installed")
    services, server, env = _services(), make_url(PG_SERVER), db_environment
    script = next(volume.split(":")[0] for volume in services["db"]["volumes"] if INIT_DIR in volume)
    libpq = {"PGHOST": server.host or "127.0.0.1", "PGPORT": str(server.port or 5432)}
    ran = subprocess.run(["sh", ROOT / script], env={**os.environ, **env, **libpq}, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    compose_names = services["db"]["environment"]
    roles = {compose_names[key]: env[key] for key in ("POSTGRES_OWNER_ROLE", "POSTGRES_SERVICE_ROLE")}
    owner, service = roles.values()

    def here(url: str) -> str:
        """A URL of compose (host `db`) on the local server, its throwaway database and this test's roles."""
        parsed = make_url(url)
        local = parsed.set(host=server.host, port=server.port, database=env["POSTGRES_DB"])
        return local.set(username=roles[parsed.username or ""]).render_as_string(hide_password=False)

    migrate = _interpolated(services["migrate"]["environment"], _env_example())
    migrate["MSO_FLOW_MIGRATION_DATABASE_URL"] = here(migrate["MSO_FLOW_MIGRATION_DATABASE_URL"])
    migrate["MSO_FLOW_SERVICE_DATABASE_ROLE"] = roles[migrate["MSO_FLOW_SERVICE_DATABASE_ROLE"]]
    command = services["migrate"]["command"]
    assert command[0] == "mso-flow"
    upgraded = subprocess.run(
        [sys.executable, "-m", "mso_flow.cli", *command[1:]], env={**os.environ, **migrate}, capture_output=True
    )
    assert upgraded.returncode == 0, upgraded.stderr

    superuser = create_engine(f"{PG_SERVER}/{env['POSTGRES_DB']}")
    try:
        with superuser.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT rolname, rolcanlogin, rolsuper OR rolcreaterole OR rolcreatedb, rolpassword IS NOT NULL "
                    "FROM pg_authid WHERE rolname IN (:owner, :service) ORDER BY rolname = :service"
                ),
                {"owner": owner, "service": service},
            ).all()
            assert [tuple(row) for row in found] == [(owner, True, False, True), (service, True, False, True)]
            database_owner = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
            assert connection.execute(text(database_owner)).scalar_one() == owner
            table_owners = "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
            assert set(connection.execute(text(table_owners)).scalars()) == {owner}
    finally:
        superuser.dispose()

    app = _interpolated(services["app"]["environment"], _env_example())
    service_url = here(app.pop("MSO_FLOW_DATABASE_URL"))
    # one worker instead of compose's four: the role is the subject here, not the workers
    with live_service(service_url, tmp_path, workers=1, extra_env=app) as live, live.client() as admin:
        instance_id = hotline_case(admin)

    engine = create_engine(service_url)
    refused = [
        "DROP TABLE process_instance",
        "ALTER TABLE process_instance ADD COLUMN shadow int",
        "ALTER TABLE audit_event DISABLE TRIGGER ALL",
        "TRUNCATE audit_event",
        "CREATE TABLE shadow (id int)",
        *(
            statement.format(table=table)
            for table in ("audit_event", "personal_data_read")
            for statement in (
                "UPDATE {table} SET actor = 'x' WHERE instance_id = :id",
                "DELETE FROM {table} WHERE instance_id = :id",
            )
        ),
    ]
    try:
        for statement in refused:
            with engine.connect() as connection, pytest.raises(DBAPIError) as caught:
                connection.execute(text(statement), {"id": instance_id})
            assert caught.value.orig is not None and caught.value.orig.sqlstate == "42501", statement  # type: ignore[attr-defined]
        with engine.connect() as connection:
            for table in ("audit_event", "personal_data_read"):
                count = f"SELECT count(*) FROM {table} WHERE instance_id = :id"
                assert connection.execute(text(count), {"id": instance_id}).scalar_one() > 0, table
    finally:
        engine.dispose()
