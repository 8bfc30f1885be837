"""Long polling of `/engine-rest/external-task/fetchAndLock` on the live service (PostgreSQL, several worker
processes): how soon a waiting fetch returns a task created meanwhile, and what idle waiting fetches cost.

1. Wake-up: a fetch waits (`asyncResponseTimeout` 30 s); an instance is started (its first step is an external
   task), through any worker process; measured from sending the start to the fetch returning the task. Waits
   in the same process wake from the commit hook, in other processes from PostgreSQL NOTIFY; without either
   they would return at the next 1 s poll.
2. Idle cost: W fetches wait at once (more than the service has threads); meanwhile `GET /engine-rest/version`
   latency is measured, showing that waiting fetches hold no thread.

    python bench/long_poll.py --rounds 30 --waiters 200 --workers 4
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import live_service, postgres_database

LOAN = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "camunda_loan.bpmn"


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"


def _fetch_body(worker: str, timeout_ms: int) -> dict:
    return {
        "workerId": worker,
        "maxTasks": 1,
        "asyncResponseTimeout": timeout_ms,
        "topics": [{"topicName": "credit-check", "lockDuration": 60000}],
    }


def wake_ups(client: httpx.Client, rounds: int) -> list[float]:
    delays = []
    for round_ in range(rounds):
        returned: list[float] = []

        def poll(round_: int = round_, returned: list[float] = returned) -> None:
            response = client.post("/external-task/fetchAndLock", json=_fetch_body(f"bench-{round_}", 30000))
            assert response.status_code == 200 and len(response.json()) == 1, response.text
            returned.append(time.perf_counter())

        waiter = threading.Thread(target=poll)
        waiter.start()
        time.sleep(0.5)  # the fetch is waiting
        sent = time.perf_counter()
        started = client.post("/process-definition/key/camunda_loan/start", json={})
        assert started.status_code == 200, started.text
        waiter.join()
        delays.append(returned[0] - sent)
    return delays


async def idle_cost(url: str, auth: tuple[str, str], waiters: int) -> tuple[list[float], int]:
    async with httpx.AsyncClient(base_url=url, auth=auth, timeout=60, limits=httpx.Limits(max_connections=None)) as c:
        polls = [
            asyncio.create_task(c.post("/external-task/fetchAndLock", json=_fetch_body(f"idle-{i}", 8000)))
            for i in range(waiters)
        ]
        await asyncio.sleep(2)  # all waiting
        latencies = []
        for _ in range(50):
            began = time.perf_counter()
            assert (await c.get("/version")).status_code == 200
            latencies.append(time.perf_counter() - began)
        results = await asyncio.gather(*polls)
        return latencies, sum(1 for r in results if r.status_code == 200 and r.json() == [])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--waiters", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as bpmn,
        tempfile.TemporaryDirectory() as logs,
        postgres_database() as database,
        live_service(database, Path(logs), workers=args.workers, bpmn_dir=Path(bpmn)) as service,
    ):
        with service.client() as admin:
            token = admin.post("/api/v1/users", json={"username": "bench", "roles": ["integrator", "designer"]})
            auth = ("bench", token.json()["token"])
        url = f"{service.url}/engine-rest"
        with httpx.Client(base_url=url, auth=auth, timeout=60) as client:
            files = [("camunda_loan.bpmn", ("camunda_loan.bpmn", LOAN.read_bytes(), "text/xml"))]
            assert client.post("/deployment/create", data={"deployment-name": "bench"}, files=files).status_code == 200
            delays = wake_ups(client, args.rounds)
        print(
            f"wake-up of a waiting fetch, {args.workers} worker processes, {args.rounds} rounds: {_percentiles(delays)}"
        )
        latencies, empty = asyncio.run(idle_cost(url, auth, args.waiters))
        print(
            f"GET /version while {args.waiters} fetches wait ({empty} returned empty at their timeout): "
            f"{_percentiles(latencies)}"
        )


if __name__ == "__main__":
    main()
