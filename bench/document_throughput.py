"""Documents over HTTP: upload and download throughput of a 25 MB file against a live `mso-flow serve` (one worker,
SQLite and PostgreSQL), and the worker's memory while it happens.

For each database and each kind of document — plain (a process without personal data: `tests/fixtures/
document_request.bpmn`) and sealed (สารบรรณ, a process with secrecy classes: every chunk AES-GCM sealed) — it
uploads a 25 MB file (incompressible bytes behind a PDF signature, so the sniffer takes it as a PDF) as multipart
through httpx streaming from disk, then downloads it streaming and checks its SHA-256. It reports MB/s of each
transfer and the worker's resident memory read from /proc: before (VmRSS), the highest sample during each transfer
(VmRSS every 5 ms, by a thread of this process) and the process's lifetime peak (VmHWM). The worker never holds
the file whole: its peak rise stays a few chunks (256 KiB each) above its resting size, far below 25 MB.

Not covered: several concurrent uploads (each holds at most a chunk and the parser's buffer), network latency
(127.0.0.1), PostgreSQL's own server memory and CPU, the web app's form (the same code path).

    python bench/document_throughput.py                         # both databases, 3 rounds each
    python bench/document_throughput.py --write bench/results-document-throughput.txt
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import platform
import secrets
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import ROOT, LiveService, live_service, postgres_database

os.environ.setdefault("MSO_FLOW_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
SIZE = 25 * 1024 * 1024 - 4096  # 25 MB, under the default limit of 26 214 400 bytes
MB = 1024 * 1024
CLERK, STAFF = "เจ้าหน้าที่งานสารบรรณ", "เจ้าหน้าที่ธุรการ"
PLAIN_BPMN = ROOT / "tests" / "fixtures" / "document_request.bpmn"
SARABAN = ROOT / "bpmn" / "central" / "central_saraban.bpmn"


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values


class Sampler:
    """The highest VmRSS of a process while a block runs, sampled every 5 ms."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _status(self.pid)["VmRSS"])
            time.sleep(0.005)

    @contextmanager
    def sampling(self) -> Any:
        self.peak = _status(self.pid)["VmRSS"]
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._stop.clear()


@dataclass
class Round:
    kind: str
    upload_s: float
    download_s: float
    rss_before: int
    upload_peak: int
    download_peak: int
    hwm: int


@dataclass
class Result:
    backend: str
    rounds: list[Round] = field(default_factory=list)


def _file(directory: Path) -> tuple[Path, str]:
    path = directory / "หนังสือ 25MB.pdf"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
        out.write(head)
        digest.update(head)
        left = SIZE - len(head)
        while left:
            block = os.urandom(min(MB, left))
            out.write(block)
            digest.update(block)
            left -= len(block)
    return path, digest.hexdigest()


def _setup(live: LiveService) -> dict[str, tuple[str, str, str | None]]:
    """kind -> (instance id, token of its worker, task id)."""
    cases = {}
    with live.client() as admin:
        for kind, username, role, key, task_element in (
            ("plain", "staff1", STAFF, "doc_request", "Task_submit"),
            ("sealed", "clerk1", CLERK, "central_saraban", None),
        ):
            created = admin.post("/api/v1/users", json={"username": username, "roles": [role], "force": True})
            token = created.json()["token"]
            with live.client(token) as person:
                started = person.post(f"/api/v1/process-definitions/{key}/start", json={}).json()
                task = started["active_tasks"][0]["id"] if task_element else None
            cases[kind] = (started["id"], token, task)
    return cases


def _round(live: LiveService, pid: int, kind: str, case: tuple[str, str, str | None], path: Path, sha: str) -> Round:
    instance_id, token, _ = case
    sampler = Sampler(pid)
    rss_before = _status(pid)["VmRSS"]
    with live.client(token, timeout=300) as client:
        with path.open("rb") as handle, sampler.sampling():
            began = time.perf_counter()
            response = client.post(
                f"/api/v1/process-instances/{instance_id}/documents",
                files={"file": (path.name, handle, "application/pdf")},
            )
            upload_s = time.perf_counter() - began
        assert response.status_code == 201, response.text
        document = response.json()
        assert document["sha256"] == sha and document["size"] == SIZE and document["sealed"] == (kind == "sealed")
        upload_peak = sampler.peak
        digest = hashlib.sha256()
        with sampler.sampling():
            began = time.perf_counter()
            with client.stream("GET", f"/api/v1/documents/{document['id']}/content") as streamed:
                assert streamed.status_code == 200
                for block in streamed.iter_bytes():
                    digest.update(block)
            download_s = time.perf_counter() - began
        assert digest.hexdigest() == sha
    return Round(kind, upload_s, download_s, rss_before, upload_peak, sampler.peak, _status(pid)["VmHWM"])


@contextmanager
def _database(backend: str, work: Path) -> Any:
    if backend == "sqlite":
        yield f"sqlite:///{work / 'documents.db'}"
    else:
        with postgres_database() as url:
            yield url


def run(backend: str, rounds: int, path: Path, sha: str) -> Result:
    result = Result(backend)
    with tempfile.TemporaryDirectory(prefix="mso-doc-bench-") as tmp:
        work = Path(tmp)
        bpmn = work / "bpmn"
        (bpmn / "central").mkdir(parents=True)
        (bpmn / "central" / SARABAN.name).write_bytes(SARABAN.read_bytes())
        (bpmn / PLAIN_BPMN.name).write_bytes(PLAIN_BPMN.read_bytes())
        env = {"MSO_FLOW_BACKGROUND": "false"}
        with _database(backend, work) as url, live_service(url, work, workers=1, bpmn_dir=bpmn, extra_env=env) as live:
            cases = _setup(live)
            for _ in range(rounds):
                for kind in ("plain", "sealed"):
                    result.rounds.append(_round(live, live.process.pid, kind, cases[kind], path, sha))
    return result


def report(results: list[Result]) -> str:
    lines = [
        f"# document_throughput: {SIZE / MB:.1f} MB per transfer, one worker, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}",
        "# MB/s = MiB per second of the whole request (multipart upload until 201; download streamed and hashed);",
        "# RSS in MiB of the worker process: at rest before the round, highest sample (5 ms) during each transfer,",
        "# lifetime peak (VmHWM). 'rise' = highest sample minus rest: what one 25 MB transfer costs in memory.",
        "",
        f"{'database':10} {'kind':7} {'up MB/s':>8} {'down MB/s':>10} {'rest':>6} {'up peak':>8} {'rise':>6} "
        f"{'down peak':>10} {'rise':>6} {'VmHWM':>6}",
    ]
    for result in results:
        for r in result.rounds:
            lines.append(
                f"{result.backend:10} {r.kind:7} {SIZE / MB / r.upload_s:8.1f} {SIZE / MB / r.download_s:10.1f} "
                f"{r.rss_before / MB:6.1f} {r.upload_peak / MB:8.1f} {(r.upload_peak - r.rss_before) / MB:6.1f} "
                f"{r.download_peak / MB:10.1f} {(r.download_peak - r.rss_before) / MB:6.1f} {r.hwm / MB:6.1f}"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mso-doc-file-") as tmp:
        path, sha = _file(Path(tmp))
        results = [run(backend, args.rounds, path, sha) for backend in args.backends.split(",")]
    text = report(results)
    sys.stdout.write(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
