"""Settings from the environment (`MSO_FLOW_*`)."""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SOURCE_ROOT = Path(__file__).resolve().parents[2]
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
DURATION = re.compile(r"^P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$")


def _project_dir(name: str) -> Path:
    """`name` next to the source tree (a checkout), else in the working directory (an installed package)."""
    candidate = _SOURCE_ROOT / name
    return candidate if candidate.is_dir() else Path.cwd() / name


def _key_dir() -> Path:
    """Where the keys live unless set: the service user's configuration folder (XDG), apart from the database and
    from the working directory (a backup or a checkout of either holds no key)."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")) / "mso-flow"


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
    document_max_bytes: int = Field(
        default=26_214_400, gt=0, description="largest document file (a version) accepted; larger: 413"
    )
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
    background: bool = Field(
        default=True,
        description="run the background work (timers, webhooks, notifications, retention): `serve` in a process "
        "of its own (mso_flow/background.py), never in its web workers",
    )
    worker_nice: int = Field(default=10, ge=0, le=19, description="how much lower the background process's priority is")
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
        default_factory=lambda: _key_dir() / "audit-ed25519.pem",
        description="Ed25519 private key (PEM) that signs audit heads; created with mode 0600 at start if absent",
    )
    master_key_file: Path = Field(
        default_factory=lambda: _key_dir() / "master.keys",
        description="AES-256 master keys (base64, one a line, the first the current) that wrap the data keys of "
        "personal data; created with mode 0600 at start if absent and MSO_FLOW_MASTER_KEY is unset",
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
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or CIDRs of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; empty: none, the connection's address is the client's",
    )

    smtp_url: SecretStr | None = Field(
        default=None,
        description="the mail relay: smtp://host:port, smtp+starttls://user:password@host:587 or smtps://…; "
        "unset: notifications in the app only",
    )
    mail_from: str = Field(default="MSO Flow <noreply@localhost>", description="the sender of notification mails")
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="the web app's public base URL, for links in mails"
    )
    due_soon: str = Field(
        default="P1D", description="ISO 8601 duration before due_at that counts as due soon (days: working days)"
    )
    smtp_ca_file: Path | None = Field(
        default=None, description="CA certificates (PEM) the relay's certificate is checked against (else the system's)"
    )
    mail_timeout_seconds: float = Field(default=30.0, gt=0, description="deadline of each SMTP exchange")
    mail_max_attempts: int = Field(default=12, ge=1, description="attempts before a mail is marked failed")
    mail_backoff_seconds: float = Field(default=30.0, gt=0, description="first retry delay; doubles, max 1 h")
    mail_concurrency: int = Field(default=4, ge=1, description="mails sent at the same time per service process")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        """smtp, smtp+starttls or smtps with a host; an empty value means no mail."""
        if value is None or not value.get_secret_value().strip():
            return None
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise ValueError("MSO_FLOW_SMTP_URL: smtp://host:port, smtp+starttls://user:password@host:587 or smtps://")
        return value

    @field_validator("due_soon")
    @classmethod
    def _duration(cls, value: str) -> str:
        """An ISO 8601 duration the working calendar understands (`P1D`, `PT4H`)."""
        text = value.strip().upper()
        if not DURATION.match(text) or text in ("P", "PT"):
            raise ValueError(f"MSO_FLOW_DUE_SOON: {value!r} is not an ISO 8601 duration such as P1D or PT4H")
        return text

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        """Each entry an address or a network (`10.0.0.5`, `10.1.0.0/16`), written as networks."""
        items = (item.strip() for item in value.split(","))
        return ",".join(str(ipaddress.ip_network(item, strict=False)) for item in items if item)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
