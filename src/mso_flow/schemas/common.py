"""Shapes shared by every resource: the list envelope and the problem document."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
MAX_VERSION = 2**31 - 1  # every integer parameter fits the databases' 32-bit INTEGER columns


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """A page of a list with the total number of matching items."""

    items: list[T]
    total: int = Field(description="number of items matching the query, over all pages")
    offset: int
    limit: int


class Problem(BaseModel):
    """An error as `application/problem+json` (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="stable URN of the error kind, e.g. urn:mso-flow:problem:task_claimed")
    title: str = Field(description="short Thai summary of the error kind")
    status: int
    detail: str = Field(description="what went wrong, in Thai with the English gist")
    errors: list[dict[str, Any]] | None = Field(default=None, description="every problem, for validation")
