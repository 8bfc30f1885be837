"""`compose.yaml` starts the service on PostgreSQL 15 with health checks, a data volume and secrets from an env
file; `docker compose config` accepts it where the compose plugin is installed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from mso_flow.settings import Settings
from tests.conftest import ROOT

COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_]+=", line))
    return dict(pairs)


def test_compose_runs_the_service_on_a_healthy_postgres_with_a_volume():
    compose = yaml.safe_load(COMPOSE.read_text())
    db, app = compose["services"]["db"], compose["services"]["app"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume, mount = db["volumes"][0].split(":")
    assert volume in compose["volumes"] and mount == "/var/lib/postgresql/data"
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "/health" in " ".join(app["healthcheck"]["test"])
    assert app["env_file"] == ".env"
    assert app["environment"]["MSO_FLOW_DATABASE_URL"].startswith("postgresql+psycopg://mso_flow:")
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
