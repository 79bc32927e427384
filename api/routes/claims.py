"""The claim stage as people see it: the scrub result, soft-edit acknowledgments, claims, 837P."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from api.deps import PROBLEMS, SessionDep, TemporalDep, require
from api.errors import NotFound
from api.schemas.claims import AcknowledgeIn, ClaimOut, ScrubOut
from api.views import scrub_view
from models.access import Principal
from models.claims.tables import ClaimRow
from models.repositories import claims as claims_repo
from models.repositories import scope
from models.repositories.encounters import EncounterRepository
from services import scrub
from services.encounters import load
from services.scrub import latest_scrub

router = APIRouter(tags=["claims"])


def claim_view(c: ClaimRow) -> ClaimOut:
    return ClaimOut(
        id=str(c.id),
        encounter_id=str(c.encounter_id),
        control_number=c.control_number,
        status=c.status,
        payer_id=c.payer_id,
        payer_name=c.payer_name,
        total_charge_cents=c.total_charge_cents,
        expected_cents=c.expected_cents,
        paid_cents=c.paid_cents,
        lines=list(c.lines),
        submitted_at=c.submitted_at,
        acknowledged_at=c.acknowledged_at,
        rejection=c.rejection,
        filed=c.filed,
        batch_id=str(c.batch_id) if c.batch_id else None,
        submission_id=c.submission_id,
        transaction_control=c.transaction_control,
        syntax_ack=c.syntax_ack,
    )


@router.get("/v1/encounters/{encounter_id}/scrub", response_model=ScrubOut, responses=PROBLEMS)
async def get_scrub(
    encounter_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("encounters.read"))]
) -> ScrubOut:
    """The latest scrub: each edit with its rule, which checks ran and which were skipped (and why)."""
    e = await load(EncounterRepository(session, who), encounter_id)
    await scope.Scope(session, who).refuse_if_blind(e.id)  # edits name the codes
    run = await latest_scrub(session, e.id)
    if run is None:
        raise NotFound("this chart has not been scrubbed yet; it is scrubbed when its coding is submitted")
    return scrub_view(run)


@router.post("/v1/encounters/{encounter_id}/scrub/acknowledge", response_model=ScrubOut, responses=PROBLEMS)
async def acknowledge_edits(
    encounter_id: uuid.UUID,
    body: AcknowledgeIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("coding.submit"))],
) -> ScrubOut:
    """Soft edits may leave with a reason; hard edits are fixed by recoding, never acknowledged."""
    acks = [(a.rule, a.line_index, a.reason) for a in body.acknowledgments]
    return scrub_view(await scrub.acknowledge_edits(session, temporal, who, encounter_id, acks))


@router.get("/v1/claims", response_model=list[ClaimOut])
async def list_claims(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("claims.read"))],
    status: str | None = None,
    encounter_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ClaimOut]:
    rows = await claims_repo.find_claims(session, who, status=status, encounter_id=encounter_id, limit=limit)
    return [claim_view(c) for c in rows]


async def _claim(session: SessionDep, who: Principal, claim_id: uuid.UUID) -> ClaimRow:
    return await scope.Scope(session, who).claim(claim_id)


@router.get("/v1/claims/{claim_id}", response_model=ClaimOut, responses=PROBLEMS)
async def get_claim(
    claim_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("claims.read"))]
) -> ClaimOut:
    return claim_view(await _claim(session, who, claim_id))


@router.get("/v1/claims/{claim_id}/x12", response_class=PlainTextResponse, responses=PROBLEMS)
async def get_claim_x12(
    claim_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("claims.read"))]
) -> PlainTextResponse:
    """The X12 5010 837P (005010X222A1) exactly as it was sent."""
    claim = await _claim(session, who, claim_id)
    return PlainTextResponse(claim.x12, media_type="application/edi-x12")
