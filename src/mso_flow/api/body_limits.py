"""Refuse request bodies larger than the configured limit (413) before reading them whole: JSON bodies, deployments
(multipart), and document uploads (`api/uploads.py`: the document limit plus the form around the file)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mso_flow.api.problems import problem
from mso_flow.api.uploads import FORM_SLACK, is_document_upload


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: checks Content-Length, then counts streamed bytes."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int, max_document_bytes: int):
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_document_bytes = max_document_bytes + FORM_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type, declared = b"", None
        for name, value in scope.get("headers") or ():  # as dict(headers) would: the last one of a name counts
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                declared = value
        limit = self.max_bytes
        if content_type.startswith(b"multipart/"):
            limit = self.max_document_bytes if is_document_upload(scope["path"]) else self.max_upload_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(413, "payload_too_large", f"ข้อมูลที่ส่งมาเกิน {limit} ไบต์ (request body too large)")
        await response(scope, receive, send)
