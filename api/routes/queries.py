"""Physician documentation queries: raise (compliance-linted), inbox, answer, withdraw."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import PROBLEMS, SessionDep, TemporalDep, require
from api.errors import NotFound, Unprocessable
from api.schemas.queries import AnswerIn, QueryIn, QueryOut, WithdrawIn
from api.views import query_view, query_views, read_query
from models.access import Principal
from models.queries import (
    ClinicalIndicator,
    LintIssue,
    QueryDraft,
    is_clinical_option,
    lint_query,
    lint_refusal,
    needs_free_text,
)
from models.quotation import locate
from models.repositories.encounters import EncounterRepository
from models.repositories.queries import QueryFilter, QueryRepository
from models.repositories.scope import Scope
from services.encounters import actor, handle, load, store_text
from workflows.encounter import EncounterWorkflow
from workflows.types import (
    AnswerQueryRequest,
    IndicatorRef,
    RaiseQueryRequest,
    WithdrawQueryRequest,
)

router = APIRouter(tags=["queries"])

@router.post("/v1/encounters/{encounter_id}/queries", response_model=QueryOut, status_code=201, responses={**PROBLEMS, 422: {"description": "not compliant; nothing changed"}})
async def raise_query(
    encounter_id: uuid.UUID,
    body: QueryIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("queries.raise"))],
) -> QueryOut:
    encounters = EncounterRepository(session, who)
    e = await load(encounters, encounter_id)
    documents = {str(d.id): d.text or "" for d in await encounters.documents(e.id)}
    draft = QueryDraft(
        question=body.question,
        form=body.form,
        indicators=[ClinicalIndicator(i.document_id, i.excerpt) for i in body.indicators],
        options=list(body.options),
        yes_no_purpose=body.yes_no_purpose,
        proposed_diagnosis=body.proposed_diagnosis,
    )
    proposed = body.proposed_diagnosis or ""
    documented = [proposed] if proposed and any(proposed.lower() in t.lower() for t in documents.values()) else []
    issues = lint_query(draft, documented_conditions=documented, document_ids=set(documents))
    issues += [
        LintIssue("indicators.excerpt_not_in_document", f"indicators[{n}].excerpt",
                  "The excerpt does not occur in the cited document; quote the record verbatim (only whitespace may differ).")
        for n, i in enumerate(body.indicators)
        if documents.get(i.document_id) and locate(i.excerpt, documents[i.document_id]) is None
    ]
    if issues:
        raise lint_refusal(issues)
    request = RaiseQueryRequest(
        actor=actor(who),
        query_id=str(uuid.uuid4()),
        form=body.form,
        question_sha256=await store_text(encounters, body.question),
        indicators=[IndicatorRef(i.document_id, await store_text(encounters, i.excerpt)) for i in body.indicators],
        physician_npi=body.physician_npi,
        physician_user=body.physician_user,
        option_sha256s=[await store_text(encounters, o) for o in body.options],
        yes_no_purpose=body.yes_no_purpose,
    )
    await session.commit()
    await handle(temporal, e.id).execute_update(EncounterWorkflow.raise_query, request)
    return await read_query(QueryRepository(session, who), uuid.UUID(request.query_id))


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
    repo = QueryRepository(session, who)
    now = datetime.now(UTC)
    rows = await repo.find(QueryFilter(status, physician, encounter_id, min_age_days), now=now, limit=limit)
    return await query_views(repo, rows, now)


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
    repo = QueryRepository(session, who)
    q, delegate_of = await Scope(session, who).answerable_query(query_id)
    view = await query_view(repo, q, datetime.now(UTC))
    chosen: str | None = None
    if body.option_index is not None:
        if body.option_index >= len(view.options):
            raise Unprocessable(f"option_index {body.option_index} is out of range: this query has {len(view.options)} options (0-based)")
        chosen = view.options[body.option_index]
    if chosen is not None and needs_free_text(chosen) and not body.free_text:
        raise Unprocessable(f"'{chosen}' needs a free_text explanation")
    encounters = EncounterRepository(session, who)
    request = AnswerQueryRequest(
        actor=actor(who),
        query_id=str(query_id),
        option_index=body.option_index,
        free_text_sha256=await store_text(encounters, body.free_text) if body.free_text else None,
        addendum_sha256=await store_text(encounters, body.addendum) if body.addendum else None,
        confirmed_documented_option=is_clinical_option(chosen) if chosen is not None else None,
        delegate_of=delegate_of,
    )
    await session.commit()
    await handle(temporal, q.encounter_id).execute_update(EncounterWorkflow.answer_query, request)
    return await read_query(repo, query_id)


@router.post("/v1/queries/{query_id}/withdraw", response_model=QueryOut, responses=PROBLEMS)
async def withdraw_query(
    query_id: uuid.UUID,
    body: WithdrawIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("queries.withdraw"))],
) -> QueryOut:
    repo = QueryRepository(session, who)
    q = await repo.get(query_id)
    if q is None:
        raise NotFound(f"query {query_id} does not exist or is not visible to you")
    reason = await store_text(EncounterRepository(session, who), body.reason) if body.reason else None
    await session.commit()
    await handle(temporal, q.encounter_id).execute_update(EncounterWorkflow.withdraw_query, WithdrawQueryRequest(actor(who), str(query_id), reason))
    return await read_query(repo, query_id)
