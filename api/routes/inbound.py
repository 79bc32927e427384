"""Progress of an EHR delivery: accepted, processed and failed encounters of one webhook message."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.deps import SessionDep, require
from api.errors import NotFound
from models.access import Principal
from services.inbound import progress

router = APIRouter(prefix="/v1/inbound", tags=["webhooks"])


class InboundItemOut(BaseModel):
    index: int
    id: str
    external_id: str
    status: str  # accepted | processed | failed
    encounter_status: str | None
    error: str | None


class InboundOut(BaseModel):
    id: str
    webhook_id: str
    received_at: datetime
    total: int
    accepted: int
    processed: int
    failed: int
    done: bool
    encounters: list[InboundItemOut]


@router.get("/{inbound_id}", response_model=InboundOut, responses={404: {"description": "unknown delivery"}})
async def get_inbound(
    inbound_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("inbound.read"))]
) -> InboundOut:
    """Answers the `inbound_id` (and `progress`) of a webhook's 202; another tenant's id is unknown."""
    found = await progress(session, who.tenant_id, inbound_id)
    if found is None:
        raise NotFound(f"delivery {inbound_id} does not exist or belongs to another tenant")
    tally = {s: sum(1 for i in found.items if i["status"] == s) for s in ("accepted", "processed", "failed")}
    return InboundOut(
        id=str(found.id),
        webhook_id=found.webhook_id,
        received_at=found.received_at,
        total=len(found.items),
        done=tally["accepted"] == 0,
        encounters=[InboundItemOut(**i) for i in found.items],
        **tally,
    )
