"""A row an activity writes is attested as written, not as it reads at the next projection.

The intake and claims activities run outside the projection's transaction: a document, a scrub run
or a claim is stored first and attested by the workflow's next projection; so is a payment the 835
intake stores (applied to the claim's workflow afterwards, or waiting in the exceptions queue). Here the real activities
write rows (with their keyed receipts), the database owner changes one before the next seal, and the seal
(the projection's own sealing step, `seal_event`) records what the activity wrote, so `verify`
names the chart, the sealing event and the changed section.
"""

import hashlib
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import select, text

from activities.claims import ClaimActivities
from activities.intake import IntakeActivities
from clearchart.keys import chain_keyring
from models.claims.tables import ScrubRun
from models.coding.rules import CodingSubmission, DiagnosisCode, ProcedureCode
from models.encounters.tables import AuditEvent, Encounter, EvidenceReceipt, TextBlob
from models.evidence.chain import Keyring
from models.repositories.audit_seal import seal_event
from models.repositories.evidence_facts import row_digest
from tests.api.claim_support import post_x12, remittance_835, submitted_claim
from tests.api.test_chain_facts import settled_chart, verify
from tests.api.test_payer_documents import file_835, payment
from tests.support import Tenant
from workflows.types import AddendumInput, ScrubRequest

CODING = CodingSubmission([DiagnosisCode("E11.65"), DiagnosisCode("I10")], [ProcedureCode("99214", pointers=[1, 2])])


async def next_projection(tenant: Tenant, eid: str, keys: Keyring) -> int:
    """Seal the chart's next event the way a projection does (same function, same transaction shape)."""
    async with tenant.stack.sessions.begin() as session:
        row = await session.get_one(Encounter, uuid.UUID(eid), with_for_update=True)
        seq = row.version + 1
        prev = await session.scalar(select(AuditEvent.hash).where(AuditEvent.encounter_id == row.id, AuditEvent.seq == row.version))
        assert prev is not None
        common = {
            "seq": seq, "actor": "system", "role": "system", "vendor": None, "action": "claim_scrubbed",
            "before": {"status": row.status}, "after": {"status": row.status}, "reason": None, "occurred_at": datetime.now(UTC),
        }  # fmt: skip
        await seal_event(session, tenant_id=tenant.id, encounter_id=row.id, common=common, prev_hash=prev, keys=keys)
        row.version = seq
    return seq


async def owner_sql(tenant: Tenant, statement: str, **params: object) -> None:
    assert tenant.stack.admin_sessions is not None
    async with tenant.stack.admin_sessions.begin() as session:
        await session.execute(text(statement), params)


