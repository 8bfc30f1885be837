"""Refuse input no database or engine should see, before any route runs (422 problem+json naming the limit).

Checked on every request: the path and query string carry no NUL; a JSON body nests at most
`MAX_JSON_DEPTH` levels, holds no NUL or lone surrogate in any key or string, no NaN/Infinity (nor a number
too large for a float, nor an integer beyond 64 bits), and its `variables`/`payload` members serialise to at
most `max_variables_bytes`.
PostgreSQL refuses NUL and lone surrogates in text and JSON, and a 300-level document breaks the JSON tools
that read variables back; refusing them here means no instance is ever written with them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mso_flow.api.problems import problem

MAX_JSON_DEPTH = 32
VARIABLE_MEMBERS = ("variables", "payload")
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class InputRefused(ValueError):
    """Input outside a limit: `code` is the problem type, the message names the limit."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _non_finite(token: str) -> float:
    raise InputRefused("non_finite_number", f"ตัวเลข {token} ใช้ไม่ได้ (NaN and Infinity are not JSON numbers)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputRefused("non_finite_number", f"ตัวเลข {text[:40]} ใหญ่เกินไป (number out of the float range)")
    return value


def _bounded_int(text: str) -> int:
    value = int(text)
    if value.bit_length() > 63:
        raise InputRefused("number_out_of_range", f"จำนวนเต็ม {text[:40]} ใหญ่เกินไป (integers must fit in 64 bits)")
    return value


def _strings(value: Any, depth: int = 1) -> Iterator[str]:
    """Every key and string of a parsed JSON value; `InputRefused` past `MAX_JSON_DEPTH` levels."""
    if depth > MAX_JSON_DEPTH:
        raise InputRefused(
            "json_too_deep",
            f"ข้อมูลซ้อนกันเกิน {MAX_JSON_DEPTH} ชั้น (JSON nested deeper than {MAX_JSON_DEPTH} levels)",
        )
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def check_text(text: str, where: str) -> None:
    """`InputRefused` when `text` holds a NUL or a lone surrogate."""
    if _BAD_TEXT.search(text):
        raise InputRefused(
            "invalid_text",
            f"{where} มีอักขระที่ใช้ไม่ได้ (NUL or a lone UTF-16 surrogate is not allowed in text)",
        )


_ESCAPED_BAD_TEXT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def check_json(value: Any, max_variables_bytes: int, source: str | None = None) -> None:
    """Depth, text and variables-size checks of a parsed JSON body; `source`, the text it was parsed from, lets
    the walk be skipped when the text alone proves it would find nothing."""
    if source is None or not _plain(source):
        for text in _strings(value):
            check_text(text, "ข้อมูล JSON")
    if not isinstance(value, dict):
        return
    for member in VARIABLE_MEMBERS:
        if member in value:
            size = len(json.dumps(value[member], ensure_ascii=False).encode())
            if size > max_variables_bytes:
                raise InputRefused(
                    "variables_too_large",
                    f"{member} มีขนาด {size} ไบต์ เกินขีดจำกัด {max_variables_bytes} ไบต์ "
                    f"({member} exceed the limit of {max_variables_bytes} bytes)",
                )


def _plain(source: str) -> bool:
    """Whether the JSON text `source` cannot hold a value nested `MAX_JSON_DEPTH` deep (fewer brackets than that
    in the whole text), nor a NUL or lone surrogate in any key or string: such a character is either in the text
    itself or written as a `\\u0000` / `\\uD800`–`\\uDFFF` escape (other escapes yield other characters). A text
    that fails this is walked value by value, so a false alarm (a surrogate pair, an escaped backslash) only costs
    the walk."""
    return (
        source.count("{") + source.count("[") < MAX_JSON_DEPTH
        and _BAD_TEXT.search(source) is None
        and _ESCAPED_BAD_TEXT.search(source) is None
    )


# built once: `json.loads` with hooks builds a decoder (and its scanner) on every call
_DECODER = json.JSONDecoder(parse_constant=_non_finite, parse_float=_finite_float, parse_int=_bounded_int)


def parse_json(body: bytes, max_variables_bytes: int) -> None:
    """Check a JSON request body; malformed JSON is left for the route to report (400)."""
    try:
        # what json.loads does with bytes: detect UTF-8/16/32, keep lone surrogates for the check to refuse
        source = body.decode(json.detect_encoding(body), "surrogatepass")
        value = _DECODER.decode(source)
    except RecursionError:
        raise InputRefused("json_too_deep", f"ข้อมูลซ้อนกันเกิน {MAX_JSON_DEPTH} ชั้น (JSON nested too deep)") from None
    except InputRefused:
        raise
    except ValueError:  # UnicodeDecodeError included
        return
    check_json(value, max_variables_bytes, source)


class InputGuard:
    """ASGI middleware applying the checks above; bodies are buffered (BodyLimit, outside, caps their size)."""

    def __init__(self, app: ASGIApp, max_variables_bytes: int):
        self.app = app
        self.max_variables_bytes = max_variables_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_text(scope.get("path", ""), "ที่อยู่ (path)")
            query = scope.get("query_string", b"")
            if b"%00" in query or b"\x00" in query or b"%00" in unquote_to_bytes(query):
                raise InputRefused("invalid_text", "พารามิเตอร์มีอักขระ NUL (NUL is not allowed in query parameters)")
        except InputRefused as refused:
            await self._refuse(refused, scope, receive, send)
            return
        content_type = b""
        for name, value in scope.get("headers") or ():  # as dict(headers) would: the last one counts
            if name == b"content-type":
                content_type = value
        if not content_type.split(b";")[0].strip().endswith(b"json"):
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            parse_json(body, self.max_variables_bytes)
        except InputRefused as refused:
            await self._refuse(refused, scope, receive, send)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)

    @staticmethod
    async def _refuse(refused: InputRefused, scope: Scope, receive: Receive, send: Send) -> None:
        await problem(422, refused.code, str(refused))(scope, receive, send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
