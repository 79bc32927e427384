"""Claim-stage I/O: run the scrub against the loaded edit tables, build the 837P, send it.

PHI the scrub and the claim need (sex, birth date, name, address) is read here from PostgreSQL;
the workflow only passes ids and codes.
"""

import hashlib
import re
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, Literal

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from integrations.billing.batch import batch_837p
from integrations.billing.client import HttpClearinghouse
from integrations.billing.errors import ClearinghouseRejected
from integrations.billing.schemas import (
    BillingProvider,
    Claim837,
    DependentPatient,
    Interchange,
    Payer,
    Receiver,
    RenderingProvider,
    ServiceFacility,
    ServiceLine,
    Submitter,
    Subscriber,
)
from integrations.billing.x837p import build_837p, valid_npi
from integrations.codesets.catalog import default_catalog
from models.claims.batch_tables import ClaimBatch
from models.claims.facts import CHECK as CLAIM_FACTS_CHECK
from models.claims.facts import PAT01, ClaimFacts, claim_fact_edits, is_dependent
from models.claims.payer_tables import TenantPayer
from models.claims.scrub import ScrubInput, ScrubLine, scrub
from models.claims.tables import ClaimRow, ScrubRun
from models.coding.rules import CodingSubmission
from models.encounters.tables import Encounter, Patient, Tenant
from models.evidence.chain import Keyring
from models.repositories import claims as claims_repo
from models.repositories.claims import fee
from models.repositories.evidence_receipts import record_receipts
from models.repositories.scrub_tables import ScrubTableCache
from services.claim_acks import rework_batch
from services.codesets import refresh_from
from workflows.claim_batch import (
    BatchInput,
    BatchSent,
    ClaimBatchWorkflow,
    SendBatch,
    claim_batch_workflow_id,
)
from workflows.types import (
    BillRequest,
    BillResult,
    EditRef,
    ScrubOutcome,
    ScrubRequest,
    SubmitResult,
)

log = structlog.get_logger(__name__)

PLACE_OF_SERVICE = {"AMB": "11", "EMER": "23", "IMP": "21", "OBSENC": "22", "VR": "02", "HH": "12"}
SANDBOX_PROVIDER = {
    "npi": "1234567893",
    "name": "SANDBOX CLINIC",
    "tax_id": "123456789",
    "address_line1": "100 MAIN ST",
    "city": "SPRINGFIELD",
    "state": "IL",
    "zip_code": "627010001",
}
DEFAULT_CHARGE_CENTS = 15000


def control_number(encounter_id: str, scrub_id: str) -> str:
    """CLM01: short, stable for one scrub (so retries reuse it), unique across reworks."""
    return "CC" + hashlib.sha256(f"{encounter_id}/{scrub_id}".encode()).hexdigest()[:14].upper()


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _sex(value: str | None) -> Literal["male", "female"] | None:
    return value if value in ("male", "female") else None  # type: ignore[return-value]


class ClaimActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        clearinghouse_url: str,
        api_key: str,
        client: Client,
        *,
        batch_queue: str,
        batch_seconds: float = 2.0,
        batch_size: int = 100,
        keys: Keyring | None = None,
    ) -> None:
        self._sessions = sessions
        self._keys = keys  # chain keys: each row written here gets its keyed receipt (evidence_receipts)
        self._clearinghouse = HttpClearinghouse(http, clearinghouse_url, api_key)
        self._tables = ScrubTableCache()
        self._client = client
        self._batch_queue, self._batch_seconds, self._batch_size = batch_queue, batch_seconds, batch_size

    @activity.defn(name="claims.scrub")
    async def scrub(self, req: ScrubRequest) -> ScrubOutcome:
        encounter_id = uuid.UUID(req.encounter_id)
        async with self._sessions.begin() as session:
            existing = await claims_repo.scrub_run(session, encounter_id, req.run_no)
            if existing is None:
                existing = await self._run(session, req)
            edits = [EditRef(e["rule"], e["severity"], e["code"], e["line_index"]) for e in existing.edits]
        return ScrubOutcome(
            str(existing.id), [e for e in edits if e.severity == "hard"], [e for e in edits if e.severity == "soft"]
        )

    async def _run(self, session: AsyncSession, req: ScrubRequest) -> ScrubRun:
        e = await session.get_one(Encounter, uuid.UUID(req.encounter_id))
        patient = await session.get(Patient, e.patient_id) if e.patient_id else None
        dos = e.date_of_service or e.received_at.date()
        inp = _scrub_input(req.coding, dos, patient, e.encounter_class)
        await refresh_from(session)  # an ICD-10-CM release loaded since this worker started
        catalog = default_catalog()
        tables = await self._tables.load(session, [line.code for line in inp.lines])
        result = scrub(inp, tables, icd_status=catalog.icd10cm_status)
        payer = await session.get(TenantPayer, (req.tenant_id, e.payer_id)) if e.payer_id else None
        facts = ClaimFacts(e.payer_id, e.member_id, payer is not None, *_address(patient), e.subscriber_relationship, e.subscriber)
        result = replace(result, edits=[*result.edits, *claim_fact_edits(facts)], checks_ran=[*result.checks_ran, CLAIM_FACTS_CHECK])
        row = ScrubRun(
            id=uuid.uuid4(),
            tenant_id=req.tenant_id,
            encounter_id=e.id,
            run_no=req.run_no,
            edits=[
                {"rule": x.rule, "severity": x.severity, "line_index": x.line_index, "code": x.code, "message": x.message}
                for x in result.edits
            ],
            checks_ran=list(result.checks_ran),
            checks_skipped=[{"check": s.check, "reason": s.reason} for s in result.checks_skipped],
            table_versions=dict(result.table_versions),
            hard_count=len(result.hard_edits),
            soft_count=len(result.edits) - len(result.hard_edits),
        )
        session.add(row)
        await record_receipts(session, self._keys, "scrubs", [row])
        log.info("claim.scrubbed", encounter_id=req.encounter_id, run=req.run_no, hard=row.hard_count, soft=row.soft_count)
        return row

    @activity.defn(name="claims.create")
    async def create(self, req: BillRequest) -> BillResult:
        number = control_number(req.encounter_id, req.scrub_id)
        async with self._sessions.begin() as session:
            held = await claims_repo.open_qa_hold(session, uuid.UUID(req.encounter_id))
            if held is not None:
                return BillResult("", "", 0, held_for_qa=True)
            found = await claims_repo.claim_numbered(session, number)
            if found is None:
                found = await self._build(session, req, number)
        return BillResult(str(found.id), found.control_number, found.total_charge_cents)

    async def _build(self, session: AsyncSession, req: BillRequest, number: str) -> ClaimRow:
        e = await session.get_one(Encounter, uuid.UUID(req.encounter_id))
        tenant = await session.get_one(Tenant, req.tenant_id)
        patient = await session.get(Patient, e.patient_id) if e.patient_id else None
        if patient is None or patient.birth_date is None:
            raise ApplicationError("the patient's birth date is missing; the claim cannot be built", non_retryable=True)
        payer = await session.get(TenantPayer, (req.tenant_id, e.payer_id)) if e.payer_id else None
        street, city, state, postal = _address(patient)
        if payer is None or not e.member_id or not (street and city and state and postal):  # the scrub names which
            raise ApplicationError("the chart lacks coverage, member id, a known payer or the patient's address", non_retryable=True)
        dos = e.date_of_service or e.received_at.date()
        lines: list[dict[str, Any]] = []
        for p in req.coding.procedures:
            rate = await fee(session, req.tenant_id, e.payer_id, p.code, dos, p.modifiers)
            lines.append({"code": p.code, "modifiers": p.modifiers, "units": p.units, "pointers": p.pointers,
                          "charge_cents": (rate or DEFAULT_CHARGE_CENTS) * p.units,
                          "expected_cents": rate * p.units if rate is not None else None})
        total = sum(line["charge_cents"] for line in lines)
        expected = [line["expected_cents"] for line in lines]
        provider = {**SANDBOX_PROVIDER, **(tenant.settings.get("billing_provider") or {})}
        sex = {"male": "M", "female": "F"}.get(patient.sex or "", "U")
        self_person = Subscriber(e.member_id, patient.family or "UNKNOWN", patient.given or "UNKNOWN", patient.birth_date,
                                 sex, street, city, state, postal.replace("-", ""))  # type: ignore[arg-type]  # fmt: skip
        subscriber, dependent = self_person, None
        if is_dependent(e.subscriber_relationship):  # the policy holder is someone else: 2000C for the patient
            holder = e.subscriber or {}
            if any(not holder.get(key) for key in ("family", "given", "birth_date", "address_line", "city", "state", "postal_code")):
                raise ApplicationError("the Coverage's subscriber is incomplete; the scrub names what is missing", non_retryable=True)
            subscriber = Subscriber(e.member_id, holder["family"], holder["given"], date.fromisoformat(holder["birth_date"]),
                                    {"male": "M", "female": "F"}.get(holder.get("sex") or "", "U"),  # type: ignore[arg-type]
                                    holder["address_line"], holder["city"], holder["state"], holder["postal_code"].replace("-", ""))  # fmt: skip
            dependent = DependentPatient(PAT01.get(e.subscriber_relationship or "", "G8"), self_person.last_name, self_person.first_name,
                                         self_person.birth_date, self_person.sex, street, city, state, postal.replace("-", ""))  # fmt: skip
        claim_id = uuid.uuid4()
        # The claim on its own (what the 837P route shows); the batch it goes out in has its own ISA13.
        interchange_number = claim_id.int % 999_999_999 + 1
        x12 = build_837p(
            Interchange(sender_id="CLEARCHART", receiver_id="CLEARINGHOUSE", control_number=interchange_number, created_at=datetime.now(UTC)),
            Submitter(provider["name"], "CLEARCHART", "BILLING OFFICE", "2175550100"),
            Receiver("SANDBOX CLEARINGHOUSE", "CLEARINGHOUSE"),
            BillingProvider(**provider),
            [(
                subscriber,
                Payer(payer.x12_payer_id, payer.name, payer.filing_indicator),
                Claim837(
                    claim_control_number=number,
                    total_charge_cents=total,
                    place_of_service=PLACE_OF_SERVICE.get(e.encounter_class or "", "11"),
                    diagnoses=[d.code for d in req.coding.diagnoses],
                    lines=[
                        ServiceLine(line["code"], line["charge_cents"], line["units"], line["pointers"], dos, line["modifiers"])
                        for line in lines
                    ],
                    patient=dependent,
                    rendering_provider=_rendering(e.practitioner),
                    service_facility=service_facility(e.service_facility, provider),
                ),
            )],
        )  # fmt: skip
        row = ClaimRow(
            id=claim_id,
            tenant_id=req.tenant_id,
            encounter_id=e.id,
            control_number=number,
            status="created",
            payer_id=e.payer_id,
            payer_name=e.payer_name,
            total_charge_cents=total,
            expected_cents=sum(x for x in expected if x is not None) if all(x is not None for x in expected) else None,
            lines=lines,
            x12=x12,
        )
        session.add(row)
        await record_receipts(session, self._keys, "claims", [row])
        return row

    @activity.defn(name="claims.bill")
    async def bill(self, req: BillRequest) -> BillResult:
        """Build the claim and queue it for its batch: one activity, so the workflow pays one
        server round trip and one workflow task for what used to take two. Idempotent as its
        halves are (the claim by control number; a queued claim is left alone)."""
        built = await self.create(req)
        if built.held_for_qa:
            return built
        return replace(built, sent=await self.submit(built.claim_id))

    @activity.defn(name="claims.submit")
    async def submit(self, claim_id: str) -> SubmitResult:
        """Queue the claim for its tenant and payer's next batch (`workflows.claim_batch`).

        Nothing goes over the network here but one signal: the interchange, the clearinghouse
        call and its pyx12 check happen once per batch. Idempotent: a retry signals again and
        the batch ignores a claim it already holds; a claim already sent is left alone."""
        async with self._sessions.begin() as session:
            claim = await session.get_one(ClaimRow, uuid.UUID(claim_id))
            if claim.batch_id is not None or claim.status not in ("created", "submitted"):
                return SubmitResult(True)
            tenant = await session.get_one(Tenant, claim.tenant_id)
            # Submitted from the chart's point of view (attested with the workflow's next event);
            # the batch it goes out in, and when, is transport bookkeeping on the claim.
            now = datetime.now(UTC)
            claim.status, claim.submitted_at, claim.queued_at = "submitted", claim.submitted_at or now, claim.queued_at or now
            tenant_id, payer_id = claim.tenant_id, claim.payer_id
            window, size = batch_limits(tenant.settings, self._batch_seconds, self._batch_size)
            await record_receipts(session, self._keys, "claims", [claim])
        await self._client.start_workflow(
            ClaimBatchWorkflow.run, BatchInput(tenant_id, payer_id, window, size, [claim_id]),
            id=claim_batch_workflow_id(tenant_id, payer_id), task_queue=self._batch_queue,
            start_signal="add", start_signal_args=[claim_id],
        )  # fmt: skip
        log.info("claim.queued", claim_id=claim_id, payer_id=payer_id)
        return SubmitResult(True)

    @activity.defn(name="claims.send_batch")
    async def send_batch(self, req: SendBatch) -> BatchSent:
        """Cut the batch (once: a retry finds it by id) and send it under its batch name, which
        the clearinghouse treats as the idempotency key. A file it refuses outright sends every
        claim of the batch back to rework with its answer; its 999 or TA1 comes by the mailbox."""
        batch_id = uuid.UUID(req.batch_id)
        async with self._sessions.begin() as session:
            batch = await session.get(ClaimBatch, batch_id)
            if batch is None:
                batch = await self._cut(session, req, batch_id)
                if batch is None:
                    return BatchSent(req.batch_id, 0, "empty")
            name, x12, status, count = batch.batch_name, batch.x12, batch.status, batch.claim_count
        if status != "built":
            return BatchSent(req.batch_id, count, status)
        try:
            receipt = await self._clearinghouse.submit(name, x12)
        except ClearinghouseRejected as exc:
            async with self._sessions.begin() as session:
                batch = await session.get_one(ClaimBatch, batch_id)
                batch.status, batch.detail = "refused", exc.detail
            await rework_batch(self._sessions, self._client, batch_id, "refused", f"the clearinghouse refused batch {name}: {exc.detail}")
            return BatchSent(req.batch_id, count, "refused", exc.detail)
        async with self._sessions.begin() as session:
            batch = await session.get_one(ClaimBatch, batch_id)
            batch.status, batch.submission_id, batch.sent_at = "sent", receipt.id, datetime.now(UTC)
            batch.ack_999 = receipt.ack_999 or None
            await claims_repo.set_submission(session, batch_id, receipt.id)
        log.info("claim.batch_sent", batch=name, claims=count, submission_id=receipt.id)
        return BatchSent(req.batch_id, count, "sent")

    async def _cut(self, session: AsyncSession, req: SendBatch, batch_id: uuid.UUID) -> ClaimBatch | None:
        ids = [uuid.UUID(c) for c in req.claim_ids]
        claims = await claims_repo.unbatched_locked(session, req.tenant_id, ids)
        if not claims:
            return None
        number = await claims_repo.next_interchange_number(session)
        x12, controls = batch_837p(Interchange("CLEARCHART", "CLEARINGHOUSE", number, datetime.now(UTC)), [c.x12 for c in claims])
        batch = ClaimBatch(id=batch_id, tenant_id=req.tenant_id, payer_id=req.payer_id, interchange_number=number,
                           batch_name=f"CB{number:09d}-{batch_id.hex[:12]}", status="built", claim_count=len(claims), x12=x12)  # fmt: skip
        session.add(batch)
        await session.flush()
        for claim, control in zip(claims, controls, strict=True):
            claim.batch_id, claim.transaction_control = batch_id, control  # sent once submission_id is set
        return batch


