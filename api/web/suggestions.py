"""Code suggestions in the coder workspace: listed beside the note, accepted or rejected in one click.

Both calls go through the JSON API's handlers with the signed-in principal, so scoping and the
"only the coder holding the chart decides" rule cannot drift between the API and the UI.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api.deps import SessionDep
from api.routes import suggestions as suggestion_api
from api.schemas.encounters import SuggestionDecisionIn
from api.web import data
from api.web.render import WebRoute
from api.web.session import WebError, WebSession, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Coder = Annotated[WebSession, Depends(viewer("coding.submit"))]


def _id(value: str) -> uuid.UUID:
    ident = data.parse_id(value)
    if ident is None:
        raise WebError(404, "this encounter or suggestion does not exist or is not visible to you")
    return ident


@router.get("/ui/work/{encounter_id}/suggestions")
async def list_suggestions(encounter_id: str, db: SessionDep, session: Coder) -> JSONResponse:
    found = await suggestion_api.list_suggestions(_id(encounter_id), db, session.principal)
    return JSONResponse([s.model_dump(mode="json") for s in found])


@router.post("/ui/work/{encounter_id}/suggestions/{suggestion_id}/decision")
async def decide(
    encounter_id: str, suggestion_id: str, body: SuggestionDecisionIn, db: SessionDep, session: Coder
) -> JSONResponse:
    decided = await suggestion_api.decide_suggestion(_id(encounter_id), _id(suggestion_id), body, db, session.principal)
    return JSONResponse(decided.model_dump(mode="json"))
