"""The HTTP layer's CPU without sockets: the service's ASGI app (FastAPI, middlewares, dependencies, the thread
hand-off of sync endpoints, responses) called in-process on uvloop, as uvicorn calls it, against the service
layer called directly: the difference is what FastAPI and our middlewares add per request, with no uvicorn,
no client and no kernel in the figure.

Same workload as step_cost (start + 7 × (claim + complete) of `central_saraban`), SQLite, one caller;
CPU is this process's (all threads), per instance and per request kind (each kind timed by thread CPU of
both the event loop and the worker threads: process CPU measured around each call). Also `GET /api/v1/me`
(authentication + a small response) and, for reference, a bare FastAPI `def` endpoint behind the same
uvicorn ProxyHeadersMiddleware.

    python bench/asgi_cost.py --instances 200
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import uvloop
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from mso_flow.api.app import create_app
from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.platform.context import SYSTEM, Caller, Services
from mso_flow.services.tasks import human_tasks as tasks
from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.db import Database
from step_cost import BPMN_XML, CLERK, HEAD, KEY, PATH

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import ROOT


class Asgi:
    """Calls an ASGI app as uvicorn does (one request, whole body, collected response)."""

    def __init__(self, app: Any):
        self.app = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")

    async def __call__(self, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, bytes]:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        if body is not None:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
        else:
            headers.append((b"content-length", b"0"))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
            "state": {},
        }
        sent = False
        status, chunks = 0, []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)  # type: ignore[arg-type]
        return status, b"".join(chunks)


def service(tmp: Path) -> tuple[Services, dict[str, str], dict[str, Caller]]:
    url = f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
    os.environ.setdefault("MSO_FLOW_AUDIT_SIGNING_KEY_FILE", str(tmp / "audit-ed25519.pem"))
    settings = Settings(database_url=url, bpmn_dir=ROOT / "bpmn", background=False)
    migrate.upgrade(Database(url).engine, settings.migrations_dir)
    services = Services.from_settings(settings)
    definitions.deploy(services, SYSTEM, [("central/central_saraban.bpmn", BPMN_XML)])
    tokens: dict[str, str] = {}
    callers: dict[str, Caller] = {}
    for role, roles in (("start", ["integrator"]), (CLERK, [CLERK]), (HEAD, [HEAD])):
        name = f"asgi-{len(tokens)}"
        tokens[role] = uuid.uuid4().hex
        users.ensure_user(services, name, roles, tokens[role])
        callers[role] = Caller(name, frozenset(roles))
    return services, tokens, callers


async def over_asgi(call: Asgi, tokens: dict[str, str], count: int, cpu: dict[str, list[float]]) -> None:
    async def timed(kind: str, method: str, path: str, token: str | None, body: Any = None) -> Any:
        before = time.process_time()
        status, raw = await call(method, path, token, body)
        cpu[kind].append(time.process_time() - before)
        if status not in (200, 201):
            raise RuntimeError(f"{path}: {status} {raw[:500]!r}")
        return json.loads(raw)

    for number in range(count):
        body = {"business_key": f"asgi-{uuid.uuid4().hex[:8]}-{number}"}
        started = await timed("start", "POST", f"/api/v1/process-definitions/{KEY}/start", tokens["start"], body)
        task = started["active_tasks"][0]
        for _element, role, variables in PATH:
            await timed("claim", "POST", f"/api/v1/tasks/{task['id']}/claim", tokens[role])
            done = await timed(
                "complete", "POST", f"/api/v1/tasks/{task['id']}/complete", tokens[role], {"variables": variables}
            )
            task = (done["instance"]["active_tasks"] or [None])[0]
        await timed("me", "GET", "/api/v1/me", tokens["start"])


async def warm_up(call: Asgi, tokens: dict[str, str]) -> None:
    """A few instances first: FastAPI builds each router's route table on its first request."""
    await over_asgi(call, tokens, 3, defaultdict(list))


