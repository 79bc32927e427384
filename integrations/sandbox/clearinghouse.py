"""Sandbox clearinghouse: speaks the file-over-HTTP protocol of `integrations.billing.client`.

It is deterministic so demos and tests can steer outcomes through the claim control number
(CLM01) alone:

- Every submission is validated with pyx12 against 005010X222A1; pyx12's 999 is returned
  (and also queued as an inbound file). A rejected 999 stops there: no 277CA, no 835.
- A 277CA lists every claim: CLM01 starting with ``REJECT`` gets ``A7:21:85`` (invalid
  information, billing provider) with free text; any other claim ``A2:20`` (accepted).
- One 835 per payer covers the accepted claims. Default pricing allows 80% of each line
  charge (rounded down to the cent): paid = allowed, CO-45 = the rest. CLM01 containing
  ``DENY`` is denied (CLP02=4, paid 0): each line CO-97 with remark N20. CLM01 containing
  ``PARTIAL`` denies only its first line that way and prices the others by default.
- Files are available immediately; ids are zero-padded sequence numbers.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import anyio.to_thread
import pyx12.params
import pyx12.x12n_document
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from integrations.billing.errors import X12ParseError
from integrations.billing.remittance import Adjustment, ClaimPayment, LinePayment, Payee, Remittance
from integrations.billing.schemas import Interchange
from integrations.billing.segments import tokenize
from integrations.billing.x277ca import ClaimAck
from integrations.billing.x277ca_writer import build_277ca
from integrations.billing.x835_writer import build_835
from integrations.billing.x837p_reader import SubmittedClaim, SubmittedLine, read_837p
from integrations.billing.x999 import parse_999

SANDBOX_ID = "SANDBOXCH"
_BATCH_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass
class _State:
    api_key: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    sequence: int = 0
    submissions: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    files: list[dict[str, str]] = field(default_factory=list)

    def next_id(self) -> int:
        self.sequence += 1
        return self.sequence

    def queue(self, kind: str, content: str) -> None:
        self.files.append({"id": f"{self.next_id():012d}", "kind": kind, "content": content})


def create_app(api_key: str = "sandbox-key") -> FastAPI:
    """A fresh sandbox with its own in-memory mailbox (one per test, one per demo run)."""
    app = FastAPI(title="ClearChart sandbox clearinghouse")
    state = _State(api_key)

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        if request.headers.get("authorization") != f"Bearer {state.api_key}":
            return _problem(401, "missing or wrong bearer token")
        return await call_next(request)

    @app.post("/v1/submissions")
    async def submit(request: Request) -> JSONResponse:
        batch = request.headers.get("x-batch-name", "")
        if not _BATCH_NAME.fullmatch(batch):
            return _problem(422, "header X-Batch-Name must be 1-64 chars of [A-Za-z0-9._-]")
        try:
            text = (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            return _problem(422, "body must be UTF-8 X12 text")
        digest = hashlib.sha256(text.encode()).hexdigest()
        with state.lock:
            if batch in state.submissions:
                seen, receipt = state.submissions[batch]
                if seen != digest:
                    return _problem(
                        409, f"batch {batch!r} was already submitted with other content"
                    )
                return JSONResponse(receipt, status_code=200)
        try:
            claims = read_837p(text)
            sender = tokenize(text)[0].get(6).strip()
        except X12ParseError as exc:
            return _problem(422, f"not a readable 837P: {exc.detail}")
        ack = await anyio.to_thread.run_sync(_validate, text)
        if ack is None:
            return _problem(422, "pyx12 could not read the interchange as X12")
        with state.lock:
            if batch in state.submissions:  # a concurrent duplicate won the race
                return JSONResponse(state.submissions[batch][1], status_code=200)
            receipt = {"id": f"SUB{state.next_id():09d}", "ack_999": ack}
            state.submissions[batch] = (digest, receipt)
            state.queue("999", ack)
            if all(group.accepted for group in parse_999(ack)):
                _respond(state, sender, batch, claims)
        return JSONResponse(receipt, status_code=201)

    @app.get("/v1/responses")
    async def responses(since: str = "") -> dict[str, list[dict[str, str]]]:
        with state.lock:
            return {"files": [f for f in state.files if f["id"] > since]}

    return app


def _problem(status: int, detail: str) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": "Clearinghouse error",
        "status": status,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _validate(text: str) -> str | None:
    """pyx12's own 999 for the file, or None when pyx12 cannot read it at all."""
    out = io.StringIO()
    try:
        pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), out, None)
    except Exception:  # third-party validator: any crash means "unreadable"
        return None
    return out.getvalue() or None


