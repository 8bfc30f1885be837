"""Per-request observation: a request id (the client's `X-Request-ID` or a new one, echoed in the response),
one log line and the request metrics per request, labelled by route template, never by raw path."""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mso_flow.telemetry import activity, metrics
from mso_flow.telemetry.logs import REQUEST_ID

log = logging.getLogger("mso_flow.access")
HEADER = "X-Request-ID"
_HEADER_BYTES = HEADER.lower().encode()
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id(scope: Scope) -> str:
    """The client's request id when it is a short token, else a new one (never echo arbitrary bytes)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _VALID_ID.match(text):
                return text
    return os.urandom(16).hex()


_PREFIXES: dict[int, str] = {}  # id(route) -> the static prefix its path was last found under


def route_template(scope: Scope) -> str:
    """The matched route's template with the prefix of its router (`/api/v1/tasks/{task_id}`), or `unmatched`:
    a label set bounded by the API, whatever paths clients send."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return "unmatched"
    path, regex = scope.get("path", ""), getattr(route, "path_regex", None)
    if regex is None or regex.match(path):
        return str(template)
    # an included router's route holds its own path; the static prefix is what precedes the part it matches
    known = _PREFIXES.get(id(route))
    if known is not None and path.startswith(known) and regex.match(path[len(known) :]):
        return known + template
    for position in range(1, len(path)):
        if path[position] == "/" and regex.match(path[position:]):
            _PREFIXES[id(route)] = path[:position]
            return path[:position] + template
    return str(template)


class Observe:
    """Outermost middleware: request id, access log line, request count and latency."""

    def __init__(self, app: ASGIApp):
        self.app = app
        # the labelled children of the two request metrics, per (method, route template, status): the label set
        # is bounded by the API, and `labels()` validates and locks on every call
        self._metrics: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        token = REQUEST_ID.set(rid)
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # a copy, as MutableHeaders makes: a response may send the same header list more than once
                message["headers"] = [*message.get("headers", ()), (_HEADER_BYTES, rid.encode("latin-1"))]
            await send(message)

        activity.enter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            activity.leave()
            seconds = time.perf_counter() - start
            template = route_template(scope)
            method = scope["method"]
            key = (method, template, status)
            children = self._metrics.get(key)
            if children is None:
                labels = (method, template, str(status))
                children = self._metrics[key] = (
                    metrics.REQUESTS.labels(*labels),
                    metrics.REQUEST_SECONDS.labels(*labels),
                )
            children[0].inc()
            children[1].observe(seconds)
            if log.isEnabledFor(logging.INFO):
                user = scope.get("state", {}).get("user")
                log.info(
                    "%s %s %d %.1f ms",
                    method,
                    template,
                    status,
                    seconds * 1000,
                    extra={  # request_id is stamped on every record of the request (telemetry.logs)
                        "user": user,
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    },
                )
            REQUEST_ID.reset(token)
