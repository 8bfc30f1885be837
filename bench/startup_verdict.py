"""What the designers' verdict costs: the 76 manual files checked with and without the simulation, and the
start-up deployment of all of them into an empty SQLite database (which skips the simulation).

    python bench/startup_verdict.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from mso_flow.engine.verdict import check_files
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform.context import Services
from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.db import Database

ROOT = Path(__file__).resolve().parents[1]
BPMN = ROOT / "bpmn"


def _timed(label: str, work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    print(f"{label:<58} {seconds:7.2f} s")
    return seconds


def main() -> None:
    files = [(str(p.relative_to(BPMN)), p.read_bytes()) for p in sorted(BPMN.rglob("*.bpmn"))]
    print(f"{len(files)} files of bpmn/")
    _timed("validation + condition checks (start-up verdict)", lambda: check_files(files, simulate_runs=False))
    _timed("validation + condition checks + simulation (API, CLI, CI)", lambda: check_files(files))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        database = Database(url)
        migrate.upgrade(database.engine, ROOT / "migrations")
        services = Services(settings=Settings(database_url=url, bpmn_dir=BPMN), db=database)
        _timed(
            "start-up deployment of bpmn/ into an empty database", lambda: definitions.deploy_directory(services, BPMN)
        )
        _timed("start-up deployment again (nothing changed)", lambda: definitions.deploy_directory(services, BPMN))
        database.dispose()


if __name__ == "__main__":
    main()
