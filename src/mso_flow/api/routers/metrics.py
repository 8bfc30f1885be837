"""`GET /metrics`: Prometheus text exposition, for the metrics token or loopback clients (see
`services.monitoring`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mso_flow.api.deps import ServicesDep
from mso_flow.services.platform import monitoring
from mso_flow.telemetry import metrics

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def scrape(request: Request, services: ServicesDep) -> Response:
    header = request.headers.get("authorization", "")
    bearer = header[7:].strip() if header[:7].lower() == "bearer " else None
    monitoring.authorize_scrape(services, bearer, request.client.host if request.client else None)
    return Response(metrics.render(monitoring.database_families(services)), media_type=metrics.CONTENT_TYPE)
