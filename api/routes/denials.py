"""Denials worked to resolution: the denial queues, appeals with their packet, decisions, write-offs."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from api.appeal_packet import build_packet, render_html, render_pdf
from api.deps import PROBLEMS, SessionDep, TemporalDep, require
from api.schemas.claims import AppealIn, AppealOut, DecisionIn, DenialOut, WriteOffIn
from api.schemas.encounters import EncounterDetail
from api.views import denial_view, read_appeal, read_detail
from models.access import Principal
from models.claims.denials import DenialCategory
from models.repositories import scope
from models.repositories.encounters import EncounterRepository
from services import denials

router = APIRouter(tags=["denials"])


@router.get("/v1/denials", response_model=list[DenialOut])
async def list_denials(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("claims.read"))],
    status: Literal["open", "appealed", "closed"] | None = None,
    work_queue: Annotated[str | None, Query(description="denials-coding or denials")] = None,
    category: DenialCategory | None = None,
    encounter_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DenialOut]:
    found = await denials.find_denials(
        session, who, status=status, work_queue=work_queue, category=category, encounter_id=encounter_id, limit=limit
    )
    return [denial_view(d) for d in found]


@router.get("/v1/denials/{denial_id}", response_model=DenialOut, responses=PROBLEMS)
async def get_denial(denial_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("claims.read"))]) -> DenialOut:
    return denial_view(await scope.Scope(session, who).denial(denial_id))


@router.post("/v1/denials/{denial_id}/appeals", response_model=AppealOut, status_code=201, responses={**PROBLEMS, 422: {"description": "not appealable"}})
async def file_appeal(
    denial_id: uuid.UUID,
    body: AppealIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("appeals.manage"))],
) -> AppealOut:
    filed = await denials.file_appeal(session, temporal, who, denial_id, body.level, body.reason)
    return await read_appeal(session, who, filed)


@router.post("/v1/denials/{denial_id}/write-off", response_model=EncounterDetail, responses=PROBLEMS)
async def write_off(
    denial_id: uuid.UUID,
    body: WriteOffIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("denials.work"))],
) -> EncounterDetail:
    chart = await denials.write_off(session, temporal, who, denial_id, body.reason)
    return await read_detail(EncounterRepository(session, who), chart)


@router.get("/v1/appeals/{appeal_id}", response_model=AppealOut, responses=PROBLEMS)
async def get_appeal(appeal_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("claims.read"))]) -> AppealOut:
    return await read_appeal(session, who, appeal_id)


@router.get("/v1/appeals/{appeal_id}/packet", responses={**PROBLEMS, 200: {"content": {"text/html": {}, "application/pdf": {}, "application/json": {}}}})
async def appeal_packet(
    appeal_id: uuid.UUID,
    session: SessionDep,
    who: Annotated[Principal, Depends(require("claims.read"))],
    format: Literal["json", "html", "pdf"] = "html",
) -> Response:
    """The appeal packet: denial, codes with their supporting excerpts, documents, queries and answers."""
    appeal = await scope.Scope(session, who).appeal(appeal_id)
    packet = await build_packet(session, who, appeal)
    if format == "json":
        from fastapi.responses import JSONResponse

        return JSONResponse(packet)
    if format == "pdf":
        return Response(render_pdf(packet), media_type="application/pdf")
    return HTMLResponse(render_html(packet))


@router.post("/v1/appeals/{appeal_id}/decision", response_model=AppealOut, responses=PROBLEMS)
async def decide_appeal(
    appeal_id: uuid.UUID,
    body: DecisionIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("appeals.manage"))],
) -> AppealOut:
    decided = await denials.decide_appeal(session, temporal, who, appeal_id, body.decision, body.recovered_cents)
    return await read_appeal(session, who, decided)
