"""SQLAlchemy models of MSO Flow's store (one schema for SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mso_flow.domain import ACTIVE_INSTANCE_STATES

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


ACTIVE_STATES = ACTIVE_INSTANCE_STATES


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # NULL: token revoked
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    token_created_at: Mapped[datetime | None]
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)  # notifications only; never in the audit
    email_notifications: Mapped[str] = mapped_column(  # EmailMode: immediate | digest | off
        String(16), default="immediate", server_default="immediate"
    )
    # set by an admin's (re)set or a one-time bootstrap password: the person chooses a new one before anything else
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default=false())


class WebSession(Base):
    """A browser session of the web app; the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "web_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("app_user.username", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginFailure(Base):
    """Failed logins per (username, client address), hashed; slows the next attempts of that pair."""

    __tablename__ = "login_failure"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime]


class Deployment(Base):
    __tablename__ = "deployment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16))  # DefinitionSource: file | api
    files: Mapped[list[str]] = mapped_column(JSON)
    name: Mapped[str | None] = mapped_column(String(300))


class ProcessDefinition(Base):
    """One version of one process: its BPMN as deployed and the facts the service needs to run it."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(200), index=True)
    file_name: Mapped[str] = mapped_column(String(300))
    bpmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"))
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(8), server_default="api")  # DefinitionSource: file | api
    # The verdict's warnings on its file (`Problem.as_dict`), shown with the version
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # The other files it was parsed with: {"kind": ResourceKind, "key": called process or decision, "id": version}
    resources: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default=text("'[]'"))


class DecisionDefinition(Base):
    """One version of one DMN decision (a `.dmn` file) as deployed; business rule tasks evaluate it."""

    __tablename__ = "decision_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)  # the decision's id, what camunda:decisionRef names
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(String(300))
    dmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(8))  # DefinitionSource: file | api


class ProcessInstance(Base):
    """A running or finished instance: its engine state (text, never jsonb) and its audit chain head."""

    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_key_state", "definition_key", "state"),
        Index(
            "uq_process_instance_active_business_key",
            "definition_key",
            "business_key",
            unique=True,
            sqlite_where=text("business_key IS NOT NULL AND state IN ('running', 'suspended')"),
            postgresql_where=text("business_key IS NOT NULL AND state IN ('running', 'suspended')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definition.id"), index=True)
    definition_key: Mapped[str] = mapped_column(String(64))
    definition_version: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(16))
    engine_state: Mapped[str] = mapped_column(Text)
    variables: Mapped[dict[str, Any]] = mapped_column(JSON)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(100))
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(100))
    end_reason: Mapped[str | None] = mapped_column(Text)
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="")
    # Ed25519 signature of (id, audit_seq, audit_head) by a key the database does not hold
    # (services/platform/anchoring.py)
    audit_signature: Mapped[str | None] = mapped_column(Text, default=None)

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012  (optimistic lock on every update)


class HumanTask(Base):
    """A user task the engine made ready: who may work it, who holds it, when it is due."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index(
            "ix_human_task_assignee_open",
            "assignee",
            "due_at",
            "id",
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index(
            "ix_human_task_open_due",
            "due_at",
            "id",
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_human_task_key_completed", "definition_key", "completed_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    definition_id: Mapped[str] = mapped_column(String(100))
    definition_key: Mapped[str] = mapped_column(String(64))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(Text)
    lane: Mapped[str | None] = mapped_column(String(300))
    candidate_roles: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(100))
    delegation_state: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))
    assigned_by: Mapped[str | None] = mapped_column(String(100), default=None)  # None: claimed (or in the pool)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class TaskCandidate(Base):
    """The roles that may work an open task, one row each; rows exist only while the task is open, and carry
    the task's due date and assignee so that inbox queries are answered from this index alone."""

    __tablename__ = "task_candidate"
    __table_args__ = (
        Index("ix_task_candidate_role_due", "role", "due_at", "task_id"),
        Index(
            "ix_task_candidate_unassigned",
            "role",
            "due_at",
            "task_id",
            sqlite_where=text("assignee IS NULL"),
            postgresql_where=text("assignee IS NULL"),
        ),
    )

    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(300), primary_key=True)
    due_at: Mapped[datetime | None]
    assignee: Mapped[str | None] = mapped_column(String(100))  # the task's, so inboxes never scan other roles


