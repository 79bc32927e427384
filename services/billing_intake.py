"""Applying payer answers (277CA, 835) for one tenant, shared by the HTTP intake and the poller.

Each file is stored verbatim before it is applied and its answer stored after, so the same bytes
again get the same answer and change nothing. A file that does not parse, or holds values our
tables cannot store, is refused before anything is written. Claims we do not know are kept
(payments with no claim) and listed, never dropped. The workflows record every change as the
system actor; the caller only decides which tenant the file belongs to.
"""

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from clearchart.keys import chain_keyring
from clearchart.settings import get_settings
from integrations.billing.errors import X12ParseError
from integrations.billing.remittance import (
    CLAIM_STATUS_CODES,
    ClaimPayment,
    LinePayment,
    Remittance,
    claim_outcome,
)
from integrations.billing.x277ca import ClaimAck, parse_277ca
from integrations.billing.x835 import parse_835
from models.claims.denials import CarcTable, payment_variance
from models.claims.tables import ClaimRow, InboundFile, PaymentRow

# Domain errors (mapped to 409/422 problem+json by the API); the poller uses this module too.
from models.errors import InvalidRequest as Unprocessable
from models.errors import StateConflict as Conflict
from models.evidence.chain import Keyring
from models.repositories import remittance as repo
from models.repositories.carc_table import current_carc_table
from models.repositories.evidence_receipts import record_receipts
from services import parse_pool
from services import remittance_exceptions as exceptions
from services.payer_documents import apply_ack, apply_payment

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


async def ingest_277ca(session: AsyncSession, temporal: Client, tenant_id: str, text: str, task_queue: str | None = None) -> Intake:
    """277CA (005010X214): accepted claims wait for payment; rejected ones go back to rework and
    count as never filed. Each claim status gets its own outcome; none blocks another."""
    acks = read_277ca(text)
    queue = task_queue or get_settings().task_queue

    async def apply(file_id: uuid.UUID) -> dict[str, Any]:
        known = await claims_by_number(session, tenant_id, [a.claim_control_number for a in acks])
        matched, unmatched = [], []
        for position, ack in enumerate(acks):
            status = f"{ack.status_category}:{ack.status_code}"
            claim = known.get(ack.claim_control_number)
            if claim is None:
                unmatched.append({"control_number": ack.claim_control_number, "accepted": ack.accepted, "status": status, "result": "unmatched"})
                continue
            applied = await apply_ack(temporal, queue, tenant_id, str(file_id), position, claim, ack)
            if applied.outcome == "exception":
                await exceptions.record(session, tenant_id=tenant_id, file_id=file_id, kind="277CA", position=position, claim=claim,
                                        control_number=ack.claim_control_number, reason=applied.reason, detail=applied.detail,
                                        facts={"accepted": ack.accepted, "status": status})  # fmt: skip
            matched.append({**_claim_entry(claim), "accepted": ack.accepted, "status": status, **applied.facts()})
        return {"matched": matched, "unmatched": unmatched}

    return await _once(session, tenant_id, "277CA", text, apply)


