"""Releasing a hold by its id (the hold's encounter is found from the projection)."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import SessionDep, TemporalDep, require
from api.errors import NotFound, Unprocessable
from api.routes.encounters import PROBLEMS, actor, handle, read_detail, store_text
from api.schemas.encounters import EncounterDetail, HoldReleaseIn
from models.access import Principal
from models.repositories.encounters import EncounterRepository, visible
from models.tables import Encounter
from workflows.encounter import EncounterWorkflow
from workflows.types import ReleaseHoldRequest

router = APIRouter(prefix="/v1/holds", tags=["holds"])

SYSTEM_RELEASED = frozenset({"missing_documentation", "awaiting_query_response"})


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
    if reason in SYSTEM_RELEASED and who.role != "admin":
        raise Unprocessable(
            f"a '{reason}' hold is released automatically when the missing item arrives; an admin can override"
        )
    repo = EncounterRepository(session, who)
    resolution = await store_text(repo, body.resolution) if body.resolution else None
    await session.commit()
    request = ReleaseHoldRequest(actor(who), hold_id, resolution)
    await handle(temporal, found.id).execute_update(EncounterWorkflow.release_hold, request)
    return await read_detail(repo, found.id)
