"""Sandbox clearinghouse: speaks the file-over-HTTP protocol of `integrations.billing.client`.

It is deterministic so demos and tests can steer outcomes through the claim control number
(CLM01) alone:

- A submission is one interchange, usually a batch of claims (one ST/SE each). An envelope
  error (IEA02 not ISA13, IEA01 not the number of groups, no IEA) is answered by a TA1 with
  TA104 ``R`` and nothing in the file goes further. Otherwise the file is validated with pyx12
  against 005010X222A1 (one run per batch) and pyx12's 999 is queued as an inbound file (and
  returned in the receipt); only the claims of accepted transaction sets get a 277CA and 835.
- A 277CA lists every claim: CLM01 starting with ``REJECT`` gets ``A7:21:85`` (invalid
  information, billing provider) with free text; any other claim ``A2:20`` (accepted).
- One 835 per payer covers the accepted claims. Default pricing allows 80% of each line
  charge (rounded down to the cent): paid = allowed, CO-45 = the rest. CLM01 containing
  ``DENY`` is denied (CLP02=4, paid 0): each line CO-97 with remark N20. CLM01 containing
  ``PARTIAL`` denies only its first line that way and prices the others by default.
- Files are available immediately; ids are zero-padded sequence numbers.
- Scripts (``PUT /v1/scripts/<control number or member:<id>>``, or
  ``clearchart sandbox clearinghouse script``) override the rules per claim: ``deny`` (CO-11),
  ``reject`` (277CA free text), ``partial`` (first line denied with that adjustment),
  ``pay_percent``, ``reverse`` (a later 835 reverses the payment and pays it again) and
  ``late_277ca`` (the 277CA arrives after the 835), ``syntax_reject`` (the 999 rejects the
  claim's transaction set, IK3 naming that segment id) and ``envelope_reject`` (a TA1 rejects
  the whole interchange with that note code, e.g. 024).
- With a `DatabaseStore` (how ``clearchart up`` serves it) files, receipts, numbering and scripts
  live in PostgreSQL, so a restart neither loses files nor reuses ids the poller has seen.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import anyio.to_thread
import pyx12.params
import pyx12.x12n_document
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.billing.errors import X12ParseError
from integrations.billing.remittance import Adjustment, ClaimPayment, LinePayment, Payee, Remittance
from integrations.billing.schemas import Interchange
from integrations.billing.segments import Segment, tokenize
from integrations.billing.ta1 import NOTE_CODES
from integrations.billing.x277ca import ClaimAck
from integrations.billing.x277ca_writer import build_277ca
from integrations.billing.x835_writer import build_835
from integrations.billing.x837p_reader import SubmittedClaim, SubmittedLine, read_837p
from integrations.billing.x999 import FunctionalAck, SegmentError, parse_999
from integrations.billing.x999_writer import build_999, build_ta1
from models.claims.sandbox_tables import SandboxFile, SandboxScript, SandboxSubmission

SANDBOX_ID = "SANDBOXCH"
_BATCH_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ADJUSTMENT = re.compile(r"(CO|PR|OA|PI|CR)-([A-Z0-9]{1,5})")
SCRIPT_KEYS = frozenset({"deny", "reject", "partial", "pay_percent", "reverse", "late_277ca", "syntax_reject", "envelope_reject"})


def script_problem(script: dict[str, Any]) -> str | None:
    """Why a script cannot be used, or None. Adjustments are written GROUP-CARC (CO-11)."""
    unknown = set(script) - SCRIPT_KEYS
    if unknown:
        return f"unknown script keys {sorted(unknown)}; use {sorted(SCRIPT_KEYS)}"
    for key in ("deny", "partial"):
        if key in script and not _ADJUSTMENT.fullmatch(str(script[key])):
            return f"{key} must be GROUP-CARC such as CO-11 or CO-97, got {script[key]!r}"
    if "envelope_reject" in script and str(script["envelope_reject"]) not in NOTE_CODES:
        return f"envelope_reject must be a TA1 note code (TA105) such as 024, got {script['envelope_reject']!r}"
    if "syntax_reject" in script and not re.fullmatch(r"[A-Z0-9]{2,3}", str(script["syntax_reject"])):
        return f"syntax_reject must be the segment id the 999 names (IK301), such as CLM or NM1, got {script['syntax_reject']!r}"
    percent = script.get("pay_percent", 80)
    if not isinstance(percent, int) or not 0 <= percent <= 100:
        return "pay_percent must be a whole number from 0 to 100"
    return None


class Store(Protocol):
    """Where the sandbox keeps its mailbox: memory (a unit test) or the database (restarts)."""

    async def receipt(self, batch: str) -> tuple[str, dict[str, str]] | None: ...

    async def number(self) -> int: ...

    async def save(self, batch: str, digest: str, receipt: dict[str, str], files: list[tuple[str, str]]) -> dict[str, str]: ...

    async def since(self, since: str) -> list[dict[str, str]]: ...

    async def script(self, keys: list[str]) -> dict[str, Any]: ...

    async def put_script(self, key: str, script: dict[str, Any]) -> None: ...


@dataclass
class MemoryStore:
    sequence: int = 0
    submissions: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    files: list[dict[str, str]] = field(default_factory=list)
    scripts: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def receipt(self, batch: str) -> tuple[str, dict[str, str]] | None:
        return self.submissions.get(batch)

    async def number(self) -> int:
        self.sequence += 1
        return self.sequence

    async def save(self, batch: str, digest: str, receipt: dict[str, str], files: list[tuple[str, str]]) -> dict[str, str]:
        if batch in self.submissions:
            return self.submissions[batch][1]
        self.submissions[batch] = (digest, receipt)
        for kind, content in files:
            self.files.append({"id": f"{await self.number():012d}", "kind": kind, "content": content})
        return receipt

    async def since(self, since: str) -> list[dict[str, str]]:
        return [f for f in self.files if f["id"] > since]

    async def script(self, keys: list[str]) -> dict[str, Any]:
        return next((self.scripts[k] for k in keys if k in self.scripts), {})

    async def put_script(self, key: str, script: dict[str, Any]) -> None:
        self.scripts[key] = script


class DatabaseStore:
    """Files, receipts and scripts in PostgreSQL: a restarted sandbox numbers on from the last file."""

    def __init__(self, sessions: Callable[[], async_sessionmaker[AsyncSession]]) -> None:
        self._sessions = sessions  # resolved per call: the app may create its session factory late

    async def receipt(self, batch: str) -> tuple[str, dict[str, str]] | None:
        async with self._sessions()() as session:
            row = await session.get(SandboxSubmission, batch)
            return (row.sha256, row.receipt) if row else None

    async def number(self) -> int:
        async with self._sessions()() as session:
            return int(await session.scalar(text("SELECT nextval('sandbox_clearinghouse_numbers')")) or 0)

    async def save(self, batch: str, digest: str, receipt: dict[str, str], files: list[tuple[str, str]]) -> dict[str, str]:
        async with self._sessions().begin() as session:
            inserted = await session.scalar(
                insert(SandboxSubmission).values(batch_name=batch, sha256=digest, receipt=receipt)
                .on_conflict_do_nothing().returning(SandboxSubmission.batch_name)
            )  # fmt: skip
            if inserted is None:  # a concurrent duplicate won the race
                row = await session.get(SandboxSubmission, batch)
                return row.receipt if row else receipt
            for kind, content in files:
                session.add(SandboxFile(kind=kind, content=content))
        return receipt

    async def since(self, since: str) -> list[dict[str, str]]:
        after = int(since) if since.isdigit() else 0
        async with self._sessions()() as session:
            rows = await session.scalars(select(SandboxFile).where(SandboxFile.seq > after).order_by(SandboxFile.seq))
            return [{"id": f"{f.seq:012d}", "kind": f.kind, "content": f.content} for f in rows.all()]

    async def script(self, keys: list[str]) -> dict[str, Any]:
        async with self._sessions()() as session:
            rows = {r.control_number: r.script for r in (await session.scalars(select(SandboxScript).where(SandboxScript.control_number.in_(keys)))).all()}
        return next((rows[k] for k in keys if k in rows), {})

    async def put_script(self, key: str, script: dict[str, Any]) -> None:
        async with self._sessions().begin() as session:
            await session.execute(
                insert(SandboxScript).values(control_number=key, script=script)
                .on_conflict_do_update(index_elements=["control_number"], set_={"script": script})
            )  # fmt: skip


def script_keys(claim: SubmittedClaim) -> list[str]:
    """A script names a claim by its control number, or every claim of a member id."""
    return [claim.claim_control_number, f"member:{claim.member_id}"]


def create_app(api_key: str = "sandbox-key", store: Store | None = None) -> FastAPI:
    """A sandbox clearinghouse; without a `store` its mailbox lives in memory (one per test)."""
    app = FastAPI(title="ClearChart sandbox clearinghouse")
    mailbox: Store = store or MemoryStore()
    lock = asyncio.Lock()  # one submission at a time: numbering and files stay in order

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        if request.headers.get("authorization") != f"Bearer {api_key}":
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
        seen = await mailbox.receipt(batch)
        if seen is not None:
            if seen[0] != digest:
                return _problem(409, f"batch {batch!r} was already submitted with other content")
            return JSONResponse(seen[1], status_code=200)
        try:
            segments = tokenize(text)
            claims = read_837p(text)
        except X12ParseError as exc:
            return _problem(422, f"not a readable 837P: {exc.detail}")
        sender, control = segments[0].get(6).strip(), segments[0].get(13).strip()
        scripts = [await mailbox.script(script_keys(c)) for c in claims]
        envelope_error = _envelope_problem(segments) or next((str(s["envelope_reject"]) for s in scripts if s.get("envelope_reject")), None)
        ack = None if envelope_error else await anyio.to_thread.run_sync(_validate, text)
        if ack is None and not envelope_error:
            return _problem(422, "pyx12 could not read the interchange as X12")
        async with lock:
            receipt = {"id": f"SUB{await mailbox.number():09d}", "ack_999": ""}
            if envelope_error:  # a TA1 answers the interchange; nothing in it goes further
                files = [("TA1", build_ta1(await _interchange(mailbox, sender), control, datetime.now(UTC), "R", envelope_error))]
            else:
                assert ack is not None
                ack, accepted = await _scripted_999(mailbox, sender, ack, claims, scripts)
                receipt["ack_999"] = ack
                files = [("999", ack)]
                if accepted:
                    files += await _respond(mailbox, sender, batch, [claims[n] for n in accepted], [scripts[n] for n in accepted])
            kept = await mailbox.save(batch, digest, receipt, files)
        return JSONResponse(kept, status_code=201 if kept is receipt else 200)

    @app.get("/v1/responses")
    async def responses(since: str = "") -> dict[str, list[dict[str, str]]]:
        return {"files": await mailbox.since(since)}

    @app.put("/v1/scripts/{key}")
    async def put_script(key: str, request: Request) -> JSONResponse:
        """Script the answer for a claim (control number) or ``member:<id>``, before it is submitted."""
        try:
            script = await request.json()
        except ValueError:
            return _problem(422, "the body must be a JSON object such as {\"deny\": \"CO-11\"}")
        problem = script_problem(script) if isinstance(script, dict) else "the body must be a JSON object"
        if problem or len(key) > 38:
            return _problem(422, problem or "the key is longer than 38 characters")
        await mailbox.put_script(key, script)
        return JSONResponse({"key": key, "script": script})

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


def _envelope_problem(segments: list[Segment]) -> str | None:
    """A TA1 note code when the interchange envelope itself is wrong (checked before any group)."""
    isa, iea = segments[0], segments[-1]
    if iea.id != "IEA":
        return "023"
    if iea.get(2).strip() != isa.get(13).strip():
        return "001"
    if not isa.get(13).strip().isdigit():
        return "018"
    if iea.get(1).strip() != str(sum(1 for s in segments if s.id == "GS")):
        return "021"
    return None


async def _scripted_999(
    mailbox: Store, receiver: str, ack: str, claims: list[SubmittedClaim], scripts: list[dict[str, Any]]
) -> tuple[str, list[int]]:
    """pyx12's 999 with scripted syntax rejections applied; returns it and the claims it accepts.

    pyx12 answers one AK2/IK5 per transaction set; a claim scripted ``syntax_reject`` has its set
    answered IK5*R with an IK3 naming the segment, and the group's AK9 counts follow."""
    groups = parse_999(ack)
    scripted = {claims[n].transaction_control: str(scripts[n]["syntax_reject"]) for n in range(len(claims)) if scripts[n].get("syntax_reject")}
    if scripted:
        out: list[FunctionalAck] = []
        for g in groups:
            sets = [
                replace(t, status="R", syntax_codes=["5"], errors=[SegmentError(scripted[t.control_number], "1", "", "8")])
                if t.control_number in scripted else t for t in g.transactions
            ]  # fmt: skip
            good = sum(1 for t in sets if t.accepted)
            out.append(replace(g, transactions=sets, status="A" if good == len(sets) else "R" if good == 0 else "P", transactions_accepted=good))
        groups, ack = out, build_999(await _interchange(mailbox, receiver), out)
    answered = {t.control_number: t.accepted for g in groups for t in g.transactions}
    group_ok = all(g.status in ("A", "E", "P") for g in groups)
    return ack, [n for n, c in enumerate(claims) if group_ok and answered.get(c.transaction_control, group_ok)]


