"""Physician queries as use cases: raise (only when compliant), answer, withdraw.

The API and the pages call these; each returns the query's id, and the caller shows the query
as the workflow just projected it."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from models.access import Principal
from models.errors import InvalidRequest, NotVisible
from models.queries.rules import (
    QueryDraft,
    is_clinical_option,
    lint_refusal,
    needs_free_text,
    offered_options,
    review_draft,
)
from models.repositories.encounters import EncounterRepository
from models.repositories.queries import QueryRepository
from models.repositories.scope import Scope
from services.encounters import actor, handle, load, store_text
from workflows.encounter import EncounterWorkflow
from workflows.types import (
    AnswerQueryRequest,
    IndicatorRef,
    RaiseQueryRequest,
    WithdrawQueryRequest,
)


async def raise_query(
    session: AsyncSession,
    temporal: Client,
    who: Principal,
    encounter_id: uuid.UUID,
    draft: QueryDraft,
    *,
    physician_npi: str | None,
    physician_user: str | None,
) -> uuid.UUID:
    """A compliant query goes to the workflow; a non-compliant one is refused with every broken rule."""
    encounters = EncounterRepository(session, who)
    e = await load(encounters, encounter_id)
    documents = {str(d.id): d.text or "" for d in await encounters.documents(e.id)}
    if issues := review_draft(draft, documents):
        raise lint_refusal(issues)
    request = RaiseQueryRequest(
        actor=actor(who),
        query_id=str(uuid.uuid4()),
        form=draft.form,
        question_sha256=await store_text(encounters, draft.question),
        indicators=[IndicatorRef(i.document_id, await store_text(encounters, i.excerpt)) for i in draft.indicators],
        physician_npi=physician_npi,
        physician_user=physician_user,
        option_sha256s=[await store_text(encounters, o) for o in draft.options],
        yes_no_purpose=draft.yes_no_purpose,
    )
    await session.commit()
    await handle(temporal, e.id).execute_update(EncounterWorkflow.raise_query, request)
    return uuid.UUID(request.query_id)


async def answer_query(
    session: AsyncSession,
    temporal: Client,
    who: Principal,
    query_id: uuid.UUID,
    *,
    option_index: int | None,
    free_text: str | None,
    addendum: str | None,
) -> uuid.UUID:
    """The addressed physician (or a delegate) answers; options that need an explanation get one."""
    repo = QueryRepository(session, who)
    q, delegate_of = await Scope(session, who).answerable_query(query_id)
    texts = await repo.texts(set(q.option_sha256s))
    options = offered_options(q.form, [texts.get(h) for h in q.option_sha256s])
    chosen: str | None = None
    if option_index is not None:
        if option_index >= len(options):
            raise InvalidRequest(f"option_index {option_index} is out of range: this query has {len(options)} options (0-based)")
        chosen = options[option_index]
    if chosen is not None and needs_free_text(chosen) and not free_text:
        raise InvalidRequest(f"'{chosen}' needs a free_text explanation")
    encounters = EncounterRepository(session, who)
    request = AnswerQueryRequest(
        actor=actor(who),
        query_id=str(query_id),
        option_index=option_index,
        free_text_sha256=await store_text(encounters, free_text) if free_text else None,
        addendum_sha256=await store_text(encounters, addendum) if addendum else None,
        confirmed_documented_option=is_clinical_option(chosen) if chosen is not None else None,
        delegate_of=delegate_of,
    )
    await session.commit()
    await handle(temporal, q.encounter_id).execute_update(EncounterWorkflow.answer_query, request)
    return query_id


async def withdraw_query(session: AsyncSession, temporal: Client, who: Principal, query_id: uuid.UUID, reason: str | None) -> uuid.UUID:
    repo = QueryRepository(session, who)
    q = await repo.get(query_id)
    if q is None:
        raise NotVisible(f"query {query_id} does not exist or is not visible to you")
    stored = await store_text(EncounterRepository(session, who), reason) if reason else None
    await session.commit()
    request = WithdrawQueryRequest(actor(who), str(query_id), stored)
    await handle(temporal, q.encounter_id).execute_update(EncounterWorkflow.withdraw_query, request)
    return query_id