async def ingest_835(
    session: AsyncSession, temporal: Client, tenant_id: str, text: str, task_queue: str | None = None, keys: Keyring | None = None
) -> Intake:
    """835 (005010X221A1): payments, every CAS adjustment and remark, denials by root cause,
    payment variance against the tenant fee schedule, and provider-level (PLB) adjustments.
    Every claim payment gets its own outcome (applied, applied after close, recorded, exception,
    unmatched); a payment that cannot be applied now waits in the exceptions queue. A matched
    payment is stored with a keyed receipt of its digest (the evidence chain attests it as written)."""
    # Parsing a large file is seconds of CPU: in a worker process, so other requests keep moving.
    remittances = await parse_pool.read_835_off_loop(text)
    queue = task_queue or get_settings().task_queue
    keys = keys or chain_keyring(get_settings())

    async def apply(file_id: uuid.UUID) -> dict[str, Any]:
        numbers = [cp.claim_control_number for r in remittances for cp in r.claims]
        known = await claims_by_number(session, tenant_id, numbers)
        # A retry after a crash finds the payments already stored for this file and reuses them.
        stored: dict[str, list[PaymentRow]] = {}
        for row in await repo.payments_of_file(session, file_id):
            stored.setdefault(row.control_number, []).append(row)
        causes = await current_carc_table(session)
        matched, unmatched, plb, balance = [], [], [], []
        position = 0
        # Unmatched payments and their exceptions are written UNMATCHED_BATCH at a time (a file of
        # 50,000 unknown claims was 100,000 commits); anything waiting is written before a
        # matched payment touches its workflow, and at the end.
        waiting: list[dict[str, Any]] = []
        written: list[PaymentRow] = []

        async def write_waiting() -> None:
            await exceptions.record_unmatched(session, tenant_id=tenant_id, file_id=file_id, kind="835", rows=waiting)
            waiting.clear()
            await session.commit()
            # Their answers are already in `unmatched`: a session that kept every row of a
            # 50,000-payment file made each later flush slower (superlinear in the file's size).
            for row in written:
                session.expunge(row)
            written.clear()

        for index, remittance in enumerate(remittances):
            plb += [{"reason": a.reason_code, "reference": a.reference, "amount_cents": a.amount_cents} for a in remittance.provider_adjustments]
            check = balance_check(remittance)
            if not check["balanced"]:
                balance.append(check)
                await exceptions.record(session, tenant_id=tenant_id, file_id=file_id, kind="835", position=-1 - index,
                                        control_number=remittance.trace_number, reason="balance_mismatch", facts=check,
                                        detail=f"payment {remittance.trace_number}: BPR02 {check['bpr02_cents']} cents != claims "
                                               f"{check['claims_cents']} - provider adjustments {check['plb_cents']}")  # fmt: skip
            for cp in remittance.claims:
                claim = known.get(cp.claim_control_number)
                earlier = stored.get(cp.claim_control_number)
                payment = earlier.pop(0) if earlier else None
                if payment is None:
                    payment = _payment(tenant_id, file_id, claim, cp)
                    session.add(payment)
                    if claim is not None:  # in the payment's own transaction, before any projection reads it
                        await record_receipts(session, keys, "payments", [payment])
                if claim is not None:
                    await write_waiting()  # commits this payment too, before its workflow is asked
                here, position = position, position + 1
                facts = {"paid_cents": cp.paid_cents, "charge_cents": cp.charge_cents, "status_code": cp.status_code,
                         "claim_status": CLAIM_STATUS_CODES.get(cp.status_code, "")}  # fmt: skip
                if claim is None:
                    unmatched.append({"payment_id": str(payment.id), "control_number": cp.claim_control_number, "result": "unmatched",
                                      "outcome": payment.outcome, "paid_cents": cp.paid_cents, "charge_cents": cp.charge_cents})  # fmt: skip
                    written.append(payment)
                    waiting.append({"position": here, "payment_id": payment.id, "control_number": cp.claim_control_number,
                                    "reason": "unknown_claim", "facts": facts,
                                    "detail": f"no claim has control number {cp.claim_control_number!r}; link it to a claim or dismiss it"})  # fmt: skip
                    if len(waiting) >= UNMATCHED_BATCH:
                        await write_waiting()
                    elif len(waiting) % YIELD_EVERY == 0:
                        await asyncio.sleep(0)  # building rows is CPU: let other requests in between
                    continue
                entry = await _remit(session, temporal, queue, claim, payment, remittance, cp, causes)
                if entry["result"] == "exception":
                    await exceptions.record(session, tenant_id=tenant_id, file_id=file_id, kind="835", position=here, claim=claim,
                                            payment_id=payment.id, control_number=cp.claim_control_number,
                                            reason=entry["exception"], detail=entry.get("detail", ""), facts=facts)  # fmt: skip
                matched.append(entry)
        await write_waiting()
        return {"matched": matched, "unmatched": unmatched, "provider_adjustments": plb, "balance": balance,
                "total_paid_cents": sum(r.total_paid_cents for r in remittances)}  # fmt: skip

    return await _once(session, tenant_id, "835", text, apply)


