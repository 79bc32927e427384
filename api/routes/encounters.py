"""Encounter reads and the human actions on one chart (coding, release, reassign, holds)."""

import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.dialects.postgresql import insert
from temporalio.client import Client, WorkflowHandle

from api.deps import SessionDep, TemporalDep, require
from api.errors import Forbidden, NotFound, Unprocessable
from api.schemas.encounters import (
    CodingIn,
    EncounterDetail,
    EncounterPage,
    HoldIn,
    ReassignIn,
    SuggestionOut,
)
from api.views import decode_cursor, detail, encode_cursor, latest_scrub, scrub_view, summary
from integrations.codesets.catalog import default_catalog
from models.access import Principal
from models.coding import (
    CodingSubmission,
    DiagnosisCode,
    Evidence,
    ProcedureCode,
    normalize_icd10,
    validate_coding,
)
from models.holds import DEFAULT_HOLD_POLICY
from models.repositories.encounters import EncounterFilter, EncounterRepository
from models.repositories.qa_blind import blind_pending
from models.tables import Encounter, Patient, TextBlob, Vendor
from services import suggestions
from workflows.encounter import EncounterWorkflow, encounter_workflow_id
from workflows.types import (
    Actor,
    PlaceHoldRequest,
    ReassignRequest,
    ReleaseRequest,
    SubmitCodingRequest,
)

router = APIRouter(prefix="/v1/encounters", tags=["encounters"])

PROBLEMS: dict[int | str, dict[str, Any]] = {404: {"description": "unknown, or not visible to you"}, 409: {"description": "not allowed in the current state"}}


def actor(p: Principal) -> Actor:
    return Actor(p.user_id, p.role, p.vendor_id, p.npi)


def handle(temporal: Client, encounter_id: uuid.UUID) -> WorkflowHandle[EncounterWorkflow, str]:
    return temporal.get_workflow_handle_for(EncounterWorkflow.run, encounter_workflow_id(str(encounter_id)))


async def load(repo: EncounterRepository, encounter_id: uuid.UUID) -> Encounter:
    found = await repo.get(encounter_id)
    if found is None:
        raise NotFound(f"encounter {encounter_id} does not exist or is not visible to you")
    return found


async def read_detail(repo: EncounterRepository, encounter_id: uuid.UUID) -> EncounterDetail:
    await repo.session.commit()  # end the snapshot and forget cached rows: read the workflow's projection
    repo.session.expire_all()
    e = await load(repo, encounter_id)
    patient = await repo.session.get(Patient, e.patient_id) if e.patient_id else None
    documents = await repo.documents(e.id)
    return detail(e, patient, documents, await repo.timeline(e.id), with_text=False)


async def store_text(repo: EncounterRepository, text: str) -> str:
    """Free text lives in PostgreSQL by content hash; the workflow carries only the hash."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    await repo.session.execute(
        insert(TextBlob).values(tenant_id=repo.principal.tenant_id, sha256=digest, text=text).on_conflict_do_nothing()
    )
    return digest


@router.get("", response_model=EncounterPage)
async def list_encounters(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("encounters.read"))],
    status: str | None = None,
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
    answer = await read_detail(EncounterRepository(session, who), encounter_id)
    answer.suggestions = [SuggestionOut.model_validate(s) for s in await suggestions.for_encounter(session, encounter_id)]
    return answer


async def refuse_if_blind(session: SessionDep, who: Principal, encounter_id: uuid.UUID) -> None:
    if await blind_pending(session, who, encounter_id):
        raise Forbidden(
            "a blind QA review of this chart is open: its codes stay hidden until you submit your re-coding "
            "(GET /v1/audits/{audit_id}/charts/{chart_id})"
        )


@router.post("/{encounter_id}/coding", response_model=EncounterDetail, responses={**PROBLEMS, 422: {"description": "invalid codes; nothing changed"}})
async def submit_coding(
    encounter_id: uuid.UUID,
    body: CodingIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("coding.submit"))],
) -> EncounterDetail:
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    document_ids = {str(d.id) for d in await repo.documents(e.id)}

    async def evidence(items: list) -> list[Evidence]:  # type: ignore[type-arg]
        return [Evidence(ev.document_id, await store_text(repo, ev.excerpt)) for ev in items]

    cited = [(i, d.code, str(d.suggestion_id)) for i, d in enumerate(body.diagnoses) if d.suggestion_id]
    if problems := await suggestions.check_cited(session, e.id, cited):
        raise Unprocessable("; ".join(f"diagnoses[{i}].suggestion_id: {m}" for i, m in problems))
    submission = CodingSubmission(
        diagnoses=[
            DiagnosisCode(normalize_icd10(d.code), await evidence(d.evidence), str(d.suggestion_id or ""))
            for d in body.diagnoses
        ],
        procedures=[
            ProcedureCode(p.code.upper(), list(p.modifiers), p.units, list(p.pointers), await evidence(p.evidence))
            for p in body.procedures
        ],
    )
    issues = validate_coding(
        submission,
        date_of_service=e.date_of_service or e.received_at.date(),
        catalog=default_catalog(),
        document_ids=document_ids,
    )
    if issues:
        await session.rollback()
        raise Unprocessable(
            f"{len(issues)} problem(s) with the submitted codes: " + "; ".join(f"{i.path}: {i.message}" for i in issues),
            errors=[{"path": i.path, "code": i.code, "rule": i.rule, "message": i.message} for i in issues],
        )
    await session.commit()
    await handle(temporal, e.id).execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(actor(who), submission))
    if cited:  # only once the coding is recorded: a refused submission accepts nothing
        await suggestions.accept_cited(session, who, e.id, [sid for _, _, sid in cited])
        await session.commit()
    answer = await read_detail(repo, e.id)
    run = await latest_scrub(session, e.id)
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
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    if refusal := DEFAULT_HOLD_POLICY.refusal("place", who.role, body.reason):
        raise Forbidden(refusal)
    note = await store_text(repo, body.note) if body.note else None
    await session.commit()
    await handle(temporal, e.id).execute_update(EncounterWorkflow.place_hold, PlaceHoldRequest(actor(who), body.reason, note))
    return await read_detail(repo, e.id)
