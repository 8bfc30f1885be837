"""The service's Prometheus metrics (`prometheus-client`), correct with one worker or several.

With several workers, or a background process (`mso_flow/background.py`), `mso-flow serve` points
`PROMETHEUS_MULTIPROC_DIR` at an empty directory before they start (and switches itself to it when it serves as the
one worker); each process then writes its counters and histograms there and a scrape of any worker sums them all
(`MultiProcessCollector`). Without either (an app started without `serve`, the tests) the default in-process
registry is used. Values that live in the database (open tasks, outbox, timer lag) are not counted here: they are
read at scrape time and handed to
`render` as metric families.

Counters tied to a transaction (instances started and completed) are counted only when it commits.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.orm import Session

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "mso_flow_http_requests", "HTTP requests served, by route template and status", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "mso_flow_http_request_duration_seconds",
    "HTTP request duration, by route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
INSTANCES_STARTED = Counter("mso_flow_instances_started", "process instances started", ["process"])
INSTANCES_COMPLETED = Counter("mso_flow_instances_completed", "process instances completed", ["process"])
COMMANDS = Counter(
    "mso_flow_instance_commands",
    "instance commands run, by command and outcome (ok, refused, process_error)",
    ["command", "outcome"],
)
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "mso_flow_webhook_delivery_latency_seconds",
    "time from an event to its successful webhook delivery",
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)

_PENDING = "mso_flow_metrics_pending"


def count_on_commit(session: Session, counter: Counter, *labels: str) -> None:
    """Increment `counter` when `session`'s transaction commits (not if it rolls back)."""
    session.info.setdefault(_PENDING, []).append((counter, labels))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for counter, labels in session.info.pop(_PENDING, ()):
        counter.labels(*labels).inc()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


class _Families(Collector):
    """Metric families computed by the caller at scrape time."""

    def __init__(self, families: Iterable[Metric]):
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class _Process(Collector):
    """This process's own registry (one worker)."""

    def collect(self) -> Iterator[Metric]:
        return iter(REGISTRY.collect())


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def render(families: Iterable[Metric] = ()) -> bytes:
    """The text exposition: this service's metrics (summed over workers) and `families`."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    registry.register(_Families(families))
    return generate_latest(registry)


def use_multiprocess_dir(path: str) -> None:
    """Write this process's metrics to `path` from now on, and its children's (the multiprocess mode is chosen when
    `prometheus_client` is imported, so a process that imported it before must switch). The metrics with labels,
    which make their values at first use, follow; one made at import without labels stays in this process."""
    os.environ[MULTIPROC_ENV] = path
    values.ValueClass = values.MultiProcessValue()


def prepare_multiprocess_dir(path: str) -> None:
    """Empty the directory the workers will write to (files of an earlier run would be summed in)."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