class AuditEvent(Base):
    """Append-only history: each event carries the hash of its predecessor and of its own content."""

    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("instance_id", "seq"),
        Index(
            "uq_audit_event_admin_seq",
            "seq",
            unique=True,
            sqlite_where=text("instance_id IS NULL"),
            postgresql_where=text("instance_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"))  # NULL: the admin chain
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(40))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    """The head of an audit chain that belongs to no instance (`admin`: user administration)."""

    __tablename__ = "audit_chain"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    head: Mapped[str] = mapped_column(String(64), default="")
    # Ed25519 signature of (name, seq, head) by a key the database does not hold (services/platform/anchoring.py)
    signature: Mapped[str | None] = mapped_column(Text, default=None)


class TaskComment(Base):
    """A comment on a task (Thai text), in the order written; also recorded in the instance's audit trail."""

    __tablename__ = "task_comment"
    __table_args__ = (Index("ix_task_comment_task_id_id", "task_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id"))
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)


class Timer(Base):
    """A due time the scheduler fires: a waiting timer event of an instance, or a timer start of a definition."""

    __tablename__ = "timer"
    __table_args__ = (
        Index(
            "ix_timer_waiting_due",
            "due_at",
            sqlite_where=text("state = 'waiting'"),
            postgresql_where=text("state = 'waiting'"),
        ),
        Index("ix_timer_instance_id", "instance_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"))
    definition_id: Mapped[str] = mapped_column(String(100))
    element_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # boundary | intermediate | start
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))  # waiting | fired | cancelled
    fired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MessageWait(Base):
    """A message an instance waits for (catch event, receive task, boundary), for correlation by name."""

    __tablename__ = "message_wait"
    __table_args__ = (
        Index("ix_message_wait_name_business_key", "name", "business_key"),
        Index("ix_message_wait_instance_id", "instance_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    name: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    element_id: Mapped[str | None] = mapped_column(String(200))


class Webhook(Base):
    """A subscriber of the service's events."""

    __tablename__ = "webhook"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True)
    process_keys: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # None: every process
    units: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # None: every unit
    include_variables: Mapped[bool] = mapped_column(default=True)
    # an explicit grant (by a privacy officer) to receive personal values unmasked; otherwise they arrive masked
    personal_data: Mapped[bool] = mapped_column(default=False, server_default=false())
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)  # the circuit breaker's count
    paused_until: Mapped[datetime | None] = mapped_column(default=None)  # the breaker is open until then


class WebhookDelivery(Base):
    """Transactional outbox: one row per event and subscriber, written with the change that caused it."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index(
            "ix_webhook_delivery_pending_next",
            "next_attempt_at",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_webhook_delivery_webhook_id", "webhook_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the stable X-MSO-Delivery id
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhook.id"))
    event: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    event_seq: Mapped[int | None] = mapped_column(Integer)  # the audit seq of the event, orders one instance's
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ExternalTask(Base):
    """A service task that an outside worker performs (Camunda's external task pattern)."""

    __tablename__ = "external_task"
    __table_args__ = (
        Index("ix_external_task_topic_state", "topic", "state", "lock_expires_at"),
        Index("ix_external_task_instance_id", "instance_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    definition_id: Mapped[str] = mapped_column(String(100))
    element_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))  # open | completed | cancelled
    worker_id: Mapped[str | None] = mapped_column(String(200))
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)  # the user whose worker holds the lock
    lock_expires_at: Mapped[datetime | None]
    retries: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    error_details: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DataKey(Base):
    """The data key of an instance that holds personal or classified data, wrapped by the operator's master key
    (`services/privacy/keyring.py`); `wrapped_key` NULL once the data is erased (crypto-shredding)."""

    __tablename__ = "data_key"

    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    master_key_id: Mapped[str | None] = mapped_column(String(32))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    erased_at: Mapped[datetime | None] = mapped_column(index=True)
    erased_by: Mapped[str | None] = mapped_column(String(100))
    erase_reason: Mapped[str | None] = mapped_column(Text)


class PersonalDataRead(Base):
    """Append-only record of every read of unmasked personal values: who, which instance, which fields, why."""

    __tablename__ = "personal_data_read"
    __table_args__ = (Index("ix_personal_data_read_instance_id_id", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(40))
    fields: Mapped[list[str]] = mapped_column(JSON)


# Tables of their own domain on the same metadata (migrations, the tests' cleaning), registered by importing them.
from mso_flow.store import documents as _documents  # noqa: E402, F401
