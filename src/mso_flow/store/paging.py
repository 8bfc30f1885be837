"""Offset pagination with the total count, for every list query."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def page(session: Session, stmt: Select[Any], offset: int, limit: int) -> tuple[list[Any], int]:
    """Run `stmt` for one page and count all its rows."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.offset(offset).limit(limit)))
    return items, total