def batch_limits(settings: dict[str, Any], seconds: float, size: int) -> tuple[float, int]:
    """The batch window and size: the tenant's own (``claim_batch_seconds``/``claim_batch_size``
    in its settings) where valid, else the deployment's."""
    own_seconds, own_size = settings.get("claim_batch_seconds"), settings.get("claim_batch_size")
    if isinstance(own_seconds, int | float) and not isinstance(own_seconds, bool) and 0 <= own_seconds <= 3600:
        seconds = float(own_seconds)
    if isinstance(own_size, int) and not isinstance(own_size, bool) and 1 <= own_size <= 5000:
        size = own_size
    return seconds, size


def _rendering(practitioner: dict[str, Any] | None) -> RenderingProvider | None:
    """NM1*82 from the chart's practitioner: only with a valid NPI and a family name (never guessed);
    PRV*PE only with a NUCC taxonomy the chart sent."""
    p = practitioner or {}
    npi, family = p.get("npi") or "", p.get("family") or ""
    if not family or not valid_npi(npi):
        return None
    taxonomy = p.get("taxonomy") or ""
    return RenderingProvider(npi, family, p.get("given") or "", taxonomy if re.fullmatch(r"[0-9]{3}[0-9A-Z]{6}X", taxonomy) else "")


def _same_place(a: tuple[str, str, str, str], b: tuple[str, str, str, str]) -> bool:
    """Street, city, state and five-digit ZIP alike, ignoring case, spacing and punctuation."""

    def norm(value: str, n: int) -> str:
        text = "".join(ch for ch in value.upper() if ch.isalnum())
        return text[:5] if n == 3 else text

    return all(norm(x, n) == norm(y, n) for n, (x, y) in enumerate(zip(a, b, strict=True)))


