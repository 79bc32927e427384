"""Helpers for claim-stage tests: code a chart to a submitted claim, and payer files for it."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from integrations.billing.remittance import Adjustment, ClaimPayment, LinePayment, Payee, Remittance
from integrations.billing.schemas import Interchange
from integrations.billing.x277ca import ClaimAck
from integrations.billing.x277ca_writer import build_277ca
from integrations.billing.x835_writer import build_835
from tests.support import Tenant, eventually

CLEAN_CODING = {
    "diagnoses": [{"code": "E11.65", "evidence": [{"document_id": "DOC", "excerpt": "type 2 diabetes mellitus with hyperglycemia"}]}],
    "procedures": [{"code": "99214", "pointers": [1], "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]}],
}


def coding(doc: str, body: dict[str, Any] = CLEAN_CODING) -> dict[str, Any]:
    def fill(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**x, "evidence": [{**e, "document_id": doc} for e in x["evidence"]]} for x in items]

    return {"diagnoses": fill(body["diagnoses"]), "procedures": fill(body["procedures"])}


async def claimed(tenant: Tenant) -> tuple[str, str]:
    enc = await tenant.new_encounter()
    chart = (await tenant.post("/v1/queues/q1/claim", "coder")).json()
    assert chart["id"] == enc["id"]
    return chart["id"], chart["documents"][0]["id"]


async def submitted_claim(tenant: Tenant) -> tuple[str, dict[str, Any]]:
    """A chart coded cleanly and billed; returns (encounter id, claim)."""
    enc, doc = await claimed(tenant)
    coded = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc))
    assert coded.status_code == 200, coded.text
    assert coded.json()["scrub"]["clean"] is True
    await eventually(lambda: tenant.get(f"/v1/encounters/{enc}", "ops"), until=lambda r: r.json()["status"] == "submitted")
    # Queued for its batch first; out once the clearinghouse gave the batch a receipt (a short window).
    sent = await eventually(lambda: tenant.get(f"/v1/claims?encounter_id={enc}", "ops"), until=lambda r: r.json()[0]["submission_id"] is not None)
    claims = sent.json()
    assert len(claims) == 1
    return enc, claims[0]


def interchange(n: int = 7) -> Interchange:
    return Interchange("PAYER", "CLEARCHART", n, datetime.now(UTC))


def ack_277ca(control_number: str, *, accepted: bool) -> str:
    ack = ClaimAck(
        claim_control_number=control_number,
        accepted=accepted,
        status_category="A2" if accepted else "A7",
        status_code="20" if accepted else "562",
        entity="85" if not accepted else "",
        status_date=datetime.now(UTC).date(),
        free_text="" if accepted else "Entity's National Provider Identifier (NPI) invalid",
        charge_cents=15000,
        service_date=datetime.now(UTC).date(),
    )
    return build_277ca([ack], interchange(), payer_name="SANDBOX PAYER", payer_id="SANDBOX", provider_name="SANDBOX CLINIC",
                       provider_npi="1234567893", batch_reference="B1")


def remittance_835(control_number: str, *, paid_cents: int, charge_cents: int, adjustments: list[tuple[str, str, int]], remarks: list[str] | None = None) -> str:
    adj = [Adjustment(g, c, a) for g, c, a in adjustments]
    line = LinePayment("99214", charge_cents, paid_cents, Decimal(1), datetime.now(UTC).date(), [], adj, remarks or [])
    claim = ClaimPayment(control_number, "4" if paid_cents == 0 else "1", charge_cents, paid_cents, 0, "PCN1", "MB", lines=[line])
    remittance = Remittance("MEDICARE PART B", "MEDICARE", Payee("SANDBOX CLINIC", "1234567893"), "TRACE1", datetime.now(UTC).date(), paid_cents, [claim])
    return build_835(remittance, interchange())


async def post_x12(tenant: Tenant, path: str, text: str, who: str = "integrator") -> httpx.Response:
    headers = {"content-type": "application/edi-x12", **tenant.auth(who)}
    return await tenant.http.post(f"{tenant.stack.url}{path}", content=text, headers=headers)
