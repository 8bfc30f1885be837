"""Webhook subscriptions (integrator or admin; each sees its own, an admin all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import Page
from mso_flow.schemas.integration import DeliveryOut, WebhookOut, WebhookRequest
from mso_flow.services.integrations import webhooks
from mso_flow.services.integrations.webhooks import WebhookRecord

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
WebhookId = Annotated[str, Path(max_length=64)]


def _out(webhook: WebhookRecord) -> WebhookOut:
    return WebhookOut.model_validate(webhook, from_attributes=True)


@router.post("", response_model=WebhookOut, status_code=status.HTTP_201_CREATED)
def create_webhook(body: WebhookRequest, caller: CallerDep, services: ServicesDep) -> WebhookOut:
    """Subscribe a URL to events (of some processes or units). Each delivery is a JSON POST signed over its
    timestamp and body, retried with backoff until it succeeds. The URL must not resolve to an internal address
    (loopback, private, link-local) unless allowlisted. The webhook belongs to its creator."""
    created = webhooks.create(
        services,
        caller,
        str(body.url),
        body.events,
        body.secret,
        process_keys=body.process_keys,
        units=body.units,
        include_variables=body.include_variables,
    )
    return _out(created)


@router.get("", response_model=Page[WebhookOut])
def list_webhooks(caller: CallerDep, services: ServicesDep, paging: PagingDep) -> Page[WebhookOut]:
    items, total = webhooks.listing(services, caller, paging.offset, paging.limit)
    return Page(items=[_out(w) for w in items], total=total, offset=paging.offset, limit=paging.limit)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: WebhookId, caller: CallerDep, services: ServicesDep) -> Response:
    webhooks.delete(services, caller, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    webhook_id: WebhookId, caller: CallerDep, services: ServicesDep, paging: PagingDep
) -> Page[DeliveryOut]:
    """Extension: the webhook's outbox, oldest first, with attempts and the last error."""
    items, total = webhooks.deliveries(services, caller, webhook_id, paging.offset, paging.limit)
    return Page(
        items=[DeliveryOut.model_validate(d, from_attributes=True) for d in items],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )
