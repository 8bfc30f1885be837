"""The names MSO Flow's layers share: built-in roles and the states of instances, tasks, timers, deliveries,
notifications and external tasks.

A leaf module (it imports nothing of MSO Flow), so `api`, `services`, `engine` and `store` may all use it. Every
value equals the string stored in the database and shown in the API, so these enums change neither: a
`StrEnum` compares equal to its string and serialises as it.
"""

from __future__ import annotations

from enum import StrEnum

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"  # the one spelling of the BPMN 2.0 model namespace


class Role(StrEnum):
    """Roles the service itself knows; every other role is a staff role named by a process's lanes."""

    ADMIN = "admin"
    DESIGNER = "designer"
    INTEGRATOR = "integrator"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    PRIVACY_OFFICER = "privacy_officer"  # reads and erases personal data; grants it to webhooks


BUILT_IN_ROLES = frozenset(Role)
# Roles that read what an admin may not (personal values; who read them): granted and removed only by an operator
# at the service's host (`mso-flow users …`), never over the API or the web app (services/policy.py).
PRIVILEGED_ROLES = frozenset({Role.PRIVACY_OFFICER, Role.AUDITOR})
# Who sees every task (to follow up on any of them) and who sees every instance (also designers, to see how
# their processes run); seeing an instance is not reading its data (see DATA_OVERSIGHT_ROLES).
TASK_OVERSIGHT_ROLES = frozenset({Role.ADMIN, Role.INTEGRATOR, Role.AUDITOR})
INSTANCE_OVERSIGHT_ROLES = frozenset({Role.ADMIN, Role.INTEGRATOR, Role.DESIGNER, Role.AUDITOR, Role.PRIVACY_OFFICER})
# Who reads every instance's data (variables, audit detail) and every report: `auditor` reads, never changes.
DATA_OVERSIGHT_ROLES = frozenset({Role.ADMIN, Role.AUDITOR, Role.PRIVACY_OFFICER})
# A role `manager:<unit>` (the unit as processes name it, e.g. manager:กองกลาง) reads that unit's reports.
MANAGER_PREFIX = "manager:"
# Systems that start processes, send messages, work external tasks and subscribe to webhooks.
SYSTEM_ROLES = frozenset({Role.ADMIN, Role.INTEGRATOR})
DEPLOYER_ROLES = frozenset({Role.ADMIN, Role.DESIGNER})


class InstanceState(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    FAILED = "failed"


ACTIVE_INSTANCE_STATES = (InstanceState.RUNNING, InstanceState.SUSPENDED)


class TaskState(StrEnum):
    """A human task's state."""

    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class DelegationState(StrEnum):
    PENDING = "pending"
    RESOLVED = "resolved"


class TimerState(StrEnum):
    WAITING = "waiting"
    FIRED = "fired"
    CANCELLED = "cancelled"
    FAILED = "failed"


class TimerKind(StrEnum):
    EVENT = "event"  # a timer event an instance waits at (boundary or intermediate)
    START = "start"  # a timer start event of a definition


class DeliveryState(StrEnum):
    """A webhook delivery's state."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class NotificationKind(StrEnum):
    """What a notification tells a person (in the app and in the `X-MSO-Notification` header of its mail)."""

    TASK_CREATED = "task_created"
    TASK_ASSIGNED = "task_assigned"
    TASK_DUE_SOON = "task_due_soon"
    TASK_OVERDUE = "task_overdue"
    INCIDENT_OPENED = "incident_opened"
    DIGEST = "digest"  # a mail only: the day's notifications of a person who chose the daily digest


class EmailMode(StrEnum):
    """How a person wants their notifications by e-mail (`PUT /api/v1/me/notification-settings`)."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"  # one mail at 08:00 Asia/Bangkok on working days
    OFF = "off"


class MailState(StrEnum):
    """A notification mail's state (services/notifications/delivery.py has the transitions)."""

    PENDING = "pending"  # due at next_attempt_at
    LEASED = "leased"  # a deliverer holds it until next_attempt_at; nothing was sent yet
    SENDING = "sending"  # the message may be on the wire: never sent again
    SENT = "sent"
    FAILED = "failed"  # refused by the relay, or out of attempts
    UNKNOWN = "unknown"  # the relay may or may not have taken it (cut during DATA): not sent again
    DROPPED = "dropped"  # the person has no address or chose `off` before it went


class ExternalTaskState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class DefinitionSource(StrEnum):
    """Where a definition version came from (see docs/architecture.md, "Deploying at start-up")."""

    FILE = "file"  # a file of the `bpmn/` directory, deployed at start-up
    API = "api"  # POST /api/v1/deployments (or the CLI acting as a designer)


class Severity(StrEnum):
    """How a finding of the verdict on a deployment counts (docs/architecture.md, "The verdict on BPMN")."""

    ERROR = "error"  # the file cannot run as written: the deployment is refused
    WARNING = "warning"  # it may be wrong: the version deploys and carries the finding


class ResourceKind(StrEnum):
    """What a file of a deployment holds."""

    BPMN = "bpmn"  # processes
    DMN = "dmn"  # a decision table that business rule tasks evaluate


class ReadPurpose(StrEnum):
    """Why unmasked personal values left the service (the `purpose` of a `personal_data_read` row)."""

    VIEW = "view"  # an instance, its variables or its audit trail
    TASK = "task"  # a task with its instance's variables
    LIST = "list"  # a list of instances
    EXPORT = "export"  # the privacy officer's data-subject export
    WORKER = "worker"  # an external task locked by a worker
    WEBHOOK = "webhook"  # a delivery to a subscriber granted personal data
    DOCUMENT = "document"  # the contents of a sealed document (download or preview)
