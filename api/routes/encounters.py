"""Encounter reads and the human actions on one chart (coding, release, reassign, holds)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from api.deps import PROBLEMS, SessionDep, TemporalDep, require
from api.errors import Unprocessable
from api.schemas.encounters import (
    CodingIn,
    EncounterDetail,
    EncounterPage,
    HoldIn,
    ReassignIn,
    SuggestionOut,
)
from api.views import (
    coding_lines,
    decode_cursor,
    encode_cursor,
    read_detail,
    scrub_view,
    summary,
    text_download,
)
from models.access import Principal
from models.encounters.lifecycle import State
from models.encounters.tables import Vendor
from models.repositories.encounters import EncounterFilter, EncounterRepository
from models.repositories.users import require_coder
from services import coding, holds, suggestions
from services.encounters import actor, handle, load, readable_document, refuse_if_blind
from services.scrub import latest_scrub
from workflows.encounter import EncounterWorkflow
from workflows.types import (
    ReassignRequest,
    ReleaseRequest,
)

router = APIRouter(prefix="/v1/encounters", tags=["encounters"])


@router.get("", response_model=EncounterPage)
async def list_encounters(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("encounters.read"))],
    status: State | None = None,
    queue: str | None = None,
    assignee: str | None = None,
    overdue: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EncounterPage:
    repo = EncounterRepository(session, who)
    rows = await repo.page(
        EncounterFilter(status, queue, assignee, overdue),
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return EncounterPage(items=[summary(r) for r in rows], next_cursor=encode_cursor(rows[-1]) if more else None)


@router.get("/{encounter_id}", response_model=EncounterDetail, responses=PROBLEMS)
async def get_encounter(
    encounter_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("encounters.read"))]
) -> EncounterDetail:
    await refuse_if_blind(session, who, encounter_id)
    answer = await read_detail(EncounterRepository(session, who), encounter_id, with_text=True)
    answer.suggestions = [SuggestionOut.model_validate(s) for s in await suggestions.for_encounter(session, encounter_id)]
    return answer


@router.get(
    "/{encounter_id}/documents/{document_id}/content",
    response_class=PlainTextResponse,
    responses={**PROBLEMS, 403: {"description": "not entitled to read this chart's notes"}},
)
async def document_content(
    encounter_id: uuid.UUID, document_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("encounters.read"))]
) -> PlainTextResponse:
    """One document's whole text as a download (pages and answers show the first part of long notes)."""
    return text_download(await readable_document(session, who, encounter_id, document_id))


@router.post("/{encounter_id}/coding", response_model=EncounterDetail, responses={**PROBLEMS, 422: {"description": "invalid codes; nothing changed"}})
async def submit_coding(
    encounter_id: uuid.UUID,
    body: CodingIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("coding.submit"))],
) -> EncounterDetail:
    chart = await coding.submit_coding(session, temporal, who, encounter_id, *coding_lines(body))
    answer = await read_detail(EncounterRepository(session, who), chart)
    run = await latest_scrub(session, chart)
    answer.scrub = scrub_view(run) if run else None
    return answer


@router.post("/{encounter_id}/release", response_model=EncounterDetail, responses=PROBLEMS)
async def release_chart(
    encounter_id: uuid.UUID,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("charts.release"))],
) -> EncounterDetail:
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    await handle(temporal, e.id).execute_update(EncounterWorkflow.release, ReleaseRequest(actor(who)))
    return await read_detail(repo, e.id)


@router.post("/{encounter_id}/reassign", response_model=EncounterDetail, responses=PROBLEMS)
async def reassign_chart(
    encounter_id: uuid.UUID,
    body: ReassignIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("charts.reassign"))],
) -> EncounterDetail:
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    if body.to_user is not None:
        if body.to_vendor is None:
            raise Unprocessable("to_vendor is required with to_user: coders work for a vendor")
        if await session.get(Vendor, (who.tenant_id, body.to_vendor)) is None:
            raise Unprocessable(f"vendor '{body.to_vendor}' does not exist in this tenant")
        await require_coder(session, who.tenant_id, body.to_user, body.to_vendor, queue_id=e.queue_id)
    request = ReassignRequest(actor(who), body.to_user, body.to_vendor)
    await handle(temporal, e.id).execute_update(EncounterWorkflow.reassign, request)
    return await read_detail(repo, e.id)


@router.post("/{encounter_id}/holds", response_model=EncounterDetail, status_code=201, responses=PROBLEMS)
async def place_hold(
    encounter_id: uuid.UUID,
    body: HoldIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("holds.place"))],
) -> EncounterDetail:
    chart = await holds.place_hold(session, temporal, who, encounter_id, body.reason, body.note)
    return await read_detail(EncounterRepository(session, who), chart)
