"""What a metrics scrape reports from the database, and who may scrape.

`GET /metrics` is served to a bearer of `MSO_FLOW_METRICS_TOKEN` when that is set, and otherwise only to
clients on the loopback interface (a Prometheus agent on the same host, or a proxy that adds the token).
"""

from __future__ import annotations

import hmac
import ipaddress

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from mso_flow.services.platform.context import Services
from mso_flow.services.platform.failures import Forbidden, Unauthenticated
from mso_flow.store import monitoring as store


def authorize_scrape(services: Services, bearer: str | None, client_host: str | None) -> None:
    """Allow a scrape with the metrics token, or from loopback when no token is configured."""
    expected = services.settings.metrics_token
    if expected:
        if bearer is None or not hmac.compare_digest(bearer.encode(), expected.encode()):
            raise Unauthenticated("metrics_token", "ต้องส่ง MSO_FLOW_METRICS_TOKEN เป็น Bearer (metrics token required)")
        return
    try:
        loopback = client_host is not None and ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise Forbidden(
            "metrics_loopback_only",
            "ตั้ง MSO_FLOW_METRICS_TOKEN ก่อนเปิด /metrics ให้เครื่องอื่น (metrics are served to loopback only "
            "unless MSO_FLOW_METRICS_TOKEN is set)",
        )


def database_families(services: Services) -> list[Metric]:
    """Gauges read from the database at scrape time, in one read transaction."""
    now = services.clock()
    with services.db.read() as session:
        work = store.open_work(session, now)
        outbox = store.outbox(session)
        oldest = store.oldest_due_timer(session, now)
        incidents = store.open_incidents(session)
    open_tasks = GaugeMetricFamily(
        "mso_flow_tasks_open", "open user tasks per candidate role and unit", labels=["role", "unit"]
    )
    overdue = GaugeMetricFamily(
        "mso_flow_tasks_overdue",
        "open user tasks past their due date per candidate role and unit",
        labels=["role", "unit"],
    )
    for row in work:
        open_tasks.add_metric([row.role, row.unit], row.open)
        overdue.add_metric([row.role, row.unit], row.overdue)
    deliveries = GaugeMetricFamily("mso_flow_webhook_deliveries", "webhook outbox rows by state", labels=["state"])
    for state, count in outbox.items():
        deliveries.add_metric([state], count)
    lag = GaugeMetricFamily(
        "mso_flow_timer_lag_seconds", "now minus the due time of the oldest due timer not yet fired (0: none late)"
    )
    lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    open_incidents = GaugeMetricFamily("mso_flow_incidents_open", "open incidents")
    open_incidents.add_metric([], incidents)
    return [open_tasks, overdue, deliveries, lag, open_incidents]
