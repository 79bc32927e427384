"""Work queues: depth and age for everyone who works them, and the claim of the next chart."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api.deps import SessionDep, TemporalDep, require
from api.schemas.encounters import EncounterDetail, QueueOut
from api.views import read_detail
from models.access import Principal
from models.repositories.encounters import EncounterRepository, QueueRepository
from services import queues

router = APIRouter(prefix="/v1/queues", tags=["queues"])


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
    claimed = await queues.claim_next(session, temporal, who, queue_id)
    if claimed is None:
        return Response(status_code=204)
    return await read_detail(EncounterRepository(session, who), claimed)
