"""Applying payer answers (277CA, 835) for one tenant, shared by the HTTP intake and the poller.

Each file is stored verbatim before it is applied and its answer stored after, so the same bytes
again get the same answer and change nothing. A file that does not parse, or holds values our
tables cannot store, is refused before anything is written. Claims we do not know are kept
(payments with no claim) and listed, never dropped. The workflows record every change as the
system actor; the caller only decides which tenant the file belongs to.
"""

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError

from api.errors import Conflict, Unprocessable, from_update_failure
from api.routes.encounters import handle
from clearchart.carc_table import current_carc_table
from integrations.billing.errors import X12ParseError
from integrations.billing.remittance import ClaimPayment, LinePayment, Remittance, claim_outcome
from integrations.billing.x277ca import ClaimAck, parse_277ca
from integrations.billing.x835 import parse_835
from models.claim_tables import ClaimRow, InboundFile, PaymentRow
from models.denial_rules import denial_values
from models.denials import CarcTable, payment_variance
from workflows.encounter import EncounterWorkflow
from workflows.types import ClaimAckRequest, DenialRef, RemitRequest

MAX_CENTS = 10**15
"""Far above any real claim, far below BIGINT: a larger amount is a corrupt file, not money."""


@dataclass(frozen=True)
class Intake:
    """The answer for a file; ``replayed`` when the same bytes were applied before."""

    result: dict[str, Any]
    replayed: bool = False


def check_text(text: str) -> None:
    """Refuse bodies PostgreSQL cannot store or that are plainly not a file."""
    if not text.strip():
        raise Unprocessable("the body is empty; send the X12 file as the request body")
    if "\x00" in text:
        raise Unprocessable("the body contains NUL characters; X12 is plain text")


def read_277ca(text: str) -> list[ClaimAck]:
    check_text(text)
    try:
        acks = parse_277ca(text)
    except X12ParseError as exc:
        raise Unprocessable(f"not a readable 277CA: {exc.detail}") from exc
    for ack in acks:
        _fits(ack.claim_control_number, 38, "claim control number (TRN02)")
    return acks


def read_835(text: str) -> list[Remittance]:
    check_text(text)
    try:
        remittances = parse_835(text)
    except X12ParseError as exc:
        raise Unprocessable(f"not a readable 835: {exc.detail}") from exc
    for r in remittances:
        _amounts([r.total_paid_cents, *(a.amount_cents for a in r.provider_adjustments)], "BPR/PLB")
        for cp in r.claims:
            where = f"CLP {cp.claim_control_number[:40]!r}"
            _fits(cp.claim_control_number, 38, "claim control number (CLP01)")
            _fits(cp.status_code, 4, f"{where}: status code (CLP02)")
            _fits(cp.payer_claim_number, 64, f"{where}: payer claim number (CLP07)")
            _amounts([cp.charge_cents, cp.paid_cents, cp.patient_responsibility_cents], where)
            for adj in [*cp.adjustments, *(a for ln in cp.lines for a in ln.adjustments)]:
                _fits(adj.group, 2, f"{where}: CAS group code")
                _fits(adj.carc, 8, f"{where}: CAS reason code")
                _amounts([adj.amount_cents], where)
            _amounts([v for ln in cp.lines for v in (ln.charge_cents, ln.paid_cents)], where)
    return remittances


def _fits(value: str, limit: int, what: str) -> None:
    if len(value) > limit:
        raise Unprocessable(f"{what} is longer than {limit} characters: {value[:40]!r}")


def _amounts(values: Iterable[int], where: str) -> None:
    if any(abs(v) >= MAX_CENTS for v in values):
        raise Unprocessable(f"{where}: an amount is out of range (corrupt file?)")


async def ingest_277ca(session: AsyncSession, temporal: Client, tenant_id: str, text: str) -> Intake:
    """277CA (005010X214): accepted claims wait for payment; rejected ones go back to rework and
    count as never filed."""
    acks = read_277ca(text)

    async def apply(file_id: uuid.UUID) -> dict[str, Any]:
        known = await claims_by_number(session, tenant_id, [a.claim_control_number for a in acks])
        matched, unmatched = [], []
        for ack in acks:
            status = f"{ack.status_category}:{ack.status_code}"
            claim = known.get(ack.claim_control_number)
            if claim is None:
                unmatched.append({"control_number": ack.claim_control_number, "accepted": ack.accepted, "status": status})
                continue
            request = ClaimAckRequest(str(claim.id), ack.accepted, status, ack.free_text, str(file_id))
            facts = {"accepted": ack.accepted, "status": status}
            matched.append(await _apply(temporal, claim, EncounterWorkflow.acknowledge_claim, request, facts))
        return {"matched": matched, "unmatched": unmatched}

    return await _once(session, tenant_id, "277CA", text, apply)


