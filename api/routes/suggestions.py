"""Code suggestions on a chart: the coder holding it accepts or rejects each one (nothing is coded)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import PROBLEMS, SessionDep, require
from api.schemas.encounters import SuggestionDecisionIn, SuggestionOut
from models.access import Principal
from services import suggestions

router = APIRouter(prefix="/v1/encounters", tags=["suggestions"])


@router.get("/{encounter_id}/suggestions", response_model=list[SuggestionOut], responses=PROBLEMS)
async def list_suggestions(
    encounter_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("encounters.read"))]
) -> list[SuggestionOut]:
    return [SuggestionOut.model_validate(s) for s in await suggestions.on_chart(session, who, encounter_id)]


@router.post("/{encounter_id}/suggestions/{suggestion_id}/decision", response_model=SuggestionOut, responses=PROBLEMS)
async def decide_suggestion(
    encounter_id: uuid.UUID,
    suggestion_id: uuid.UUID,
    body: SuggestionDecisionIn,
    session: SessionDep,
    who: Annotated[Principal, Depends(require("coding.submit"))],
) -> SuggestionOut:
    """Accepting records the choice only; the code is coded when the coder submits it."""
    return SuggestionOut.model_validate(await suggestions.decide_on_chart(session, who, encounter_id, suggestion_id, body.decision))
