"""Code suggestions in the coder workspace: listed beside the note, accepted or rejected in one click.

Both calls go through the same service functions as the JSON API, with the signed-in principal, so scoping and the
"only the coder holding the chart decides" rule cannot drift between the API and the UI.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api.deps import SessionDep
from api.schemas.encounters import SuggestionDecisionIn, SuggestionOut
from api.web import data
from api.web.render import WebRoute
from api.web.session import WebError, WebSession, viewer
from services import suggestions

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Coder = Annotated[WebSession, Depends(viewer("coding.submit"))]


def _id(value: str) -> uuid.UUID:
    ident = data.parse_id(value)
    if ident is None:
        raise WebError(404, "this encounter or suggestion does not exist or is not visible to you")
    return ident


@router.get("/ui/work/{encounter_id}/suggestions")
async def list_suggestions(encounter_id: str, db: SessionDep, session: Coder) -> JSONResponse:
    found = await suggestions.on_chart(db, session.principal, _id(encounter_id))
    return JSONResponse([SuggestionOut.model_validate(s).model_dump(mode="json") for s in found])


@router.post("/ui/work/{encounter_id}/suggestions/{suggestion_id}/decision")
async def decide(
    encounter_id: str, suggestion_id: str, body: SuggestionDecisionIn, db: SessionDep, session: Coder
) -> JSONResponse:
    decided = await suggestions.decide_on_chart(db, session.principal, _id(encounter_id), _id(suggestion_id), body.decision)
    return JSONResponse(SuggestionOut.model_validate(decided).model_dump(mode="json"))