async def ingest_835(session: AsyncSession, temporal: Client, tenant_id: str, text: str) -> Intake:
    """835 (005010X221A1): payments, every CAS adjustment and remark, denials by root cause,
    payment variance against the tenant fee schedule, and provider-level (PLB) adjustments."""
    remittances = read_835(text)

    async def apply(file_id: uuid.UUID) -> dict[str, Any]:
        numbers = [cp.claim_control_number for r in remittances for cp in r.claims]
        known = await claims_by_number(session, tenant_id, numbers)
        # A retry after a crash finds the payments already stored for this file and reuses them.
        stored = list((await session.scalars(select(PaymentRow).where(PaymentRow.file_id == file_id))).all())
        causes = await current_carc_table(session)
        matched, unmatched, plb = [], [], []
        for remittance in remittances:
            plb += [{"reason": a.reason_code, "reference": a.reference, "amount_cents": a.amount_cents} for a in remittance.provider_adjustments]
            for cp in remittance.claims:
                claim = known.get(cp.claim_control_number)
                payment = next((p for p in stored if p.control_number == cp.claim_control_number), None)
                if payment is None:
                    payment = _payment(tenant_id, file_id, claim, cp)
                    session.add(payment)
                    await session.commit()
                else:
                    stored.remove(payment)
                if claim is None:
                    unmatched.append({"payment_id": str(payment.id), "control_number": cp.claim_control_number,
                                      "outcome": payment.outcome, "paid_cents": cp.paid_cents, "charge_cents": cp.charge_cents})
                    continue
                matched.append(await _remit(temporal, claim, payment, remittance, cp, causes))
        return {"matched": matched, "unmatched": unmatched, "provider_adjustments": plb,
                "total_paid_cents": sum(r.total_paid_cents for r in remittances)}

    return await _once(session, tenant_id, "835", text, apply)


async def _once(
    session: AsyncSession, tenant_id: str, kind: str, text: str, apply: Callable[[uuid.UUID], Awaitable[dict[str, Any]]]
) -> Intake:
    digest = hashlib.sha256(text.encode()).hexdigest()
    query = select(InboundFile).where(InboundFile.tenant_id == tenant_id, InboundFile.kind == kind, InboundFile.sha256 == digest)
    stored = await session.scalar(query)
    if stored is not None and stored.result is not None:
        return Intake(stored.result, replayed=True)
    if stored is None:
        stored = InboundFile(id=uuid.uuid4(), tenant_id=tenant_id, kind=kind, sha256=digest, body=text)
        session.add(stored)
        try:
            await session.commit()
        except IntegrityError:  # the same bytes arrived concurrently; the other request applies them
            await session.rollback()
            raise Conflict(f"this {kind} is being applied by another request right now; retry shortly") from None
    result = {"file_id": str(stored.id), **await apply(stored.id)}
    stored.result = result
    await session.commit()
    return Intake(result)


async def claims_by_number(session: AsyncSession, tenant_id: str, numbers: list[str]) -> dict[str, ClaimRow]:
    rows = await session.scalars(select(ClaimRow).where(ClaimRow.tenant_id == tenant_id, ClaimRow.control_number.in_(numbers)))
    return {c.control_number: c for c in rows.all()}


async def _apply(temporal: Client, claim: ClaimRow, update: Any, arg: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """Apply one matched answer; a refusal (e.g. the claim was already paid) is reported, not raised."""
    entry = {"claim_id": str(claim.id), "control_number": claim.control_number, "encounter_id": str(claim.encounter_id), **facts}
    try:
        outcome = await handle(temporal, claim.encounter_id).execute_update(update, arg)
    except WorkflowUpdateFailedError as exc:
        return {**entry, "applied": False, "detail": from_update_failure(exc).detail}
    return {**entry, "applied": True, "encounter_status": outcome.status}


def _line_variance(claim: ClaimRow | None, index: int, line: LinePayment) -> dict[str, int | None]:
    """Expected (fee schedule, from the billed line) vs paid for one service line."""
    billed = claim.lines[index] if claim and index < len(claim.lines) else None
    if billed is None or billed.get("code") != line.procedure_code or billed.get("expected_cents") is None:
        return {"expected_cents": None, "variance_cents": None}
    patient_share = sum(a.amount_cents for a in line.adjustments if a.group == "PR")
    variance = payment_variance(billed["expected_cents"], line.paid_cents, patient_share)
    return {"expected_cents": variance.expected_cents, "variance_cents": variance.variance_cents}


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
             "units": str(ln.units), "remarks": ln.remarks, **_line_variance(claim, index, ln),
             "adjustments": [{"group": a.group, "carc": a.carc, "amount_cents": a.amount_cents} for a in ln.adjustments]}
            for index, ln in enumerate(cp.lines)
        ],
    )


async def _remit(
    temporal: Client, claim: ClaimRow, payment: PaymentRow, remittance: Remittance, cp: ClaimPayment, causes: CarcTable
) -> dict[str, Any]:
    notice = remittance.payment_date or datetime.now(UTC).date()
    denials = denial_values(cp, claim=claim, payment_id=payment.id, notice_date=notice, table=causes)
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
