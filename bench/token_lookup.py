"""The cost of looking a bearer token up on every request (there is no token cache, so that a revoked or rotated
token and a deactivated user are refused by every worker as soon as the change commits).

Seeds N users on SQLite and on PostgreSQL (a fresh database), then times `services.users.authenticate` — the
exact call every authenticated request makes — for random tokens, one thread, and prints p50/p95/p99 in µs
with the per-request cost it adds.

    python bench/token_lookup.py --users 10000 --lookups 5000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from mso_flow.services.accounts import users
from mso_flow.services.platform.context import Services
from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.db import Database
from mso_flow.store.models import User

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import postgres_database

ROOT = Path(__file__).resolve().parents[1]


def run(url: str, count: int, lookups: int) -> list[float]:
    database = Database(url)
    migrate.upgrade(database.engine, ROOT / "migrations")
    services = Services(settings=Settings(database_url=url), db=database)
    tokens = [users.new_token() for _ in range(count)]
    now = services.clock()
    with database.write() as session:
        session.execute(
            insert(User),
            [
                {
                    "username": f"user{i}",
                    "roles": ["เจ้าหน้าที่งานสารบรรณ"],
                    "token_hash": users.hash_token(t),
                    "created_at": now,
                    "token_created_at": now,
                    "active": True,
                }
                for i, t in enumerate(tokens)
            ],
        )
    for token in tokens[:200]:  # warm the pool and the plan cache
        users.authenticate(services, token)
    times = []
    for token in random.choices(tokens, k=lookups):
        start = time.perf_counter()
        assert users.authenticate(services, token) is not None
        times.append((time.perf_counter() - start) * 1e6)
    database.dispose()
    return sorted(times)


def report(name: str, times: list[float]) -> None:
    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(p * len(times)))]

    print(
        f"{name:<11} lookups={len(times)} mean={statistics.fmean(times):7.0f} µs  p50={pct(0.5):7.0f} µs  "
        f"p95={pct(0.95):7.0f} µs  p99={pct(0.99):7.0f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", run(f"sqlite:///{tmp}/bench.db", args.users, args.lookups))
    with postgres_database() as url:
        report("postgresql", run(url, args.users, args.lookups))


if __name__ == "__main__":
    main()
