"""Code suggestions on a chart: the coder holding it accepts or rejects each one (nothing is coded)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import PROBLEMS, SessionDep, require
from api.errors import Conflict, NotFound
from api.schemas.encounters import SuggestionDecisionIn, SuggestionOut
from models.access import Principal
from models.repositories.encounters import EncounterRepository
from services import suggestions
from services.encounters import load, refuse_if_blind

router = APIRouter(prefix="/v1/encounters", tags=["suggestions"])


@router.get("/{encounter_id}/suggestions", response_model=list[SuggestionOut], responses=PROBLEMS)
async def list_suggestions(
    encounter_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("encounters.read"))]
) -> list[SuggestionOut]:
    await refuse_if_blind(session, who, encounter_id)
    await load(EncounterRepository(session, who), encounter_id)
    return [SuggestionOut.model_validate(s) for s in await suggestions.for_encounter(session, encounter_id)]


@router.post("/{encounter_id}/suggestions/{suggestion_id}/decision", response_model=SuggestionOut, responses=PROBLEMS)
async def decide_suggestion(
    encounter_id: uuid.UUID,
    suggestion_id: uuid.UUID,
    body: SuggestionDecisionIn,
    session: SessionDep,
    who: Annotated[Principal, Depends(require("coding.submit"))],
) -> SuggestionOut:
    """Accepting records the choice only; the code is coded when the coder submits it."""
    encounter = await load(EncounterRepository(session, who), encounter_id)
    try:
        row = await suggestions.decide(session, who, encounter, suggestion_id, body.decision)
    except suggestions.SuggestionNotFound as exc:
        raise NotFound(str(exc)) from exc
    except suggestions.DecisionRefused as exc:
        raise Conflict(str(exc)) from exc
    await session.commit()
    return SuggestionOut.model_validate(suggestions.view(row))
