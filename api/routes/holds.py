"""Releasing a hold by its id (the hold's encounter is found from the projection)."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import PROBLEMS, SessionDep, TemporalDep, require
from api.schemas.encounters import EncounterDetail, HoldReleaseIn
from api.views import read_detail
from models.access import Principal
from models.repositories.encounters import EncounterRepository
from services import holds

router = APIRouter(prefix="/v1/holds", tags=["holds"])

@router.post("/{hold_id}/release", response_model=EncounterDetail, responses=PROBLEMS)
async def release_hold(
    hold_id: str,
    body: HoldReleaseIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("holds.release"))],
) -> EncounterDetail:
    chart = await holds.release_hold(session, temporal, who, hold_id, body.resolution)
    return await read_detail(EncounterRepository(session, who), chart)