class TestWriteTimeDigests:
    async def test_a_scrub_run_changed_before_the_next_projection_fails_verify(self, tenant: Tenant) -> None:
        chart = await settled_chart(tenant)
        eid = chart["id"]
        settings = tenant.stack.settings
        keys = chain_keyring(settings)
        async with httpx.AsyncClient() as http:
            claims = ClaimActivities(
                tenant.stack.sessions, http, settings.clearinghouse, settings.clearinghouse_api_key, tenant.stack.temporal,
                batch_queue=settings.billing_task_queue, keys=keys,
            )
            first = await claims.scrub(ScrubRequest(tenant.id, eid, 90, CODING))
            # Untouched: the receipt and the row agree, the seal attests it, verify passes.
            await next_projection(tenant, eid, keys)
            assert (await verify(tenant, eid))["verified"] is True

            second = await claims.scrub(ScrubRequest(tenant.id, eid, 91, CODING))
        async with tenant.stack.sessions() as session:
            receipted = await session.scalars(select(EvidenceReceipt.row_key).where(EvidenceReceipt.encounter_id == uuid.UUID(eid)))
            assert {first.scrub_id, second.scrub_id} <= set(receipted.all())
        # Between the activity's write and the next projection, the owner rewrites the run's counts and the checks it ran.
        await owner_sql(tenant, "UPDATE scrub_runs SET checks_ran = '[]', hard_count = hard_count + 1 WHERE id = :i", i=second.scrub_id)
        seq = await next_projection(tenant, eid, keys)
        report = await verify(tenant, eid)
        assert report["verified"] is False
        assert report["first_break"]["encounter_id"] == eid
        assert report["first_break"]["seq"] == seq
        assert report["first_break"]["action"] == "claim_scrubbed"
        assert "scrubs (1 changed, 0 removed)" in report["first_break"]["problem"]

    async def test_a_forged_or_deleted_receipt_does_not_launder_a_change(self, tenant: Tenant) -> None:
        chart = await settled_chart(tenant)
        eid = chart["id"]
        settings = tenant.stack.settings
        keys = chain_keyring(settings)
        async with httpx.AsyncClient() as http:
            claims = ClaimActivities(
                tenant.stack.sessions, http, settings.clearinghouse, settings.clearinghouse_api_key, tenant.stack.temporal,
                batch_queue=settings.billing_task_queue, keys=keys,
            )
            forged = await claims.scrub(ScrubRequest(tenant.id, eid, 92, CODING))
            deleted = await claims.scrub(ScrubRequest(tenant.id, eid, 93, CODING))
        # The owner changes both rows; one receipt is rewritten to the new digest (no key: its MAC is
        # stale), the other deleted.
        for run in (forged, deleted):
            await owner_sql(tenant, "UPDATE scrub_runs SET checks_ran = '[]', hard_count = hard_count + 1 WHERE id = :i", i=run.scrub_id)
        async with tenant.stack.sessions() as session:
            row = await session.get_one(ScrubRun, uuid.UUID(forged.scrub_id))
            new_digest = row_digest("scrubs", row)
        assert tenant.stack.admin_sessions is not None
        async with tenant.stack.admin_sessions.begin() as session:
            await session.execute(text("ALTER TABLE evidence_receipts DISABLE TRIGGER evidence_receipts_append_only"))
            await session.execute(text("UPDATE evidence_receipts SET digest = :d WHERE row_key = :i"), {"d": new_digest, "i": forged.scrub_id})
            await session.execute(text("DELETE FROM evidence_receipts WHERE row_key = :i"), {"i": deleted.scrub_id})
            await session.execute(text("ALTER TABLE evidence_receipts ENABLE TRIGGER evidence_receipts_append_only"))
        seq = await next_projection(tenant, eid, keys)
        report = await verify(tenant, eid)
        assert report["verified"] is False
        assert report["first_break"]["seq"] == seq
        assert "scrubs (2 changed, 0 removed)" in report["first_break"]["problem"]

    async def test_a_document_changed_before_the_next_projection_fails_verify(self, tenant: Tenant) -> None:
        chart = await settled_chart(tenant)
        eid = chart["id"]
        keys = chain_keyring(tenant.stack.settings)
        words = "Addendum: HbA1c 9.1, hyperglycemia documented."
        blob = hashlib.sha256(words.encode()).hexdigest()
        async with tenant.stack.sessions.begin() as session:
            session.add(TextBlob(tenant_id=tenant.id, sha256=blob, text=words))
        intake = IntakeActivities(tenant.stack.sessions, keys)
        doc = await intake.add_addendum(AddendumInput(tenant.id, eid, str(uuid.uuid4()), blob))
        # The owner rewrites the new document's text (and its stored hash) before it is attested.
        forged = "Addendum: no hyperglycemia."
        await owner_sql(
            tenant, "UPDATE documents SET text = :t, sha256 = :h WHERE id = :i",
            t=forged, h=hashlib.sha256(forged.encode()).hexdigest(), i=doc,
        )  # fmt: skip
        seq = await next_projection(tenant, eid, keys)
        report = await verify(tenant, eid)
        assert report["verified"] is False
        assert report["first_break"]["seq"] == seq
        assert "documents (1 changed, 0 removed)" in report["first_break"]["problem"]

    async def test_a_payment_changed_before_the_next_projection_fails_verify(self, tenant: Tenant) -> None:
        eid, claim = await submitted_claim(tenant)
        charge = claim["total_charge_cents"]
        keys = chain_keyring(tenant.stack.settings)
        # A denial applied through the API: the payment is receipted, then attested by the workflow's projection.
        denied = await post_x12(tenant, "/v1/remittances", remittance_835(claim["control_number"], paid_cents=0, charge_cents=charge,
                                                                          adjustments=[("CO", "11", charge)]))  # fmt: skip
        assert denied.json()["matched"][0]["result"] == "applied", denied.text
        assert (await verify(tenant, eid))["verified"] is True

        async def reprocessed(pcn: str) -> str:
            """A payment the denied chart cannot take now: stored and queued, not projected."""
            answer = await post_x12(tenant, "/v1/remittances", file_835(payment(claim["control_number"], status="1", paid=charge, charge=charge, pcn=pcn)))
            entry = answer.json()["matched"][0]
            assert (entry["result"], entry["exception"]) == ("exception", "not_applicable"), answer.text
            async with tenant.stack.sessions() as session:
                receipted = await session.scalars(select(EvidenceReceipt.row_key).where(EvidenceReceipt.section == "payments"))
                assert entry["payment_id"] in set(receipted.all())
            return str(entry["payment_id"])

        # Untouched: the next projection attests the payment as received and verify passes.
        await reprocessed("REPROC-1")
        await next_projection(tenant, eid, keys)
        assert (await verify(tenant, eid))["verified"] is True

        # The owner raises what the payer paid before the next projection: the seal attests the receipt, not the row.
        changed = await reprocessed("REPROC-2")
        await owner_sql(tenant, "UPDATE payments SET paid_cents = paid_cents + 50000 WHERE id = :i", i=changed)
        seq = await next_projection(tenant, eid, keys)
        report = await verify(tenant, eid)
        assert report["verified"] is False
        assert report["first_break"]["encounter_id"] == eid
        assert report["first_break"]["seq"] == seq
        assert report["first_break"]["action"] == "claim_scrubbed"
        assert "payments (1 changed, 0 removed)" in report["first_break"]["problem"]

    async def test_an_unmatched_payment_is_receipted_when_a_person_links_it(self, tenant: Tenant) -> None:
        eid, claim = await submitted_claim(tenant)
        charge = claim["total_charge_cents"]
        text = file_835(payment("TYPO-" + claim["control_number"][:10], status="1", paid=charge, charge=charge, pcn="LINK-1"))
        paid = (await post_x12(tenant, "/v1/remittances", text)).json()["unmatched"][0]["payment_id"]

        async def receipted() -> set[str]:
            async with tenant.stack.sessions() as session:
                rows = await session.scalars(select(EvidenceReceipt.row_key).where(EvidenceReceipt.section == "payments"))
                return set(rows.all())

        assert paid not in await receipted()  # no claim, no encounter, in no packet
        waiting = next(e for e in (await tenant.get("/v1/remittance-exceptions", "ops")).json() if e["payment_id"] == paid)
        linked = await tenant.post(f"/v1/remittance-exceptions/{waiting['id']}/resolve", "ops", json={"action": "link", "claim_id": claim["id"]})
        assert linked.status_code == 200, linked.text
        assert paid in await receipted()
        await next_projection(tenant, eid, chain_keyring(tenant.stack.settings))
        assert (await verify(tenant, eid))["verified"] is True
