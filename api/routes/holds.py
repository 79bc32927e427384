"""Releasing a hold by its id (the hold's encounter is found from the projection)."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import PROBLEMS, SessionDep, TemporalDep, require
from api.errors import Forbidden, NotFound
from api.schemas.encounters import EncounterDetail, HoldReleaseIn
from api.views import read_detail
from models.access import Principal
from models.holds import DEFAULT_HOLD_POLICY
from models.repositories.encounters import EncounterRepository, visible
from models.tables import Encounter
from services.encounters import actor, handle, store_text
from workflows.encounter import EncounterWorkflow
from workflows.types import ReleaseHoldRequest

router = APIRouter(prefix="/v1/holds", tags=["holds"])

@router.post("/{hold_id}/release", response_model=EncounterDetail, responses=PROBLEMS)
async def release_hold(
    hold_id: str,
    body: HoldReleaseIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("holds.release"))],
) -> EncounterDetail:
    found = await session.scalar(visible(who).where(Encounter.holds.contains([{"id": hold_id}])))
    if found is None:
        raise NotFound(f"no open hold {hold_id} on an encounter visible to you")
    reason = next(h["reason"] for h in found.holds if h["id"] == hold_id)
    if refusal := DEFAULT_HOLD_POLICY.refusal("release", who.role, reason):
        raise Forbidden(refusal)
    repo = EncounterRepository(session, who)
    resolution = await store_text(repo, body.resolution) if body.resolution else None
    await session.commit()
    request = ReleaseHoldRequest(actor(who), hold_id, resolution)
    await handle(temporal, found.id).execute_update(EncounterWorkflow.release_hold, request)
    return await read_detail(repo, found.id)
