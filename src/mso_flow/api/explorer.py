"""The API explorer at `/docs`, working offline: Swagger UI's files come from the `fastapi-swagger` package and
are served by the service itself (no CDN)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_swagger import patch_fastapi


def install(app: FastAPI) -> None:
    """Serve Swagger UI at `/docs` from the package's files (`/swagger/…`); the app is built with docs_url=None."""
    patch_fastapi(app, docs_url="/docs", redirect_from_root_to_docs=False)
