"""The floor of the HTTP stack itself: a bare ASGI app and bare FastAPI apps, served by uvicorn exactly as
`mso-flow serve` serves the service, answering the step benchmark's 15 requests an instance.

The apps do no work beyond HTTP and JSON: they answer `POST /api/v1/process-definitions/{key}/start`,
`POST /api/v1/tasks/{id}/claim` and `POST /api/v1/tasks/{id}/complete` with the service's own responses of
that step (`bench/step-responses.json`, captured from `mso-flow serve` with `--capture`: same fields, same
sizes, 0.6–3.2 KB), their ids replaced, serialized with `json.dumps` per request; the request body is parsed
(stdlib `json` for ASGI, a pydantic model for FastAPI) and the next task is kept in a dict. So the same
`step_cost.drive` client runs against them unchanged.

    asgi          a plain ASGI callable (no Starlette, no routing table): the floor of uvicorn + httptools
    fastapi       FastAPI, `async def` endpoints (path parameter, pydantic body, `Response` of JSON bytes):
                  routing, request parsing and the response machinery, no thread hand-off
    fastapi-sync  the same endpoints as `def`: one thread-pool hand-off per request, as every sync endpoint of
                  the service has

Served as `mso-flow serve` serves (src/mso_flow/cli.py `_run_uvicorn`): `uvicorn.run(factory=True,
workers=1, access_log=False, proxy_headers=True, log_config=logs.config(...))`, uvicorn's default loop and
HTTP implementation (`auto`: uvloop and httptools when installed, as they are here).

    python bench/stack_floor.py                          # the three floors, 1 client, printed
    python bench/stack_floor.py --capture                # refresh bench/step-responses.json from the service
    python bench/step_cost.py                            # includes these rows beside the service and the engine
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel

HERE = Path(__file__).resolve().parent
SAMPLES = HERE / "step-responses.json"
KINDS_OF_FLOOR = ("asgi", "fastapi", "fastapi-sync")
START_PREFIX = "/api/v1/process-definitions/"
TASK_PREFIX = "/api/v1/tasks/"


# ---------------------------------------------------------------- the responses, from the service's own


class Steps:
    """The service's responses along the 7 steps; `start`, `claim(task)` and `complete(task)` answer like it,
    with fresh ids, keeping which step each open task is at."""

    def __init__(self, samples: dict[str, Any]):
        self.start_sample = samples["start"]
        self.claims: list[dict[str, Any]] = samples["claim"]
        self.completes: list[dict[str, Any]] = samples["complete"]
        self.open: dict[str, tuple[str, int]] = {}  # task id -> (instance id, step)

    def _task(self, instance_id: str, step: int) -> str:
        task_id = str(uuid.uuid4())
        self.open[task_id] = (instance_id, step)
        return task_id

    def start(self, body: dict[str, Any]) -> bytes:
        instance_id = str(uuid.uuid4())
        sample = self.start_sample
        active = [dict(sample["active_tasks"][0], id=self._task(instance_id, 0))]
        answer = dict(sample, id=instance_id, business_key=body.get("business_key"), active_tasks=active)
        return json.dumps(answer, ensure_ascii=False).encode()

    def claim(self, task_id: str) -> bytes | None:
        if task_id not in self.open:
            return None
        instance_id, step = self.open[task_id]
        answer = dict(self.claims[step], id=task_id, process_instance_id=instance_id)
        return json.dumps(answer, ensure_ascii=False).encode()

    def complete(self, task_id: str, body: dict[str, Any]) -> bytes | None:
        if task_id not in self.open:
            return None
        instance_id, step = self.open.pop(task_id)
        sample = self.completes[step]
        instance = dict(sample["instance"], id=instance_id)
        if sample["instance"]["active_tasks"]:
            instance["active_tasks"] = [
                dict(sample["instance"]["active_tasks"][0], id=self._task(instance_id, step + 1))
            ]
        task = dict(sample["task"], id=task_id, process_instance_id=instance_id, variables=body.get("variables", {}))
        return json.dumps({"task": task, "instance": instance}, ensure_ascii=False).encode()


def load_steps() -> Steps:
    return Steps(json.loads(SAMPLES.read_text()))


# ---------------------------------------------------------------- the apps


def create_asgi() -> Any:
    """A bare ASGI callable: reads the body, parses it with `json`, answers the step's JSON."""
    steps = load_steps()
    json_headers = [(b"content-type", b"application/json")]

    async def send_json(send: Any, status: int, body: bytes) -> None:
        headers = [*json_headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        body = json.loads(raw) if raw else {}
        path: str = scope["path"]
        answer: bytes | None = None
        status = 200
        if path == "/health":
            answer = b'{"status":"ok"}'
        elif path.startswith(START_PREFIX) and path.endswith("/start"):
            answer, status = steps.start(body), 201
        elif path.startswith(TASK_PREFIX) and path.endswith("/claim"):
            answer = steps.claim(path[len(TASK_PREFIX) : -len("/claim")])
        elif path.startswith(TASK_PREFIX) and path.endswith("/complete"):
            answer = steps.complete(path[len(TASK_PREFIX) : -len("/complete")], body)
        if answer is None:
            await send_json(send, 404, b'{"detail":"not found"}')
        else:
            await send_json(send, status, answer)

    return app


class StartRequest(BaseModel):
    business_key: str | None = None
    variables: dict[str, Any] = {}


class CompleteRequest(BaseModel):
    variables: dict[str, Any] = {}


def _found(answer: bytes | None, status: int = 200) -> Response:
    if answer is None:
        raise HTTPException(404)
    return Response(answer, status, media_type="application/json")


def create_fastapi() -> FastAPI:
    """FastAPI with `async def` endpoints: run on the event loop."""
    steps = load_steps()
    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/process-definitions/{key}/start", status_code=201)
    async def start(key: str, body: StartRequest) -> Response:
        return _found(steps.start(body.model_dump()), 201)

    @app.post("/api/v1/tasks/{task_id}/claim")
    async def claim(task_id: str) -> Response:
        return _found(steps.claim(task_id))

    @app.post("/api/v1/tasks/{task_id}/complete")
    async def complete(task_id: str, body: CompleteRequest) -> Response:
        return _found(steps.complete(task_id, body.model_dump()))

    return app


def create_fastapi_sync() -> FastAPI:
    """The same endpoints as `def`: FastAPI runs each in its thread pool (one hand-off per request)."""
    steps = load_steps()
    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/process-definitions/{key}/start", status_code=201)
    def start(key: str, body: StartRequest) -> Response:
        return _found(steps.start(body.model_dump()), 201)

    @app.post("/api/v1/tasks/{task_id}/claim")
    def claim(task_id: str) -> Response:
        return _found(steps.claim(task_id))

    @app.post("/api/v1/tasks/{task_id}/complete")
    def complete(task_id: str, body: CompleteRequest) -> Response:
        return _found(steps.complete(task_id, body.model_dump()))

    return app


FACTORIES = {"asgi": "create_asgi", "fastapi": "create_fastapi", "fastapi-sync": "create_fastapi_sync"}


def serve(kind: str, port: int) -> None:
    """uvicorn exactly as `mso-flow serve` runs it (cli.py `_run_uvicorn`), one worker."""
    import uvicorn

    from mso_flow.telemetry import logs

    uvicorn.run(
        f"stack_floor:{FACTORIES[kind]}",
        factory=True,
        app_dir=str(HERE),
        host="127.0.0.1",
        port=port,
        workers=1,
        log_level="warning",
        log_config=logs.config("text", "warning"),
        access_log=False,
        proxy_headers=True,
    )


# ---------------------------------------------------------------- running one, measured as step_cost measures


@contextmanager
def floor_server(kind: str, log_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    from tests.live import free_port

    port = free_port()
    log = log_dir / f"stack-{kind}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", kind, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} floor did not start:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def stack_runs(kind: str, clients: list[int], count: int, warmup: int, log_dir: Path) -> list[Any]:
    """One server of `kind`; one timed run per client count, measured exactly as step_cost's service runs."""
    import step_cost
    from step_cost import CLERK, HEAD, Run, drive, pin_to_client_core, pin_to_server_core, pinning, settle, tree_cpu

    tokens = {"start": "x", CLERK: "x", HEAD: "x"}
    runs = []
    pin_to_server_core()
    with floor_server(kind, log_dir) as (url, process):
        pin_to_client_core()
        asyncio.run(drive(url, tokens, max(warmup, 5), max(clients), Run("warm-up"), "warm"))
        idle = settle(process.pid, 1)
        for n in clients:
            pinned = " pinned" if step_cost.PIN else ""
            run = Run(f"stack floor: {kind} {n}c{pinned}", idle=idle, affinity=pinning(process.pid))
            began, cpu, client_cpu = time.perf_counter(), tree_cpu(process.pid), time.process_time()
            asyncio.run(drive(url, tokens, count, n, run, f"run{n}"))
            run.seconds = time.perf_counter() - began
            run.cpu = tree_cpu(process.pid) - cpu - idle * run.seconds
            run.client_cpu = time.process_time() - client_cpu
            runs.append(run)
    return runs


def capture(path: Path) -> None:
    """Drive `mso-flow serve` through one instance and keep its responses of every step."""
    from step_cost import BPMN, CLERK, HEAD, KEY, PATH
    from tests.live import live_service

    with TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "bpmn" / "central").mkdir(parents=True)
        shutil.copy(BPMN, tmp / "bpmn" / "central")
        url = f"sqlite:///{tmp / 'capture.db'}"
        with live_service(url, tmp, workers=1, bpmn_dir=tmp / "bpmn") as live, live.client() as client:
            tokens: dict[str, dict[str, str]] = {}
            for name, roles in (("start", ["integrator"]), (CLERK, [CLERK]), (HEAD, [HEAD])):
                response = client.post("/api/v1/users", json={"username": f"c{len(tokens)}", "roles": roles})
                tokens[name] = {"Authorization": f"Bearer {response.raise_for_status().json()['token']}"}
            start = client.post(
                f"/api/v1/process-definitions/{KEY}/start",
                json={"business_key": "capture"},
                headers=tokens["start"],
            ).raise_for_status()
            samples: dict[str, Any] = {"start": start.json(), "claim": [], "complete": []}
            task = start.json()["active_tasks"][0]
            for _element, role, variables in PATH:
                claim = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=tokens[role]).raise_for_status()
                done = client.post(
                    f"/api/v1/tasks/{task['id']}/complete", json={"variables": variables}, headers=tokens[role]
                ).raise_for_status()
                samples["claim"].append(claim.json())
                samples["complete"].append(done.json())
                active = done.json()["instance"]["active_tasks"]
                task = active[0] if active else None
    path.write_text(json.dumps(samples, ensure_ascii=False, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--floors", default=",".join(KINDS_OF_FLOOR), help="comma list of asgi, fastapi, fastapi-sync")
    parser.add_argument("--clients", default="1", help="comma list of concurrent HTTP clients")
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--capture", action="store_true", help=f"refresh {SAMPLES.name} from mso-flow serve")
    parser.add_argument("--serve", choices=KINDS_OF_FLOOR, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    if args.capture:
        capture(SAMPLES)
        print(f"wrote {SAMPLES}")
        return
    from step_cost import HEADER, run_line

    clients = [int(c) for c in args.clients.split(",") if c]
    print(HEADER)
    with TemporaryDirectory() as name:
        for kind in args.floors.split(","):
            for run in stack_runs(kind, clients, args.instances, args.warmup, Path(name)):
                print(run_line(run, None), flush=True)


if __name__ == "__main__":
    main()
