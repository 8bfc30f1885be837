"""Opt-in benchmark headers: with `MSO_FLOW_SQL_STATS=1`, every response carries `X-SQL-Statements` and
`X-SQL-Commits`, the counts of the SQL its request ran (see `services/platform/statements.py`). Not installed
otherwise."""

from __future__ import annotations

from typing import Any

from mso_flow.services.platform.statements import counting_sql

Scope = dict[str, Any]


class SqlStatsHeaders:
    """Pure ASGI middleware: counts while the request runs, adds the counts to the response's headers."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with counting_sql() as counts:

            async def send_with_counts(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-sql-statements", str(counts.statements).encode()),
                        (b"x-sql-commits", str(counts.commits).encode()),
                    ]
                await send(message)

            await self.app(scope, receive, send_with_counts)
