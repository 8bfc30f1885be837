"""Webhook delivery with bad receivers among good ones: how long the good ones wait.

Runs the service's own deliverer loop (`Deliverer.run`) on a SQLite database against real HTTP receivers on
loopback (allowlisted): `--healthy` receivers that answer at once, and optionally one that hangs (answers one
header byte every 0.1 s, forever) and one that refuses connections. Starts `--instances` instances of a
process (one `instance.started` event each, delivered to every subscription) and reports, over the healthy
receivers' deliveries, the latency from the event to its delivery (p50, p95, max) and the total time.

    python bench/webhook_isolation.py --healthy 4 --instances 200            # baseline
    python bench/webhook_isolation.py --healthy 4 --instances 200 --bad      # with a hanging and a dead one
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.instances import lifecycle as instances
from mso_flow.services.integrations import webhooks
from mso_flow.services.integrations.webhook_delivery import Deliverer
from mso_flow.services.platform.context import SYSTEM, Services
from mso_flow.settings import Settings
from mso_flow.store import migrate
from mso_flow.store.db import Database
from mso_flow.store.models import WebhookDelivery

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/: live services
from tests.live import free_port

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "integration.bpmn"


def serve(respond: Any) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            respond(self)

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}/hook"


def ok(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(204)
    handler.end_headers()


def hang(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    try:
        while True:
            handler.wfile.write(b"X")
            handler.wfile.flush()
            time.sleep(0.1)
    except OSError:
        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--healthy", type=int, default=4)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--bad", action="store_true", help="add a hanging and a refusing receiver")
    parser.add_argument("--deadline", type=float, default=10.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            database_url=f"sqlite:///{directory}/bench.db",
            audit_signing_key_file=Path(directory) / "key.pem",
            webhook_allowed_networks="127.0.0.1/32",
            webhook_timeout_seconds=args.deadline,
            scheduler_interval_seconds=0.05,
        )
        database = Database(settings.database_url)
        migrate.upgrade(database.engine, ROOT / "migrations")
        services = Services(settings=settings, db=database)
        definitions.deploy(services, SYSTEM, [("integration.bpmn", FIXTURE.read_bytes())])
        servers = [serve(ok) for _ in range(args.healthy)]
        healthy = {webhooks.create(services, SYSTEM, url, ["instance.started"], "s" * 16).id for _, url in servers}
        if args.bad:
            servers.append(serve(hang))
            webhooks.create(services, SYSTEM, servers[-1][1], ["instance.started"], "s" * 16)
            webhooks.create(services, SYSTEM, f"http://127.0.0.1:{free_port()}/hook", ["instance.started"], "s" * 16)

        stop = threading.Event()
        loop = threading.Thread(target=lambda: asyncio.run(Deliverer(services).run(stop)), daemon=True)
        began = time.monotonic()
        loop.start()
        for _ in range(args.instances):
            instances.start(services, SYSTEM, "it_timers", None, {})
        expected = args.instances * args.healthy
        while True:
            with database.read() as session:
                done = list(
                    session.execute(
                        select(WebhookDelivery.created_at, WebhookDelivery.delivered_at).where(
                            WebhookDelivery.webhook_id.in_(healthy), WebhookDelivery.delivered_at.is_not(None)
                        )
                    )
                )
            if len(done) >= expected:
                break
            time.sleep(0.1)
        total = time.monotonic() - began
        stop.set()
        loop.join(timeout=30)
        latencies = sorted((delivered - created).total_seconds() * 1000 for created, delivered in done)
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"healthy={args.healthy} bad={'hanging+refusing' if args.bad else 'none'} instances={args.instances} "
            f"deliveries={len(done)} total={total:.1f}s latency ms: p50={statistics.median(latencies):.0f} "
            f"p95={p95:.0f} max={latencies[-1]:.0f}"
        )
        for server, _ in servers:
            server.shutdown()
        database.dispose()


if __name__ == "__main__":
    main()
