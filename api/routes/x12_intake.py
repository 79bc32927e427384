"""Payer answers in: 277CA acknowledgments and 835 remittances, matched to our claims on CLM01.

Each file is stored verbatim before it is applied and its answer stored after, so the same bytes
posted again get the same answer and change nothing. A file that does not parse changes nothing.
Claims we do not know are kept (payments with no claim) and listed, never dropped.
"""

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from api.deps import SessionDep, TemporalDep, require
from api.errors import Unprocessable, from_update_failure
from api.routes.encounters import handle
from integrations.billing.errors import X12ParseError
from integrations.billing.remittance import ClaimPayment, Remittance, claim_outcome
from integrations.billing.x277ca import parse_277ca
from integrations.billing.x835 import parse_835
from models.access import Principal
from models.claim_tables import ClaimRow, InboundFile, PaymentRow
from models.denial_rules import denial_values
from models.denials import payment_variance
from workflows.encounter import EncounterWorkflow
from workflows.types import ClaimAckRequest, DenialRef, RemitRequest

log = structlog.get_logger(__name__)
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


async def _once(
    session: SessionDep, who: Principal, kind: str, text: str, apply: Callable[[uuid.UUID], Awaitable[dict[str, Any]]]
) -> JSONResponse:
    digest = hashlib.sha256(text.encode()).hexdigest()
    stored = await session.scalar(
        select(InboundFile).where(InboundFile.tenant_id == who.tenant_id, InboundFile.kind == kind, InboundFile.sha256 == digest)
    )
    if stored is not None and stored.result is not None:
        return JSONResponse(stored.result, headers={"Idempotent-Replayed": "true"})
    if stored is None:
        stored = InboundFile(id=uuid.uuid4(), tenant_id=who.tenant_id, kind=kind, sha256=digest, body=text)
        session.add(stored)
        await session.commit()
    result = {"file_id": str(stored.id), **await apply(stored.id)}
    stored.result = result
    await session.commit()
    return JSONResponse(result)


async def _claims_by_number(session: SessionDep, tenant_id: str, numbers: list[str]) -> dict[str, ClaimRow]:
    rows = await session.scalars(
        select(ClaimRow).where(ClaimRow.tenant_id == tenant_id, ClaimRow.control_number.in_(numbers))
    )
    return {c.control_number: c for c in rows.all()}


@router.post("/v1/acknowledgments", openapi_extra=X12_BODY)
async def post_277ca(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("remittances.post"))],
) -> JSONResponse:
    """277CA (005010X214): accepted claims wait for payment; rejected ones go back to rework and
    count as never filed."""
    text = await _text(request)
    try:
        acks = parse_277ca(text)
    except X12ParseError as exc:
        raise Unprocessable(f"not a readable 277CA: {exc.detail}") from exc

    async def apply(file_id: uuid.UUID) -> dict[str, Any]:
        known = await _claims_by_number(session, who.tenant_id, [a.claim_control_number for a in acks])
        matched, unmatched = [], []
        for ack in acks:
            claim = known.get(ack.claim_control_number)
            if claim is None:
                unmatched.append({"control_number": ack.claim_control_number, "accepted": ack.accepted, "status": f"{ack.status_category}:{ack.status_code}"})
                continue
            request_ = ClaimAckRequest(str(claim.id), ack.accepted, f"{ack.status_category}:{ack.status_code}", ack.free_text, str(file_id))
            matched.append(await _apply(temporal, claim, EncounterWorkflow.acknowledge_claim, request_,
                                        {"accepted": ack.accepted, "status": request_.status}))
        return {"matched": matched, "unmatched": unmatched}

    return await _once(session, who, "277CA", text, apply)


