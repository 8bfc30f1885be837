"""`mso-flow serve --log-level` governs the service's own log lines too: at `warning` a request writes no access
line (each worker configures logging again in its app factory, which used to reset the level to INFO)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live import live_service

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("level", "logged"), [("warning", False), ("info", True)])
def test_the_access_log_follows_the_log_level(tmp_path: Path, level: str, logged: bool) -> None:
    database = f"sqlite:///{tmp_path / 'level.db'}"
    with live_service(database, tmp_path, workers=1, log_level=level) as live, live.client() as client:
        assert client.get("/api/v1/me").status_code == 200
    text = live.log.read_text(encoding="utf-8")  # once the service has stopped: the line follows the response
    assert ("mso_flow.access: GET /api/v1/me 200" in text) is logged, text[-2000:]
