"""The README's first walk, pasted as it is into bash against a live service (two workers, JSON logs): the
instance ends completed; the workers' metrics add up in one scrape; the log has a JSON line per request and no
variable values."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import BACKENDS, ROOT
from tests.live import live_service, postgres_database

pytestmark = pytest.mark.slow
METRICS_TOKEN = "walk-metrics-token"
SUBJECT = "ขอความอนุเคราะห์ข้อมูลผู้สูงอายุ"


def readme_walk() -> str:
    """The shell block of the README section "A first walk through the API", exactly as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A first walk through the API", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the README walk has no ```sh block"
    return match.group(1)


@pytest.fixture(scope="module", params=BACKENDS)
def service(request, tmp_path_factory):
    logs = tmp_path_factory.mktemp("walk")
    metrics_dir = logs / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left by an earlier run")  # serve must clear it
    env = {
        "MSO_FLOW_LOG_FORMAT": "json",
        "MSO_FLOW_METRICS_TOKEN": METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    if request.param == "sqlite":
        url = f"sqlite:///{logs / 'walk.db'}"
        with live_service(url, logs, workers=2, extra_env=env, log_level="info") as live:
            yield live
    else:
        with postgres_database() as url, live_service(url, logs, workers=2, extra_env=env, log_level="info") as live:
            yield live


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_readme_walk_completes_the_instance(service):
    env = {
        **os.environ,
        "MSO_FLOW_URL": service.url,
        "MSO_FLOW_ADMIN_TOKEN": service.admin_token,
    }
    run = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", readme_walk()],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    states = [line for line in lines if line in ("running", "completed")]
    assert states == ["running"] * 6 + ["completed", "completed"]
    assert lines[-1] == "True"  # the audit chain verifies
    assert "สารบรรณกลางรับหนังสือ" in lines[0] and any(
        line.split()[:3] == ["subject", "string", "required"] for line in lines
    )

    # the metrics of both workers add up in any one scrape
    for _ in range(40):
        httpx.get(f"{service.url}/health")  # a new connection each: the workers share them out
    samples = scrape(service.url)
    health = ("mso_flow_http_requests_total", frozenset({"method": "GET", "route": "/health", "status": "200"}.items()))
    completed = ("mso_flow_instances_completed_total", frozenset({"process": "central_saraban"}.items()))
    complete_route = frozenset({"method": "POST", "route": "/api/v1/tasks/{task_id}/complete", "status": "200"}.items())
    metrics_dir = Path(service.log).parent / "metrics"
    # each worker writes its own files there (an unlabelled histogram makes one at start-up), which a scrape sums
    # (uvicorn may have replaced a worker that was slow to start: its files stay and count)
    writers = {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("histogram_*.db")}
    assert len(writers) >= 2
    assert not (metrics_dir / "counter_999999.db").exists()  # an earlier run's file was cleared at start
    assert samples[completed] == 1
    assert samples[("mso_flow_http_requests_total", complete_route)] == 7
    assert samples[health] >= 40  # the service's own start-up probes count too
    assert samples[("mso_flow_timer_lag_seconds", frozenset())] == 0

    # one JSON line per request, with its id and user; engine events carry the instance; no variable values
    text = Path(service.log).read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [r for r in records if r.get("logger") == "mso_flow.access"]
    completes = [r for r in access if r["route"] == "/api/v1/tasks/{task_id}/complete"]
    assert len(completes) == 7 and {r["user"] for r in completes} == {"somchai", "somying"}
    assert all(r["status"] == 200 and r["duration_ms"] > 0 and len(r["request_id"]) == 32 for r in completes)
    finished = [r for r in records if r.get("event") == "instance_completed"]
    assert len(finished) == 1 and finished[0]["process_key"] == "central_saraban" and finished[0]["instance_id"]
    assert SUBJECT not in text and "มอบกองยุทธศาสตร์" not in text
