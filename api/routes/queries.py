"""Physician documentation queries: raise (compliance-linted), inbox, answer, withdraw."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import PROBLEMS, SessionDep, TemporalDep, require
from api.schemas.queries import AnswerIn, QueryIn, QueryOut, WithdrawIn
from api.views import find_queries, read_query
from models.access import Principal
from models.queries.rules import ClinicalIndicator, QueryDraft
from models.repositories.queries import QueryFilter, QueryRepository
from services import queries

router = APIRouter(tags=["queries"])


@router.post("/v1/encounters/{encounter_id}/queries", response_model=QueryOut, status_code=201, responses={**PROBLEMS, 422: {"description": "not compliant; nothing changed"}})
async def raise_query(
    encounter_id: uuid.UUID,
    body: QueryIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("queries.raise"))],
) -> QueryOut:
    draft = QueryDraft(
        question=body.question,
        form=body.form,
        indicators=[ClinicalIndicator(i.document_id, i.excerpt) for i in body.indicators],
        options=list(body.options),
        yes_no_purpose=body.yes_no_purpose,
        proposed_diagnosis=body.proposed_diagnosis,
    )
    raised = await queries.raise_query(
        session, temporal, who, encounter_id, draft, physician_npi=body.physician_npi, physician_user=body.physician_user
    )
    return await read_query(QueryRepository(session, who), raised)


@router.get("/v1/queries", response_model=list[QueryOut])
async def list_queries(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("queries.read"))],
    status: Annotated[Literal["open", "answered", "withdrawn", "expired"] | None, Query()] = None,
    physician: Annotated[str | None, Query(description="NPI or user id")] = None,
    encounter_id: uuid.UUID | None = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=36500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QueryOut]:
    return await find_queries(session, who, QueryFilter(status, physician, encounter_id, min_age_days), limit=limit)


@router.get("/v1/queries/{query_id}", response_model=QueryOut, responses=PROBLEMS)
async def get_query(
    query_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("queries.read"))]
) -> QueryOut:
    return await read_query(QueryRepository(session, who), query_id)


@router.post("/v1/queries/{query_id}/answer", response_model=QueryOut, responses=PROBLEMS)
async def answer_query(
    query_id: uuid.UUID,
    body: AnswerIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("queries.answer"))],
) -> QueryOut:
    answered = await queries.answer_query(
        session, temporal, who, query_id, option_index=body.option_index, free_text=body.free_text, addendum=body.addendum
    )
    return await read_query(QueryRepository(session, who), answered)


@router.post("/v1/queries/{query_id}/withdraw", response_model=QueryOut, responses=PROBLEMS)
async def withdraw_query(
    query_id: uuid.UUID,
    body: WithdrawIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("queries.withdraw"))],
) -> QueryOut:
    withdrawn = await queries.withdraw_query(session, temporal, who, query_id, body.reason)
    return await read_query(QueryRepository(session, who), withdrawn)
