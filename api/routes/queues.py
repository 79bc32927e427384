"""Work queues: depth and age for everyone who works them, and the claim of the next chart."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from temporalio.client import WorkflowUpdateFailedError

from api.deps import SessionDep, TemporalDep, require
from api.errors import NotFound
from api.schemas.encounters import EncounterDetail, QueueOut
from api.views import read_detail
from models.access import Principal
from models.repositories.encounters import EncounterRepository, QueueRepository
from services.encounters import actor, handle
from workflows.encounter import EncounterWorkflow
from workflows.types import ClaimRequest

router = APIRouter(prefix="/v1/queues", tags=["queues"])

CLAIM_ATTEMPTS = 5


@router.get("", response_model=list[QueueOut])
async def list_queues(session: SessionDep, who: Annotated[Principal, Depends(require("queues.read"))]) -> list[QueueOut]:
    stats = await QueueRepository(session, who).stats(datetime.now(UTC))
    return [QueueOut.model_validate(s) for s in stats]


@router.post(
    "/{queue_id}/claim",
    response_model=EncounterDetail,
    responses={204: {"description": "the queue has no chart you can claim"}, 404: {"description": "unknown queue"}},
)
async def claim_next(
    queue_id: str,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("queues.claim"))],
) -> EncounterDetail | Response:
    """Lease in PostgreSQL first (SKIP LOCKED), then let the workflow confirm; a refusal frees it."""
    queues = QueueRepository(session, who)
    if await queues.get(queue_id) is None:
        raise NotFound(f"queue '{queue_id}' does not exist or does not serve vendor '{who.vendor_id}'")
    for _ in range(CLAIM_ATTEMPTS):
        token = uuid.uuid4()
        leased = await queues.lease_next(queue_id, token)
        await session.commit()
        if leased is None:
            return Response(status_code=204)
        try:
            await handle(temporal, leased.id).execute_update(
                EncounterWorkflow.claim, ClaimRequest(actor(who), str(token))
            )
        except WorkflowUpdateFailedError:
            await queues.drop_lease(leased.id, token)
            await session.commit()
            continue
        return await read_detail(EncounterRepository(session, who), leased.id)
    return Response(status_code=204)
