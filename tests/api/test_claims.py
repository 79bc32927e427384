"""The claim stage over real HTTP: scrub, 837P, 277CA and 835 in, denials, appeals, metrics."""

import uuid
from typing import Any

from sqlalchemy import func, select

from clearchart import admin
from models.claims.tables import InboundFile
from tests.api.claim_support import (
    ack_277ca,
    claimed,
    coding,
    post_x12,
    remittance_835,
    submitted_claim,
)
from tests.conftest import SAMPLES
from tests.support import Tenant, eventually
from tests.unit.x12_support import pyx12_findings


class TestScrub:
    async def test_a_clean_chart_is_billed_with_a_valid_837p(self, tenant: Tenant) -> None:
        enc, claim = await submitted_claim(tenant)
        x12 = await tenant.get(f"/v1/claims/{claim['id']}/x12", "ops")
        assert x12.status_code == 200
        assert f"CLM*{claim['control_number']}*" in x12.text
        ok, errors, _ = pyx12_findings(x12.text)
        assert errors == []
        assert ok
        scrub = (await tenant.get(f"/v1/encounters/{enc}/scrub", "coder")).json()
        assert scrub["clean"] is True
        assert {s["check"] for s in scrub["checks_skipped"]} >= {"ptp", "mue"}

    async def test_a_hard_edit_sends_the_chart_back_to_its_coder_then_a_fix_bills_it(self, tenant: Tenant) -> None:
        enc, doc = await claimed(tenant)
        without_25: dict[str, Any] = {
            "diagnoses": [{"code": "M17.11", "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]}],
            "procedures": [
                {"code": "99214", "pointers": [1], "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]},
                {"code": "20610", "modifiers": ["RT"], "pointers": [1], "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]},
            ],
        }
        first = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc, without_25))
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["status"] == "in_coding"
        assert body["assignee"] == "coder-1"
        assert "em.modifier25_missing" in [e["rule"] for e in body["scrub"]["edits"]]
        fixed = without_25 | {"procedures": [dict(without_25["procedures"][0], modifiers=["25"]), without_25["procedures"][1]]}
        second = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc, fixed))
        assert second.json()["scrub"]["run_no"] == 2
        await eventually(lambda: tenant.get(f"/v1/encounters/{enc}", "ops"), until=lambda r: r.json()["status"] == "submitted")
        actions = [t["action"] for t in (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["timeline"]]
        assert actions.count("scrub_hard_edits") == 1
        assert actions[-1] == "scrub_clean"

    async def test_a_soft_edit_waits_for_an_acknowledgment_with_a_reason(self, tenant: Tenant) -> None:
        enc, doc = await claimed(tenant)
        pediatric = {
            "diagnoses": [{"code": "P07.30", "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]}],
            "procedures": [{"code": "99214", "pointers": [1], "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]}],
        }
        first = (await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc, pediatric))).json()
        soft = [e for e in first["scrub"]["edits"] if e["severity"] == "soft"]
        assert first["status"] == "scrubbing"
        assert soft
        assert all(e["severity"] == "soft" for e in first["scrub"]["edits"])
        missing = await tenant.post(f"/v1/encounters/{enc}/scrub/acknowledge", "coder", json={"acknowledgments": [{"rule": "other", "reason": "because"}]})
        assert missing.status_code == 409
        acks = [{"rule": e["rule"], "line_index": e["line_index"], "reason": "history of prematurity documented"} for e in soft]
        acked = await tenant.post(f"/v1/encounters/{enc}/scrub/acknowledge", "coder", json={"acknowledgments": acks})
        assert acked.status_code == 200, acked.text
        assert acked.json()["clean"] is True
        await eventually(lambda: tenant.get(f"/v1/encounters/{enc}", "ops"), until=lambda r: r.json()["status"] == "submitted")


class TestAcknowledgments:
    async def test_an_accepted_277ca_keeps_the_claim_waiting_for_payment(self, tenant: Tenant) -> None:
        _enc, claim = await submitted_claim(tenant)
        posted = await post_x12(tenant, "/v1/acknowledgments", ack_277ca(claim["control_number"], accepted=True))
        assert posted.status_code == 200, posted.text
        assert posted.json()["matched"][0]["applied"] is True
        assert (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()["status"] == "accepted"

    async def test_a_rejected_277ca_returns_the_chart_to_rework_and_is_not_filed(self, tenant: Tenant) -> None:
        _enc, claim = await submitted_claim(tenant)
        posted = await post_x12(tenant, "/v1/acknowledgments", ack_277ca(claim["control_number"], accepted=False))
        assert posted.json()["matched"][0]["encounter_status"] == "in_coding"
        stored = (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()
        assert stored["status"] == "rejected"
        assert stored["filed"] is False
        assert "NPI" in stored["rejection"]

    async def test_the_sample_277cas_ingest_as_unmatched_and_a_replay_changes_nothing(self, tenant: Tenant) -> None:
        text = (SAMPLES / "x12" / "277CA-rejected-A7-emedny.edi").read_text()
        first = await post_x12(tenant, "/v1/acknowledgments", text)
        assert first.status_code == 200
        assert first.json()["matched"] == []
        assert first.json()["unmatched"][0]["accepted"] is False
        again = await post_x12(tenant, "/v1/acknowledgments", text)
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"


class TestRemittances:
    async def test_the_sample_835s_ingest_with_their_paid_amounts_kept_as_unmatched(self, tenant: Tenant) -> None:
        expected = {"835-denial-and-paid.edi": 5744, "835-emedny-denials.edi": 4575, "835-single-line-paid-contractual.edi": 30056}
        for name, total in expected.items():
            posted = await post_x12(tenant, "/v1/remittances", (SAMPLES / "x12" / name).read_text())
            assert posted.status_code == 200, posted.text
            body = posted.json()
            assert body["total_paid_cents"] == total
            assert sum(u["paid_cents"] for u in body["unmatched"]) == total
            assert body["matched"] == []
        listed = (await tenant.get("/v1/remittances/unmatched", "ops")).json()
        assert sum(p["paid_cents"] for p in listed) == sum(expected.values())
        every = [a for p in listed for a in p["adjustments"] + [x for line in p["lines"] for x in line["adjustments"]]]
        assert {"group": "CO", "carc": "45", "amount_cents": 1256} in every
        assert {"group": "PR", "carc": "29", "amount_cents": 108800} in every

    async def test_a_malformed_835_is_refused_and_stores_nothing(self, tenant: Tenant) -> None:
        async def files() -> int:
            async with tenant.stack.sessions() as s:
                return await s.scalar(select(func.count()).select_from(InboundFile).where(InboundFile.tenant_id == tenant.id)) or 0

        before = await files()
        text = (SAMPLES / "x12" / "835-denial-and-paid.edi").read_text().replace("CLP*", "CLQ*", 1)[:-40]
        refused = await post_x12(tenant, "/v1/remittances", text)
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert "835" in refused.json()["detail"]
        assert await files() == before

    async def test_payment_closes_the_chart_and_records_variance(self, tenant: Tenant) -> None:
        _enc, claim = await submitted_claim(tenant)
        text = remittance_835(claim["control_number"], paid_cents=12000, charge_cents=claim["total_charge_cents"], adjustments=[("CO", "45", claim["total_charge_cents"] - 12000)])
        posted = (await post_x12(tenant, "/v1/remittances", text)).json()
        entry = posted["matched"][0]
        assert entry["outcome"] == "paid"
        assert entry["denials"] == []
        assert entry["encounter_status"] == "closed"
        assert (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()["paid_cents"] == 12000

    async def test_timely_filing_denials_are_not_appealable(self, tenant: Tenant) -> None:
        _enc, claim = await submitted_claim(tenant)
        text = remittance_835(claim["control_number"], paid_cents=0, charge_cents=claim["total_charge_cents"], adjustments=[("CO", "29", claim["total_charge_cents"])])
        denial = (await post_x12(tenant, "/v1/remittances", text)).json()["matched"][0]["denials"][0]
        assert denial["category"] == "timely_filing"
        assert denial["appealable"] is False
        refused = await tenant.post(f"/v1/denials/{denial['id']}/appeals", "ops", json={"reason": "we filed on time"})
        assert refused.status_code == 422
        assert "timely filing" in refused.json()["detail"]


class TestEndToEnd:
    async def test_coding_denial_appealed_with_packet_and_overturned_closes_the_chart(self, tenant: Tenant) -> None:
        enc, doc = await claimed(tenant)
        evidence = [{"document_id": "DOC", "excerpt": "type 2 diabetes mellitus with hyperglycemia"}]
        visit = {"code": "99214", "pointers": [1], "evidence": evidence}
        injection = {"code": "20610", "modifiers": ["RT"], "pointers": [1], "evidence": evidence}
        first = {"diagnoses": [{"code": "E11.65", "evidence": evidence}], "procedures": [visit, injection]}
        rework = (await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc, first))).json()
        assert rework["status"] == "in_coding"
        assert "em.modifier25_missing" in [e["rule"] for e in rework["scrub"]["edits"]]
        fixed = first | {"procedures": [visit | {"modifiers": ["25"]}, injection]}
        clean = (await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc, fixed))).json()
        assert clean["scrub"]["clean"] is True
        await eventually(lambda: tenant.get(f"/v1/encounters/{enc}", "ops"), until=lambda r: r.json()["status"] == "submitted")
        claim = (await tenant.get(f"/v1/claims?encounter_id={enc}", "ops")).json()[0]
        ok, errors, _ = pyx12_findings((await tenant.get(f"/v1/claims/{claim['id']}/x12", "ops")).text)
        assert errors == []
        assert ok
        await post_x12(tenant, "/v1/acknowledgments", ack_277ca(claim["control_number"], accepted=True))
        text = remittance_835(claim["control_number"], paid_cents=0, charge_cents=claim["total_charge_cents"], adjustments=[("CO", "11", claim["total_charge_cents"])])
        entry = (await post_x12(tenant, "/v1/remittances", text)).json()["matched"][0]
        assert entry["encounter_status"] == "denied"
        denial = entry["denials"][0]
        assert denial["category"] == "coding"
        queue = (await tenant.get("/v1/denials?work_queue=denials-coding&status=open", "ops")).json()
        assert denial["id"] in [d["id"] for d in queue]
        appeal = await tenant.post(f"/v1/denials/{denial['id']}/appeals", "ops", json={"level": "redetermination", "reason": "The diagnosis is documented and supports the visit."})
        assert appeal.status_code == 201, appeal.text
        duplicate = await tenant.post(f"/v1/denials/{denial['id']}/appeals", "ops", json={"reason": "again please"})
        assert duplicate.status_code == 409
        appeal_id = appeal.json()["id"]
        html = await tenant.get(f"/v1/appeals/{appeal_id}/packet?format=html", "ops")
        assert "type 2 diabetes mellitus with hyperglycemia" in html.text
        pdf = await tenant.get(f"/v1/appeals/{appeal_id}/packet?format=pdf", "ops")
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        decided = await tenant.post(f"/v1/appeals/{appeal_id}/decision", "ops", json={"decision": "overturned", "recovered_cents": 12000})
        assert decided.json()["decision"] == "overturned"
        chart = (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()
        assert chart["status"] == "closed"
        actions = [t["action"] for t in chart["timeline"]]
        for step in ("submit_coding", "start_scrub", "scrub_hard_edits", "scrub_clean", "accept_277ca", "remit_denied", "appeal", "appeal_decision"):
            assert step in actions
        assert (await tenant.get(f"/v1/audit-trail/verify?encounter_id={enc}", "ops")).json()["verified"] is True
        history = (await tenant.get(f"/v1/encounters/{enc}/evidence", "ops")).json()["claim_history"]
        assert [c["control_number"] for c in history["claims"]] == [claim["control_number"]]
        assert history["denials"][0]["carc"] == "11"
        assert history["appeals"][0]["decision"] == "overturned"
        revenue = (await tenant.get("/v1/metrics/revenue", "ops")).json()
        assert revenue["appeal_volume"] == 1
        assert revenue["overturn_rate"] == 1.0
        assert revenue["recovered_cents"] == 12000
        assert revenue["denial_volume_by_root_cause"]["coding"] == 1

    async def test_wrong_tenant_cannot_see_claims_or_denials(self, tenant: Tenant, other_tenant: Tenant) -> None:
        _, claim = await submitted_claim(tenant)
        assert (await other_tenant.get(f"/v1/claims/{claim['id']}", "ops")).status_code == 404
        assert (await other_tenant.get(f"/v1/claims/{claim['id']}/x12", "ops")).status_code == 404
        assert (await tenant.get(f"/v1/claims/{uuid.uuid4()}", "ops")).status_code == 404
        assert (await tenant.get("/v1/claims", "physician")).status_code == 403


class TestRevenueScope:
    async def test_a_vendor_lead_sees_revenue_for_its_vendor_only(self, tenant: Tenant) -> None:
        await submitted_claim(tenant)
        ops = (await tenant.get("/v1/metrics/revenue", "ops")).json()
        assert ops["claims_submitted"] == 1
        assert (await tenant.get("/v1/metrics/revenue", "vendor_lead")).json()["claims_submitted"] == 1
        tenant.tokens["other_lead"] = await admin.create_token(
            tenant.stack.sessions, tenant.stack.settings.secret_key, tenant_id=tenant.id, role="vendor_lead", user_id="lead-2", vendor_id="v2"
        )
        assert (await tenant.get("/v1/metrics/revenue", "other_lead")).json()["claims_submitted"] == 0