async def _apply(temporal: TemporalDep, claim: ClaimRow, update: Any, arg: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """Apply one matched answer; a refusal (e.g. the claim was already paid) is reported, not raised."""
    entry = {"claim_id": str(claim.id), "control_number": claim.control_number, "encounter_id": str(claim.encounter_id), **facts}
    try:
        outcome = await handle(temporal, claim.encounter_id).execute_update(update, arg)
    except WorkflowUpdateFailedError as exc:
        return {**entry, "applied": False, "detail": from_update_failure(exc).detail}
    return {**entry, "applied": True, "encounter_status": outcome.status}


@router.post("/v1/remittances", openapi_extra=X12_BODY)
async def post_835(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    who: Annotated[Principal, Depends(require("remittances.post"))],
) -> JSONResponse:
    """835 (005010X221A1): payments, every CAS adjustment and remark, denials by root cause,
    payment variance against the tenant fee schedule, and provider-level (PLB) adjustments."""
    text = await _text(request)
    try:
        remittances = parse_835(text)
    except X12ParseError as exc:
        raise Unprocessable(f"not a readable 835: {exc.detail}") from exc

    async def apply(file_id: uuid.UUID) -> dict[str, Any]:
        numbers = [cp.claim_control_number for r in remittances for cp in r.claims]
        known = await _claims_by_number(session, who.tenant_id, numbers)
        matched, unmatched, plb = [], [], []
        for remittance in remittances:
            plb += [{"reason": a.reason_code, "reference": a.reference, "amount_cents": a.amount_cents} for a in remittance.provider_adjustments]
            for cp in remittance.claims:
                claim = known.get(cp.claim_control_number)
                payment = _payment(who.tenant_id, file_id, claim, cp)
                session.add(payment)
                await session.commit()
                if claim is None:
                    unmatched.append({"payment_id": str(payment.id), "control_number": cp.claim_control_number,
                                      "outcome": payment.outcome, "paid_cents": cp.paid_cents, "charge_cents": cp.charge_cents})
                    continue
                matched.append(await _remit(temporal, claim, payment, remittance, cp))
        return {"matched": matched, "unmatched": unmatched, "provider_adjustments": plb,
                "total_paid_cents": sum(r.total_paid_cents for r in remittances)}

    return await _once(session, who, "835", text, apply)


def _payment(tenant_id: str, file_id: uuid.UUID, claim: ClaimRow | None, cp: ClaimPayment) -> PaymentRow:
    expected = claim.expected_cents if claim else None
    variance = payment_variance(expected, cp.paid_cents, cp.patient_responsibility_cents) if expected is not None else None
    return PaymentRow(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        file_id=file_id,
        claim_id=claim.id if claim else None,
        control_number=cp.claim_control_number,
        status_code=cp.status_code,
        outcome=claim_outcome(cp),
        charge_cents=cp.charge_cents,
        paid_cents=cp.paid_cents,
        patient_responsibility_cents=cp.patient_responsibility_cents,
        expected_cents=expected,
        variance_cents=variance.variance_cents if variance else None,
        payer_claim_number=cp.payer_claim_number,
        adjustments=[{"group": a.group, "carc": a.carc, "amount_cents": a.amount_cents} for a in cp.adjustments],
        remarks=list(cp.remarks),
        lines=[
            {"procedure_code": ln.procedure_code, "modifiers": ln.modifiers, "charge_cents": ln.charge_cents, "paid_cents": ln.paid_cents,
             "units": str(ln.units), "remarks": ln.remarks,
             "adjustments": [{"group": a.group, "carc": a.carc, "amount_cents": a.amount_cents} for a in ln.adjustments]}
            for ln in cp.lines
        ],
    )


async def _remit(temporal: TemporalDep, claim: ClaimRow, payment: PaymentRow, remittance: Remittance, cp: ClaimPayment) -> dict[str, Any]:
    notice = remittance.payment_date or datetime.now(UTC).date()
    denials = denial_values(cp, claim=claim, payment_id=payment.id, notice_date=notice)
    refs = [DenialRef(str(d["id"]), d["category"], d["appealable"], d["appeal_deadline"], d["values"]) for d in denials]
    request = RemitRequest(str(claim.id), str(payment.id), payment.outcome, cp.paid_cents, refs)
    facts = {
        "outcome": payment.outcome,
        "paid_cents": cp.paid_cents,
        "expected_cents": payment.expected_cents,
        "variance_cents": payment.variance_cents,
        "denials": [{"id": str(d["id"]), "category": d["category"], "group": d["values"]["group_code"], "carc": d["values"]["carc"],
                     "amount_cents": d["values"]["amount_cents"], "appealable": d["appealable"]} for d in denials],
    }
    return await _apply(temporal, claim, EncounterWorkflow.remit, request, facts)
