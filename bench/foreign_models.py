"""SpiffWorkflow's own test models, each deployed alone into an empty service: how many deploy, whether
`mso-flow validate` and `POST /api/v1/deployments` agree, what each refused file's first error is, how long a
deployment takes, and that no answer is a 5xx. The models are read from a local path; none is committed here.

    python bench/foreign_models.py /path/to/SpiffWorkflow/tests/SpiffWorkflow [--database-url URL]

(`tests/SpiffWorkflow/{bpmn,camunda}/data` of the SpiffWorkflow source, 93 `.bpmn` files for 3.2.) Without
`--database-url`, a temporary SQLite database.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.db import Database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.foreign import Outcome, deploy_each_alone

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, help="a directory; every .bpmn under it is deployed alone")
    parser.add_argument("--database-url", help="an empty, migrated database (default: a temporary SQLite file)")
    args = parser.parse_args()
    logging.getLogger("mso_flow").setLevel(logging.ERROR)  # each deployment logs its warnings: the table shows them
    paths = sorted(args.models.rglob("*.bpmn"))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/foreign.db"
        database = Database(url)
        migrate.upgrade(database.engine, ROOT / "migrations")
        database.dispose()
        settings = Settings(
            database_url=url,
            bpmn_dir=Path(tmp),
            admin_token=None,
            background=False,
            audit_signing_key_file=Path(tmp) / "audit.pem",
            master_key_file=Path(tmp) / "master.keys",
        )
        started = time.perf_counter()
        outcomes = []
        for outcome in deploy_each_alone(paths, args.models, settings):
            outcomes.append(outcome)
            print(_row(outcome), flush=True)
        total = time.perf_counter() - started
    _summary(outcomes, total)
    return 0 if all(o.agree and o.status < 500 and all(s < 500 for s in o.starts) for o in outcomes) else 1


def _row(o: Outcome) -> str:
    verdict = "deployed" if o.deployed else "refused "
    starts = ",".join(str(s) for s in o.starts) or "-"
    agreement = "" if o.agree else "  VALIDATE AND DEPLOY DISAGREE"
    first = f"  {o.error}" if o.error else ""
    timing = f"{o.status} {o.seconds:6.2f}s warnings={o.warnings:<3} starts={starts:<8}"
    return f"{verdict} {timing} {o.file}{agreement}{first}"


def _summary(outcomes: list[Outcome], total: float) -> None:
    deployed = sum(o.deployed for o in outcomes)
    starts = [s for o in outcomes for s in o.starts]
    print()
    print(f"files                      {len(outcomes)}")
    print(f"deployed                   {deployed}")
    print(f"refused                    {len(outcomes) - deployed}")
    print(f"validate and deploy agree  {sum(o.agree for o in outcomes)} of {len(outcomes)}")
    print(f"5xx answers                {sum(o.status >= 500 for o in outcomes) + sum(s >= 500 for s in starts)}")
    print(f"deployed with warnings     {sum(o.deployed and o.warnings > 0 for o in outcomes)}")
    print(f"starts 201 / 4xx           {sum(s == 201 for s in starts)} / {sum(400 <= s < 500 for s in starts)}")
    print(f"slowest deployment         {max((o.seconds for o in outcomes), default=0):.2f} s")
    print(f"all files                  {total:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
