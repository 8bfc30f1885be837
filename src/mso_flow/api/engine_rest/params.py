"""Query parameters shared by Camunda's list endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

MAX_RESULTS = 500


@dataclass(frozen=True)
class Page:
    """`?firstResult=&maxResults=` (at most 500 results per call; Camunda's default is unbounded)."""

    offset: int
    limit: int


async def page(
    first_result: Annotated[int, Query(alias="firstResult", ge=0, le=10_000_000)] = 0,
    max_results: Annotated[int, Query(alias="maxResults", ge=0, le=MAX_RESULTS)] = MAX_RESULTS,
) -> Page:
    return Page(first_result, max_results)


PREFIX = "/engine-rest"


def base_url(request: Request) -> str:
    """The `/engine-rest` root as the client reached it, for `links`."""
    return f"{request.url.scheme}://{request.url.netloc}{PREFIX}"


PageDep = Annotated[Page, Depends(page)]