def service_facility(facility: dict[str, Any] | None, provider: dict[str, Any]) -> ServiceFacility | None:
    """Loop 2310C from the chart's Location, only when it is not where the billing provider is
    (then the loop is omitted, as the guide asks). An NPI is kept only when it is a valid one."""
    f = facility or {}
    if not all(f.get(k) for k in ("name", "address_line", "city", "state", "postal_code")):
        return None
    here = (f["address_line"], f["city"], f["state"], f["postal_code"])
    billing = (provider.get("address_line1") or "", provider.get("city") or "", provider.get("state") or "", provider.get("zip_code") or "")
    if _same_place(here, billing):
        return None
    npi = f.get("npi") or ""
    return ServiceFacility(f["name"], f["address_line"], f["city"], f["state"], f["postal_code"].replace("-", ""),
                           npi if valid_npi(npi) else "", f.get("address_line2") or "")  # fmt: skip


def _address(patient: Patient | None) -> tuple[str | None, str | None, str | None, str | None]:
    if patient is None:
        return None, None, None, None
    return patient.address_line, patient.city, patient.state, patient.postal_code


def _scrub_input(coding: CodingSubmission, dos: date, patient: Patient | None, encounter_class: str | None) -> ScrubInput:
    return ScrubInput(
        date_of_service=dos,
        patient_sex=_sex(patient.sex if patient else None),
        patient_age_years=_age(patient.birth_date if patient else None, dos),
        diagnoses=[d.code for d in coding.diagnoses],
        lines=[ScrubLine(p.code, list(p.modifiers), p.units, list(p.pointers)) for p in coding.procedures],
        place_of_service=PLACE_OF_SERVICE.get(encounter_class or "", "11"),
    )