def _interchange(state: _State, receiver: str) -> Interchange:
    return Interchange(SANDBOX_ID, receiver or "UNKNOWN", state.next_id(), datetime.now(UTC))


def _respond(state: _State, receiver: str, batch: str, claims: list[SubmittedClaim]) -> None:
    """Queue the 277CA and the 835s the deterministic rules call for."""
    acks = [_ack(claim, f"SBX{state.sequence:06d}{n:03d}") for n, claim in enumerate(claims)]
    first = claims[0]
    state.queue("277CA", build_277ca(
        acks, _interchange(state, receiver), payer_name="SANDBOX HEALTH PLAN",
        payer_id=SANDBOX_ID, provider_name=first.billing_name or "PROVIDER",
        provider_npi=first.billing_npi or "0000000000", batch_reference=batch,
    ))  # fmt: skip
    by_payer: dict[str, list[ClaimPayment]] = {}
    for claim, ack in zip(claims, acks, strict=True):
        if ack.accepted:
            by_payer.setdefault(claim.payer_name, []).append(
                _payment(claim, ack.payer_claim_number)
            )
    for payer_name, payments in by_payer.items():
        interchange = _interchange(state, receiver)
        remittance = Remittance(
            payer_name=payer_name, payer_id="1999999999",
            payee=Payee(first.billing_name or "PROVIDER", first.billing_npi),
            trace_number=f"EFT{interchange.control_number:09d}",
            payment_date=interchange.created_at.date(),
            total_paid_cents=sum(p.paid_cents for p in payments), claims=payments,
            payment_method="ACH",
        )  # fmt: skip
        state.queue("835", build_835(remittance, interchange))


def _ack(claim: SubmittedClaim, payer_claim_number: str) -> ClaimAck:
    rejected = claim.claim_control_number.startswith("REJECT")
    return ClaimAck(
        claim_control_number=claim.claim_control_number,
        accepted=not rejected,
        status_category="A7" if rejected else "A2",
        status_code="21" if rejected else "20",
        entity="85" if rejected else "",
        status_date=datetime.now(UTC).date(),
        free_text="SANDBOX RULE REJECT PREFIX" if rejected else "",
        payer_claim_number="" if rejected else payer_claim_number,
        charge_cents=claim.charge_cents,
        service_date=min((ln.service_date for ln in claim.lines if ln.service_date), default=None),
    )


def _payment(claim: SubmittedClaim, payer_claim_number: str) -> ClaimPayment:
    ccn = claim.claim_control_number
    denied_lines = len(claim.lines) if "DENY" in ccn else 1 if "PARTIAL" in ccn else 0
    lines = [_line(line, deny=n < denied_lines) for n, line in enumerate(claim.lines)]
    return ClaimPayment(
        claim_control_number=ccn,
        status_code="4" if "DENY" in ccn else "1",
        charge_cents=claim.charge_cents,
        paid_cents=sum(line.paid_cents for line in lines),
        patient_responsibility_cents=0,
        payer_claim_number=payer_claim_number,
        filing_indicator="12",
        patient_member_id=claim.member_id,
        patient_last_name=claim.last_name,
        patient_first_name=claim.first_name,
        lines=lines,
    )


def _line(line: SubmittedLine, *, deny: bool) -> LinePayment:
    allowed = 0 if deny else line.charge_cents * 4 // 5
    adjustment = Adjustment("CO", "97" if deny else "45", line.charge_cents - allowed)
    return LinePayment(
        procedure_code=line.procedure_code,
        charge_cents=line.charge_cents,
        paid_cents=allowed,
        units=Decimal(line.units),
        service_date=line.service_date,
        modifiers=line.modifiers,
        adjustments=[adjustment] if adjustment.amount_cents else [],
        remarks=["N20"] if deny else [],
    )
