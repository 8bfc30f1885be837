"""The web app people work in (`/app`, Thai, server-rendered): installed on the API's FastAPI app, so
`mso-flow serve` serves it on the same port with the same services and permission checks."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from mso_flow.api.web import cockpit, documents
from mso_flow.api.web.security import SecurityHeaders
from mso_flow.api.web.views import fallback, router

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Add the pages, their static files and headers, send `/` to the inbox and serve the icon browsers ask for at
    `/favicon.ico`."""
    app.include_router(router)
    app.include_router(documents.router)
    app.include_router(cockpit.router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="web-static")
    app.include_router(fallback)  # last: an unknown page under /app is the app's 404 page
    app.add_middleware(SecurityHeaders)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=303)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", media_type="image/vnd.microsoft.icon")
