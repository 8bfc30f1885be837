"""Settings from the environment (`MSO_FLOW_*`)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _project_dir(name: str) -> Path:
    """`name` next to the source tree (a checkout), else in the working directory (an installed package)."""
    candidate = _SOURCE_ROOT / name
    return candidate if candidate.is_dir() else Path.cwd() / name


class Settings(BaseSettings):
    """Service configuration; every field can be set as `MSO_FLOW_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="MSO_FLOW_", extra="ignore")

    database_url: str = Field(default="sqlite:///./mso_flow.db", description="SQLAlchemy database URL")
    bpmn_dir: Path = Field(default_factory=lambda: _project_dir("bpmn"), description="BPMN files deployed at start")
    migrations_dir: Path = Field(default_factory=lambda: _project_dir("migrations"))
    admin_token: str | None = Field(default=None, description="token of the bootstrap user `admin`")
    admin_password: str | None = Field(default=None, description="web-app password of the bootstrap user `admin`")
    deploy_on_start: bool = True
    max_body_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    max_variables_bytes: int = Field(default=256 * 1024, description="largest JSON of an instance's variables")
    min_timer_interval_seconds: float = Field(default=60.0, description="shortest timer cycle or start delay")
    expression_cpu_seconds: float = Field(default=1.0, description="CPU budget of one condition or script")
    expression_wall_seconds: float = Field(default=2.0, description="wall-clock budget of one condition or script")
    expression_memory_mb: int = Field(default=256, description="memory growth allowed during an evaluation")
    engine_command_seconds: float = Field(default=10.0, description="CPU budget of one engine command")
    holidays_file: Path | None = Field(
        default=None, description="extra non-working days (YAML list of dates) announced by the cabinet"
    )
    roles_file: Path | None = Field(
        default_factory=lambda: _project_dir("bpmn") / "roles.yaml",
        description="YAML map of lane names (composite cells included) to the ministry's role names",
    )
    db_pool_size: int = 10
    threads: int = Field(default=4, description="threads per service process that run requests")
    background: bool = Field(default=True, description="run timers, webhooks and lock sweeps in this process")
    scheduler_interval_seconds: float = Field(default=1.0, description="how often due timers and webhooks are polled")
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = Field(default=12, description="attempts before a delivery is marked failed")
    webhook_backoff_seconds: float = Field(default=5.0, description="first retry delay; doubles per attempt, max 1 h")
    metrics_token: str | None = Field(
        default=None, description="bearer token of GET /metrics; unset: /metrics answers loopback clients only"
    )
    log_format: Literal["json", "text"] = Field(default="text", description="json: one JSON object per log line")
    webhook_allowed_networks: str = Field(
        default="", description="comma-separated CIDRs of internal receivers webhooks may reach (else public only)"
    )
    webhook_concurrency: int = Field(default=8, description="deliveries made at the same time per service process")
    webhook_breaker_failures: int = Field(default=5, description="consecutive failures that pause a subscription")
    webhook_breaker_cooldown_seconds: float = Field(default=60.0, description="how long a paused subscription waits")
    listen_port: int | None = Field(default=None, description="set by `mso-flow serve`: webhooks never call it")
    audit_signing_key_file: Path = Field(
        default=Path("mso_flow_audit_ed25519.pem"),
        description="Ed25519 private key (PEM) that signs audit heads; created with mode 0600 if absent",
    )
    master_key_file: Path = Field(
        default=Path("mso_flow_master.keys"),
        description="AES-256 master keys (base64, one a line, the first the current) that wrap the data keys of "
        "personal data; created with mode 0600 if absent and MSO_FLOW_MASTER_KEY is unset",
    )
    master_key: SecretStr | None = Field(
        default=None, description="the master keys as base64, comma-separated, current first (instead of the file)"
    )
    personal_data_retention_days: int = Field(
        default=1825, ge=1, description="days an ended instance's personal data is kept, unless its process says"
    )
    retention_sweep_seconds: float = Field(
        default=3600.0, gt=0, description="how often instances past their retention are looked for and erased"
    )
    migration_database_url: str | None = Field(
        default=None, description="URL of the role that owns the schema (migrations); default: database_url"
    )
    service_database_role: str | None = Field(
        default=None, description="PostgreSQL role the service connects as; granted its rights after migrations"
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