def in_process(services: Services, callers: dict[str, Caller], count: int, cpu: dict[str, list[float]]) -> None:
    def timed(kind: str, action: Any) -> Any:
        before = time.process_time()
        result = action()
        cpu[kind].append(time.process_time() - before)
        return result

    for number in range(count):
        key = f"inproc-{uuid.uuid4().hex[:8]}-{number}"
        view = timed("start", lambda: instances.start(services, callers["start"], KEY, key, {}))  # noqa: B023
        task_id = view.active_tasks[0].id
        for _element, role, variables in PATH:
            caller = callers[role]
            timed("claim", lambda: tasks.claim(services, caller, task_id))  # noqa: B023
            done = timed("complete", lambda: tasks.complete(services, caller, task_id, variables))  # noqa: B023
            task_id = done.open_task_ids[0] if done.open_task_ids else ""


def bare_fastapi() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/api/v1/me")
    def me() -> dict[str, Any]:
        return {"username": "x", "roles": ["integrator"]}

    return app


def line(label: str, cpu: dict[str, list[float]]) -> str:
    cells = []
    for kind in ("start", "claim", "complete", "me"):
        values = cpu.get(kind)
        cells.append(f"{statistics.mean(values) * 1000:8.3f}" if values else f"{'-':>8}")
    per_instance = ""
    if cpu.get("complete"):
        total = sum(statistics.mean(cpu[k]) for k in ("start",)) + len(PATH) * (
            statistics.mean(cpu["claim"]) + statistics.mean(cpu["complete"])
        )
        per_instance = f"{total * 1000:9.2f}"
    return f"{label:<28} {' '.join(cells)} {per_instance}"


def batches() -> None:
    """For bench/ab_asgi.py: after a warm-up, read a number K per line on stdin, run K instances over ASGI, write
    one JSON line {kind: [CPU seconds summed, requests]} to stdout."""
    with TemporaryDirectory() as name:
        services, tokens, _ = service(Path(name))
        call = Asgi(create_app(services.settings, services))
        uvloop.run(warm_up(call, tokens))
        print("ready", flush=True)
        for request in sys.stdin:
            cpu: dict[str, list[float]] = defaultdict(list)
            uvloop.run(over_asgi(call, tokens, int(request), cpu))
            print(json.dumps({kind: [sum(values), len(values)] for kind, values in cpu.items()}), flush=True)
        services.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only-asgi", action="store_true", help="only the service over ASGI (for a profiler)")
    parser.add_argument("--batches", action="store_true", help="serve batches asked on stdin (bench/ab_asgi.py)")
    args = parser.parse_args()
    if args.batches:
        batches()
        return
    print("CPU ms per request (mean), this process, all threads; instance = start + 7 × (claim + complete)")
    print(f"{'':<28} {'start':>8} {'claim':>8} {'complete':>8} {'me':>8} {'instance':>9}")
    with TemporaryDirectory() as name:
        services, tokens, callers = service(Path(name))
        app = create_app(services.settings, services)
        call = Asgi(app)
        bare = Asgi(bare_fastapi())
        for _ in range(args.rounds):
            cpu: dict[str, list[float]] = defaultdict(list)
            uvloop.run(warm_up(call, tokens))
            uvloop.run(over_asgi(call, tokens, args.instances, cpu))
            print(line("service over ASGI", cpu), flush=True)
            if args.only_asgi:
                continue
            cpu = defaultdict(list)
            in_process(services, callers, args.instances, cpu)
            print(line("service layer in-process", cpu), flush=True)

            async def bare_me(cpu: dict[str, list[float]]) -> None:
                for _ in range(args.instances * 15):
                    before = time.process_time()
                    await bare("GET", "/api/v1/me")
                    cpu["me"].append(time.process_time() - before)

            cpu = defaultdict(list)
            uvloop.run(bare_me(cpu))
            print(line("bare FastAPI def endpoint", cpu), flush=True)
        services.db.dispose()


if __name__ == "__main__":
    main()
