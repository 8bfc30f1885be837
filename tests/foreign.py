"""Deploy BPMN nobody here wrote, each file alone into an empty service, and compare what the faces answer: the
harness of `bench/foreign_models.py` and `tests/api/test_foreign_bpmn.py` (SpiffWorkflow's own test models).

For each file: the verdict `mso-flow validate` gives (`definitions.problems_of`), then `POST /api/v1/deployments`
into an emptied database with fresh caches, then `POST .../start` of every process it deployed. Validate and deploy
agree when the same files are refused and the same warning lines come back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from mso_flow.api.app import create_app
from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import SYSTEM, Services
from mso_flow.settings import Settings
from mso_flow.store.db import Database
from tests.database import clean


@dataclass
class Outcome:
    """What the faces answered for one file."""

    file: str
    status: int  # of the deployment
    valid: bool  # the verdict found no error
    agree: bool  # validate and deploy refused alike and gave the same warning lines
    warnings: int
    error: str | None  # the first error, as `mso-flow validate` prints it
    starts: list[int] = field(default_factory=list)  # statuses of starting each deployed process
    seconds: float = 0.0  # of the deployment request

    @property
    def deployed(self) -> bool:
        return self.status in (200, 201)


def deploy_each_alone(paths: list[Path], root: Path, settings: Settings) -> Iterator[Outcome]:
    """Deploy each file of `paths` (named relative to `root`) alone into the emptied database of `settings`."""
    database = Database(settings.database_url)
    try:
        for path in paths:
            clean(database)
            yield _deploy_alone(path, str(path.relative_to(root)), Services(settings=settings, db=database))
    finally:
        database.dispose()


def _deploy_alone(path: Path, name: str, services: Services) -> Outcome:
    xml = path.read_bytes()
    problems = definitions.problems_of([(path.name, xml)], services.settings.min_timer_interval_seconds)
    errors = [str(p) for p in problems if p.is_error]
    _, token = users.create_user(services, SYSTEM, "admin", ["admin"], force=True)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
        started = time.perf_counter()
        response = client.post("/api/v1/deployments", headers=headers, files=[("files", (path.name, xml))])
        seconds = time.perf_counter() - started
        body = response.json()
        deployed = response.status_code in (200, 201)
        said = sorted(body["warnings"]) if deployed else sorted(_line(e) for e in body.get("errors") or [])
        outcome = Outcome(
            file=name,
            status=response.status_code,
            valid=not errors,
            agree=deployed == (not errors) and said == sorted(str(p) for p in problems),
            warnings=len(problems) - len(errors),
            error=errors[0] if errors else None,
            seconds=seconds,
        )
        for definition in body.get("definitions", []) if deployed else []:
            start = client.post(f"/api/v1/process-definitions/{definition['key']}/start", headers=headers, json={})
            outcome.starts.append(start.status_code)
    return outcome


def _line(problem: dict[str, object]) -> str:
    """A problem of the API's answer as `mso-flow validate` prints it."""
    where = f"{problem['file']}:{problem['line'] or 0}: {problem['element_id'] or '-'}"
    return f"{where}: {problem['severity']}: {problem['message']}"
