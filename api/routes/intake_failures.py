"""Webhook deliveries whose intake failed, with the reason: what operations must look at."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.deps import SessionDep, require
from models.access import Principal
from services.intake_failures import failures

router = APIRouter(prefix="/v1/intake", tags=["webhooks"])


@router.get("/failures")
async def list_intake_failures(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("intake.failures.read"))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Newest first. A failure stays listed after a later redelivery succeeded (`answered`)."""
    return await failures(session, who.tenant_id, limit)
