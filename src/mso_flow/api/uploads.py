"""Document uploads read from the request stream: `multipart/form-data` parsed as it arrives (python-multipart's
streaming parser), the file's bytes handed on in chunks to the service's staging (so a 25 MB file never sits
whole in a worker's memory) and the small text fields kept. Which paths take documents, and their body limit, is
here too: `BodyLimit` lets their bodies be `MSO_FLOW_DOCUMENT_MAX_BYTES` plus the form's own bytes, and answers
413 at once when Content-Length says more; the staging counts the file itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from mso_flow.services.documents.staging import CHUNK_BYTES, Staging, Target
from mso_flow.services.platform.failures import BadRequest, Invalid, TooLarge

DOCUMENT_UPLOAD = re.compile(
    r"^(/api/v1/process-instances/[^/]+/documents|/api/v1/documents/[^/]+/versions"
    r"|/engine-rest/task/[^/]+/attachment/create"
    r"|/app/tasks/[^/]+/documents|/app/instances/[^/]+/documents|/app/documents/[^/]+/versions)$"
)
FORM_SLACK = 64 * 1024  # the text fields, boundaries and part headers around the file
MAX_FIELD_BYTES = 16 * 1024


def is_document_upload(path: str) -> bool:
    return DOCUMENT_UPLOAD.match(path) is not None


@dataclass
class Upload:
    """A multipart upload as read: its text fields and the staging that received its file (None: no file)."""

    fields: dict[str, str] = field(default_factory=dict)
    staging: Staging | None = None

    @property
    def file(self) -> Staging:
        """The staging of the file (`received` guarantees there is one)."""
        assert self.staging is not None
        return self.staging

    def close(self) -> None:
        if self.staging is not None:
            self.staging.close()


class _Events:
    """python-multipart's callbacks, queued as events for the async reader."""

    def __init__(self) -> None:
        self.queue: list[tuple[str, Any]] = []
        self._name = bytearray()
        self._value = bytearray()
        self._headers: dict[str, bytes] = {}

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": lambda: self.queue.append(("headers", self._headers)),
            "on_part_data": lambda data, start, end: self.queue.append(("data", bytes(data[start:end]))),
            "on_part_end": lambda: self.queue.append(("end", None)),
        }

    def _begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._name.decode("latin-1").lower()] = bytes(self._value)
        self._name.clear()
        self._value.clear()


def _disposition(headers: dict[str, bytes]) -> tuple[str, str | None]:
    """(the part's name, its file name or None), `filename*` (RFC 5987) and raw UTF-8 names both understood."""
    raw = headers.get("content-disposition", b"")
    _, params = parse_options_header(raw)
    message = Message()
    message["content-disposition"] = raw.decode("utf-8", "replace")
    filename = message.get_filename()
    return params.get(b"name", b"").decode("utf-8", "replace"), filename


def _boundary(request: Request) -> bytes:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not params.get(b"boundary"):
        raise BadRequest("multipart_required", "ต้องส่งแบบ multipart/form-data (send multipart/form-data)")
    return params[b"boundary"]


async def read_upload(
    request: Request, file_field: str, open_file: Callable[[str | None, str | None], Staging]
) -> Upload:
    """Read a multipart body: the part named `file_field` goes, chunk by chunk, into the staging `open_file(name,
    content type)` returns; other parts are text fields (at most `MAX_FIELD_BYTES` each). On any failure the
    staging is closed (nothing of the upload remains) and the error raised."""
    events = _Events()
    parser = MultipartParser(_boundary(request), events.callbacks())  # type: ignore[arg-type]
    upload = Upload()
    current: str | None = None
    text = bytearray()
    pending = bytearray()
    try:
        async for body in request.stream():
            parser.write(body)
            for kind, value in events.queue:
                if kind == "headers":
                    current, filename = _disposition(value)
                    if current == file_field:
                        if upload.staging is not None:
                            raise Invalid("one_file", "ส่งได้ครั้งละหนึ่งไฟล์ (one file per request)")
                        content_type = value.get("content-type", b"").decode("latin-1") or None
                        upload.staging = await run_in_threadpool(open_file, filename, content_type)
                elif kind == "data" and current == file_field:
                    pending += value
                    if len(pending) >= CHUNK_BYTES:
                        await run_in_threadpool(upload.staging.write, bytes(pending))  # type: ignore[union-attr]
                        pending.clear()
                elif kind == "data":
                    text += value
                    if len(text) > MAX_FIELD_BYTES:
                        raise TooLarge("field_too_large", f"ช่อง {current} ยาวเกินไป (form field too large)")
                elif kind == "end":
                    if current == file_field and pending:
                        await run_in_threadpool(upload.staging.write, bytes(pending))  # type: ignore[union-attr]
                        pending.clear()
                    elif current and current != file_field:
                        upload.fields[current] = text.decode("utf-8", "replace")
                    current = None
                    text.clear()
            events.queue.clear()
        parser.finalize()
    except BaseException:
        upload.close()
        raise
    return upload


@asynccontextmanager
async def received(request: Request, file_field: str, target: Target) -> AsyncIterator[Upload]:
    """The upload of a request for `target`, its file required (422 `file_required` naming the part); closed (its
    staged file gone) when the block ends, whatever happened."""
    upload = await read_upload(request, file_field, lambda name, content_type: Staging(target, name, content_type))
    try:
        if upload.staging is None:
            raise Invalid(
                "file_required",
                f"ต้องแนบไฟล์ในช่อง {file_field} (a file part named {file_field!r} is required)",
                [{"field": file_field, "message": "ต้องแนบไฟล์"}],
            )
        yield upload
    finally:
        upload.close()


def multipart_body(file_field: str, **fields: str) -> dict[str, Any]:
    """The OpenAPI request body of an upload route (its body is read from the stream, not by FastAPI)."""
    properties: dict[str, Any] = {file_field: {"type": "string", "format": "binary"}}
    properties |= {name: {"type": "string", "description": text} for name, text in fields.items()}
    schema = {"type": "object", "required": [file_field], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}
