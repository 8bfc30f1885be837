"""Failures a use case reports to its caller; the HTTP layer maps each kind to a status code.

Messages are Thai first (staff read them), with the English gist for integrators; `code` is a stable ASCII
identifier clients can branch on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mso_flow.engine.runtime import EngineError
    from mso_flow.services.platform.context import Definition
    from mso_flow.store.models import ProcessInstance


class ServiceError(Exception):
    """Base of every expected failure of a use case."""

    kind = "error"

    def __init__(self, code: str, message: str, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or []
        self.extra = extra


class NotFound(ServiceError):
    kind = "not_found"


class Unauthenticated(ServiceError):
    kind = "unauthenticated"


class Forbidden(ServiceError):
    kind = "forbidden"


class Conflict(ServiceError):
    kind = "conflict"


class Invalid(ServiceError):
    """Input that is well formed but not acceptable (422)."""

    kind = "invalid"


class BadRequest(ServiceError):
    """Input that is malformed (400)."""

    kind = "bad_request"


class Unavailable(ServiceError):
    """The service cannot answer as configured (503), e.g. a master key it does not have."""

    kind = "unavailable"


class TooLarge(ServiceError):
    """Input over a size limit (413), e.g. a document over `MSO_FLOW_DOCUMENT_MAX_BYTES`."""

    kind = "too_large"


class UnsupportedType(ServiceError):
    """Content of a type not allowed, or not the type it claims to be (415)."""

    kind = "unsupported_type"


# The error a person gets when their command hits a defect of the process (a failing condition or script, a
# limit, a result that cannot be stored): a Thai 422 `process_error` naming the element; `incidents.recorded`
# commits it as an incident and adds `incident_id`.


def where(err: EngineError) -> str:
    return f"{err.element_name} ({err.element_id})" if err.element_name else (err.element_id or "-")


class ProcessDefect(Invalid):
    """A 422 `process_error` for the person whose command hit a defect of the process; `recorded` commits the
    incident and adds its id."""

    def __init__(
        self, err: EngineError, instance_id: str | None, definition: Definition | None, actor: str | None
    ) -> None:
        super().__init__(
            "process_error",
            f"กระบวนการนี้มีข้อบกพร่องที่ขั้นตอน {where(err)} ระบบแจ้งผู้ดูแลระบบแล้ว ไม่มีการเปลี่ยนแปลงใด ๆ "
            f"โปรดลองใหม่ภายหลัง: {err} (the process has a defect at this element; the administrators were told; "
            "nothing was changed)",
            element_id=err.element_id,
        )
        self.error = err
        self.instance_id = instance_id
        self.definition = definition
        self.actor = actor


def engine_failure(
    err: EngineError,
    instance: ProcessInstance | None = None,
    definition: Definition | None = None,
    actor: str | None = None,
) -> ProcessDefect:
    """The error a command raises for a process error; with `definition` it becomes an incident."""
    return ProcessDefect(err, instance.id if instance is not None else None, definition, actor)