async def _interchange(mailbox: Store, receiver: str) -> Interchange:
    return Interchange(SANDBOX_ID, receiver or "UNKNOWN", await mailbox.number(), datetime.now(UTC))


async def _respond(
    mailbox: Store, receiver: str, batch: str, claims: list[SubmittedClaim], scripts: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """The 277CA and the 835s the rules and scripts call for, in the order they are delivered."""
    base = await mailbox.number()
    acks = [_ack(claim, script, f"SBX{base:06d}{n:03d}") for n, (claim, script) in enumerate(zip(claims, scripts, strict=True))]
    first = claims[0]
    ack_file = ("277CA", build_277ca(
        acks, await _interchange(mailbox, receiver), payer_name="SANDBOX HEALTH PLAN",
        payer_id=SANDBOX_ID, provider_name=first.billing_name or "PROVIDER",
        provider_npi=first.billing_npi or "0000000000", batch_reference=batch,
    ))  # fmt: skip
    by_payer: dict[str, list[ClaimPayment]] = {}
    reversals: dict[str, list[ClaimPayment]] = {}
    for claim, ack, script in zip(claims, acks, scripts, strict=True):
        if ack.accepted:
            paid = _payment(claim, ack.payer_claim_number, script)
            by_payer.setdefault(claim.payer_name, []).append(paid)
            if script.get("reverse"):
                # Payers give the corrected claim a new claim number (ICN); the same one would be a duplicate.
                again = replace(paid, payer_claim_number=f"{paid.payer_claim_number}A")
                reversals.setdefault(claim.payer_name, []).extend([_reversal(paid), again])
    remits = [("835", await _remit(mailbox, receiver, first, payer, payments)) for payer, payments in by_payer.items()]
    remits += [("835", await _remit(mailbox, receiver, first, payer, payments)) for payer, payments in reversals.items()]
    late = any(s.get("late_277ca") for s in scripts)
    return [*remits, ack_file] if late else [ack_file, *remits]


async def _remit(mailbox: Store, receiver: str, first: SubmittedClaim, payer_name: str, payments: list[ClaimPayment]) -> str:
    interchange = await _interchange(mailbox, receiver)
    remittance = Remittance(
        payer_name=payer_name, payer_id="1999999999",
        payee=Payee(first.billing_name or "PROVIDER", first.billing_npi),
        trace_number=f"EFT{interchange.control_number:09d}",
        payment_date=interchange.created_at.date(),
        total_paid_cents=sum(p.paid_cents for p in payments), claims=payments,
        payment_method="ACH",
    )  # fmt: skip
    return build_835(remittance, interchange)


def _ack(claim: SubmittedClaim, script: dict[str, Any], payer_claim_number: str) -> ClaimAck:
    rejected = claim.claim_control_number.startswith("REJECT") or "reject" in script
    text = str(script.get("reject") or "SANDBOX RULE REJECT PREFIX")
    return ClaimAck(
        claim_control_number=claim.claim_control_number,
        accepted=not rejected,
        status_category="A7" if rejected else "A2",
        status_code="21" if rejected else "20",
        entity="85" if rejected else "",
        status_date=datetime.now(UTC).date(),
        free_text=text if rejected else "",
        payer_claim_number="" if rejected else payer_claim_number,
        charge_cents=claim.charge_cents,
        service_date=min((ln.service_date for ln in claim.lines if ln.service_date), default=None),
    )


def _payment(claim: SubmittedClaim, payer_claim_number: str, script: dict[str, Any]) -> ClaimPayment:
    ccn = claim.claim_control_number
    denial = script.get("deny") or script.get("partial") or "CO-97"
    group, carc = str(denial).split("-", 1)
    denied_all = "DENY" in ccn or "deny" in script
    denied_lines = len(claim.lines) if denied_all else 1 if ("PARTIAL" in ccn or "partial" in script) else 0
    percent = int(script.get("pay_percent", 80))
    lines = [_line(line, deny=n < denied_lines, group=group, carc=carc, percent=percent) for n, line in enumerate(claim.lines)]
    return ClaimPayment(
        claim_control_number=ccn,
        status_code="4" if denied_all else "1",
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


def _reversal(paid: ClaimPayment) -> ClaimPayment:
    """CLP02 22: the earlier payment taken back in full, every amount negated."""
    lines = [replace(ln, charge_cents=-ln.charge_cents, paid_cents=-ln.paid_cents,
                     adjustments=[replace(a, amount_cents=-a.amount_cents) for a in ln.adjustments]) for ln in paid.lines]  # fmt: skip
    return replace(paid, status_code="22", charge_cents=-paid.charge_cents, paid_cents=-paid.paid_cents, lines=lines)


def _line(line: SubmittedLine, *, deny: bool, group: str = "CO", carc: str = "97", percent: int = 80) -> LinePayment:
    allowed = 0 if deny else line.charge_cents * percent // 100
    adjustment = Adjustment(group if deny else "CO", carc if deny else "45", line.charge_cents - allowed)
    return LinePayment(
        procedure_code=line.procedure_code,
        charge_cents=line.charge_cents,
        paid_cents=allowed,
        units=Decimal(line.units),
        service_date=line.service_date,
        modifiers=line.modifiers,
        adjustments=[adjustment] if adjustment.amount_cents else [],
        remarks=["N20"] if deny and carc == "97" else [],
    )
