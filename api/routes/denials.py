"""Denials worked to resolution: the denial queues, appeals with their packet, decisions, write-offs."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Select, select

from api.appeal_packet import build_packet, render_html, render_pdf
from api.deps import SessionDep, TemporalDep, require
from api.errors import Conflict, Unprocessable
from api.routes.encounters import PROBLEMS, actor, handle, read_detail, store_text
from api.schemas.claims import AppealIn, AppealOut, DecisionIn, DenialOut, WriteOffIn
from api.schemas.encounters import EncounterDetail
from models.access import Principal
from models.claim_tables import AppealRow, DenialRow
from models.denials import DenialCategory
from models.repositories import scope
from models.repositories.encounters import EncounterRepository
from models.repositories.queries import QueryRepository
from services.appeals_after_close import update_or_after_close
from workflows.encounter import EncounterWorkflow
from workflows.post_close import AppealAfterClose
from workflows.types import AppealDecisionRequest, AppealRequest, Record, WriteOffRequest

router = APIRouter(tags=["denials"])
WRITE_OFF_NOTE = "written off; reason text sha256:"


def _visible(who: Principal) -> Select[DenialRow]:
    return scope.denials(who)


def denial_view(d: DenialRow) -> DenialOut:
    return DenialOut(
        id=str(d.id), encounter_id=str(d.encounter_id), claim_id=str(d.claim_id), group_code=d.group_code, carc=d.carc,
        rarcs=list(d.rarcs), category=d.category, amount_cents=d.amount_cents, line_index=d.line_index,
        appealable=d.appealable, not_appealable_reason=d.not_appealable_reason, notice_date=d.notice_date,
        appeal_deadline=d.appeal_deadline, work_queue=d.work_queue, status=d.status,
    )  # fmt: skip


async def appeal_view(repo: QueryRepository, a: AppealRow) -> AppealOut:
    texts = await repo.texts({a.reason_sha256})
    return AppealOut(
        id=str(a.id), encounter_id=str(a.encounter_id), denial_id=str(a.denial_id), level=a.level,
        reason=texts.get(a.reason_sha256), deadline=a.deadline, status=a.status, filed_by=a.filed_by,
        filed_at=a.filed_at, decision=a.decision, recovered_cents=a.recovered_cents, decided_at=a.decided_at,
    )  # fmt: skip


async def _denial(session: SessionDep, who: Principal, denial_id: uuid.UUID) -> DenialRow:
    return await scope.Scope(session, who).denial(denial_id)


async def _appeal(session: SessionDep, who: Principal, appeal_id: uuid.UUID) -> AppealRow:
    return await scope.Scope(session, who).appeal(appeal_id)


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
    stmt = _visible(who)
    for column, value in ((DenialRow.status, status), (DenialRow.work_queue, work_queue), (DenialRow.category, category), (DenialRow.encounter_id, encounter_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    rows = await session.scalars(stmt.order_by(DenialRow.appeal_deadline.nulls_last(), DenialRow.created_at).limit(limit))
    return [denial_view(d) for d in rows.all()]


@router.get("/v1/denials/{denial_id}", response_model=DenialOut, responses=PROBLEMS)
async def get_denial(denial_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("claims.read"))]) -> DenialOut:
    return denial_view(await _denial(session, who, denial_id))


@router.post("/v1/denials/{denial_id}/appeals", response_model=AppealOut, status_code=201, responses={**PROBLEMS, 422: {"description": "not appealable"}})
async def file_appeal(
    denial_id: uuid.UUID,
    body: AppealIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("appeals.manage"))],
) -> AppealOut:
    denial = await _denial(session, who, denial_id)
    if not denial.appealable:
        raise Unprocessable(f"this denial is not appealable: {denial.not_appealable_reason}")
    if await session.scalar(select(AppealRow.id).where(AppealRow.denial_id == denial.id, AppealRow.status == "open")):
        raise Conflict("an appeal is already open for this denial; record its decision first")
    if denial.appeal_deadline is None or denial.appeal_deadline < datetime.now(UTC).date():
        raise Unprocessable(f"the appeal deadline ({denial.appeal_deadline}) has passed")
    reason = await store_text(EncounterRepository(session, who), body.reason)
    await session.commit()
    appeal_id = str(uuid.uuid4())
    request = AppealRequest(actor(who), appeal_id, str(denial.id), body.level, reason, denial.appeal_deadline.isoformat())
    values = {"encounter_id": str(denial.encounter_id), "denial_id": str(denial.id), "level": body.level, "reason_sha256": reason,
              "deadline": request.deadline, "status": "open", "filed_by": who.user_id, "filed_at": datetime.now(UTC).isoformat()}  # fmt: skip
    late = AppealAfterClose(who.tenant_id, str(denial.encounter_id), f"appeal:{appeal_id}", "appeal_after_close", request.actor,
                            [Record("appeals", appeal_id, values), Record("denials", str(denial.id), {"status": "appealed"})], body.level)  # fmt: skip
    refusal = None if denial.status == "open" else f"this denial is {denial.status}; only an open denial can be appealed"
    await update_or_after_close(temporal, EncounterWorkflow.file_appeal, request, late, refusal)
    session.expire_all()
    return await appeal_view(QueryRepository(session, who), await _appeal(session, who, uuid.UUID(appeal_id)))


@router.post("/v1/denials/{denial_id}/write-off", response_model=EncounterDetail, responses=PROBLEMS)
async def write_off(
    denial_id: uuid.UUID,
    body: WriteOffIn,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("denials.work"))],
) -> EncounterDetail:
    denial = await _denial(session, who, denial_id)
    # The reason is free text: it stays in PostgreSQL and the workflow carries only its hash.
    digest = await store_text(EncounterRepository(session, who), body.reason)
    await session.commit()
    request = WriteOffRequest(actor(who), f"{WRITE_OFF_NOTE}{digest}")
    await handle(temporal, denial.encounter_id).execute_update(EncounterWorkflow.write_off, request)
    return await read_detail(EncounterRepository(session, who), denial.encounter_id)


@router.get("/v1/appeals/{appeal_id}", response_model=AppealOut, responses=PROBLEMS)
async def get_appeal(appeal_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("claims.read"))]) -> AppealOut:
    return await appeal_view(QueryRepository(session, who), await _appeal(session, who, appeal_id))


@router.get("/v1/appeals/{appeal_id}/packet", responses={**PROBLEMS, 200: {"content": {"text/html": {}, "application/pdf": {}, "application/json": {}}}})
async def appeal_packet(
    appeal_id: uuid.UUID,
    session: SessionDep,
    who: Annotated[Principal, Depends(require("claims.read"))],
    format: Literal["json", "html", "pdf"] = "html",
) -> Response:
    """The appeal packet: denial, codes with their supporting excerpts, documents, queries and answers."""
    appeal = await _appeal(session, who, appeal_id)
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
    appeal = await _appeal(session, who, appeal_id)
    if body.decision == "upheld" and body.recovered_cents:
        raise Unprocessable("an upheld appeal recovers nothing; send recovered_cents 0 or decide 'partial'")
    request = AppealDecisionRequest(actor(who), str(appeal.id), body.decision, body.recovered_cents)
    values = {"status": "decided", "decision": body.decision, "recovered_cents": body.recovered_cents, "decided_at": datetime.now(UTC).isoformat()}
    late = AppealAfterClose(who.tenant_id, str(appeal.encounter_id), f"appeal-decision:{appeal.id}", "appeal_decision_after_close",
                            request.actor, [Record("appeals", str(appeal.id), values), Record("denials", str(appeal.denial_id), {"status": "closed"})],
                            body.decision)  # fmt: skip
    refusal = None if appeal.status == "open" else f"this appeal is {appeal.status}; its decision is already recorded"
    await update_or_after_close(temporal, EncounterWorkflow.decide_appeal, request, late, refusal)
    session.expire_all()
    return await appeal_view(QueryRepository(session, who), await _appeal(session, who, appeal_id))
