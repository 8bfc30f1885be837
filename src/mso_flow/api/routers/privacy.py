"""Personal data (PDPA): erasure, the data-subject export and the log of reads of an instance; webhook grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from mso_flow.api.deps import CallerDep, PagingDep, ServicesDep
from mso_flow.schemas.common import Page
from mso_flow.schemas.integration import WebhookOut
from mso_flow.schemas.privacy import (
    EraseRequest,
    ErasureOut,
    GrantRequest,
    PersonalDataExport,
    PersonalDataReadOut,
    PersonalFieldOut,
    SuppliedBy,
)
from mso_flow.services.privacy import officer as privacy

router = APIRouter(tags=["personal data"])
InstanceId = Annotated[str, Path(max_length=64)]


@router.post("/process-instances/{instance_id}/erase-personal-data", response_model=ErasureOut)
def erase(instance_id: InstanceId, body: EraseRequest, caller: CallerDep, services: ServicesDep) -> ErasureOut:
    """Destroy the instance's data key (privacy officer): its personal values become unreadable in its variables,
    engine state, audit data and pending deliveries at once; the instance and its audit trail remain and verify.
    A running instance is a 409 unless `cancel_running`."""
    done = privacy.erase(services, caller, instance_id, body.reason, body.cancel_running)
    return ErasureOut(
        instance_id=done.instance_id,
        instance_state=done.instance_state,
        erased_at=done.erased_at,
        erased_by=done.erased_by,
        fields=done.fields,
    )


@router.get("/process-instances/{instance_id}/personal-data", response_model=PersonalDataExport)
def export(instance_id: InstanceId, caller: CallerDep, services: ServicesDep) -> PersonalDataExport:
    """Everything the instance holds about its data subjects, with where each value came from (privacy officer;
    the read is logged)."""
    found = privacy.export(services, caller, instance_id)
    return PersonalDataExport(
        instance_id=found.instance_id,
        definition_key=found.definition_key,
        business_key=found.business_key,
        state=found.state,
        erased_at=found.erased_at,
        fields=[
            PersonalFieldOut(
                name=f.name,
                label=f.label,
                sensitive=f.sensitive,
                value=f.value,
                erased=f.erased,
                supplied=[SuppliedBy(**s) for s in f.supplied],
            )
            for f in found.fields
        ],
    )


@router.get("/process-instances/{instance_id}/personal-data/reads", response_model=Page[PersonalDataReadOut])
def reads(
    instance_id: InstanceId, caller: CallerDep, services: ServicesDep, paging: PagingDep
) -> Page[PersonalDataReadOut]:
    """Who read the instance's personal values unmasked, when, which and why (privacy officer, auditor)."""
    items, total = privacy.reads(services, caller, instance_id, paging.offset, paging.limit)
    return Page(
        items=[PersonalDataReadOut.model_validate(r, from_attributes=True) for r in items],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


@router.put("/webhooks/{webhook_id}/personal-data-grant", response_model=WebhookOut)
def grant(
    webhook_id: Annotated[str, Path(max_length=64)], body: GrantRequest, caller: CallerDep, services: ServicesDep
) -> WebhookOut:
    """Grant (or withdraw) a subscription personal values unmasked (privacy officer; recorded in the admin
    audit trail). Without a grant, deliveries carry them as null, named in `data.masked`."""
    hook = privacy.grant_webhook(services, caller, webhook_id, body.granted, body.reason)
    return WebhookOut.model_validate(hook, from_attributes=True)
