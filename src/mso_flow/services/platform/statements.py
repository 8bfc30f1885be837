"""SQL statement counts for the benchmark headers (`MSO_FLOW_SQL_STATS=1`, `api/sql_stats.py`): the store's
counter, offered to the faces through the service layer (they import no store module)."""

from __future__ import annotations

from mso_flow.store.db import counting_sql, sql_stats_enabled

__all__ = ["counting_sql", "sql_stats_enabled"]