def balance_check(remittance: Remittance) -> dict[str, Any]:
    """BPR02 must equal the claim payments less the provider-level adjustments (X221A1 1.10.2.1)."""
    claims = sum(cp.paid_cents for cp in remittance.claims)
    plb = sum(a.amount_cents for a in remittance.provider_adjustments)
    return {"trace_number": remittance.trace_number, "bpr02_cents": remittance.total_paid_cents, "claims_cents": claims,
            "plb_cents": plb, "difference_cents": remittance.total_paid_cents - (claims - plb),
            "balanced": remittance.total_paid_cents == claims - plb}  # fmt: skip


async def _once(
    session: AsyncSession, tenant_id: str, kind: str, text: str, apply: Callable[[uuid.UUID], Awaitable[dict[str, Any]]]
) -> Intake:
    digest = hashlib.sha256(text.encode()).hexdigest()
    stored = await repo.stored_file(session, tenant_id, kind, digest)
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


UNMATCHED_BATCH = 100
"""Unmatched payments written per transaction. Small enough that building and flushing one batch
holds the event loop for milliseconds, not the second a 500-row ORM flush took on a busy machine."""
YIELD_EVERY = 20

LOOKUP_BATCH = 1000
"""Control numbers per query: a large 835 never builds an IN list near PostgreSQL's 65,535 parameters."""


async def claims_by_number(session: AsyncSession, tenant_id: str, numbers: list[str]) -> dict[str, ClaimRow]:
    unique = sorted(set(numbers))
    found: dict[str, ClaimRow] = {}
    for start in range(0, len(unique), LOOKUP_BATCH):
        batch = unique[start : start + LOOKUP_BATCH]
        found.update({c.control_number: c for c in await repo.claims_numbered(session, tenant_id, batch)})
    return found


def _claim_entry(claim: ClaimRow) -> dict[str, Any]:
    return {"claim_id": str(claim.id), "control_number": claim.control_number, "encounter_id": str(claim.encounter_id)}


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
    session: AsyncSession, temporal: Client, task_queue: str, claim: ClaimRow, payment: PaymentRow, remittance: Remittance,
    cp: ClaimPayment, causes: CarcTable,
) -> dict[str, Any]:
    entry = {**_claim_entry(claim), "payment_id": str(payment.id), "outcome": payment.outcome, "paid_cents": cp.paid_cents,
             "expected_cents": payment.expected_cents, "variance_cents": payment.variance_cents,
             "claim_status": CLAIM_STATUS_CODES.get(cp.status_code, "")}  # fmt: skip
    twin = await _duplicate_of(session, payment)
    if twin is not None:
        detail = f"the same payment (CLP02 {cp.status_code}, {cp.paid_cents} cents) was already received in file {twin.file_id}"
        return {**entry, "result": "exception", "applied": False, "exception": "duplicate", "detail": detail, "denials": []}
    applied, denials = await apply_payment(temporal, task_queue, claim, payment, remittance, cp, causes)
    summary = [{"id": str(d["id"]), "category": d["category"], "group": d["values"]["group_code"], "carc": d["values"]["carc"],
                "amount_cents": d["values"]["amount_cents"], "appealable": d["appealable"]} for d in denials]  # fmt: skip
    return {**entry, **applied.facts(), "denials": summary if applied.outcome != "exception" else []}


async def _duplicate_of(session: AsyncSession, payment: PaymentRow) -> PaymentRow | None:
    """Another file already carried this exact claim payment (same payer claim number, status, amount)."""
    return await repo.duplicate_payment(session, payment)
