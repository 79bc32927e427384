"""Payer answers in over HTTP: 277CA acknowledgments and 835 remittances, matched to our claims
on CLM01. The rules live in `services.billing_intake`, shared with the clearinghouse poller; these
routes only read the body and pick the caller's tenant."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.deps import SessionDep, SettingsDep, TemporalDep, chain_keys, require
from api.errors import Unprocessable
from models.access import Principal
from models.claims.tables import PaymentRow
from models.repositories import scope
from services.billing_intake import Intake, ingest_277ca, ingest_835

router = APIRouter(tags=["billing"])

X12_BODY = {"requestBody": {"content": {"application/edi-x12": {"schema": {"type": "string"}}}, "required": True}}


async def _text(request: Request) -> str:
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unprocessable("the body must be X12 text in UTF-8 (or ASCII)") from exc
    if not text.strip():
        raise Unprocessable("the body is empty; send the X12 file as the request body")
    return text


def _answer(intake: Intake) -> JSONResponse:
    return JSONResponse(intake.result, headers={"Idempotent-Replayed": "true"} if intake.replayed else None)


@router.post("/v1/acknowledgments", openapi_extra=X12_BODY)
async def post_277ca(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    who: Annotated[Principal, Depends(require("remittances.post"))],
) -> JSONResponse:
    """277CA (005010X214): accepted claims wait for payment; rejected ones go back to rework and
    count as never filed."""
    return _answer(await ingest_277ca(session, temporal, who.tenant_id, await _text(request), settings.task_queue))


@router.post("/v1/remittances", openapi_extra=X12_BODY)
async def post_835(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    who: Annotated[Principal, Depends(require("remittances.post"))],
) -> JSONResponse:
    """835 (005010X221A1): payments, every CAS adjustment and remark, denials by root cause,
    payment variance against the tenant fee schedule, and provider-level (PLB) adjustments."""
    return _answer(await ingest_835(session, temporal, who.tenant_id, await _text(request), settings.task_queue, chain_keys(request)))


@router.get("/v1/remittances/unmatched")
async def unmatched_payments(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("claims.manage"))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Payments for claims we do not know (another billing system's, or a typo in CLM01): kept,
    never dropped, so someone can match them by hand."""
    rows = await session.scalars(
        scope.unmatched_payments(who)
        .order_by(PaymentRow.received_at.desc())
        .limit(limit)
    )
    return [
        {
            "payment_id": str(p.id),
            "file_id": str(p.file_id),
            "control_number": p.control_number,
            "payer_claim_number": p.payer_claim_number,
            "outcome": p.outcome,
            "charge_cents": p.charge_cents,
            "paid_cents": p.paid_cents,
            "adjustments": p.adjustments,
            "lines": p.lines,
            "received_at": p.received_at.isoformat(),
        }
        for p in rows.all()
    ]
