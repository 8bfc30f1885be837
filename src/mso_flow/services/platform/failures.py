"""Failures a use case reports to its caller; the HTTP layer maps each kind to a status code.

Messages are Thai first (staff read them), with the English gist for integrators; `code` is a stable ASCII
identifier clients can branch on.
"""

from __future__ import annotations

from typing import Any


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
