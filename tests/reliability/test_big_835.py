"""A large 835 of payments no claim matches: every payment is kept, listed as unmatched and
queued as an exception, in batches (not a transaction per payment), and a redelivery of the same
file changes nothing."""

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from integrations.billing.remittance import Adjustment, ClaimPayment, LinePayment, Payee, Remittance
from integrations.billing.schemas import Interchange
from integrations.billing.x835_writer import build_835
from models.claims.remittance_tables import RemittanceException
from models.claims.tables import PaymentRow
from services.billing_intake import UNMATCHED_BATCH
from tests.support import Tenant

CLAIMS = UNMATCHED_BATCH * 2 + 37  # over two batches and a remainder


def _file(count: int) -> str:
    claims = [
        ClaimPayment(
            claim_control_number=f"NOTOURS{n:08d}", status_code="1", charge_cents=15000, paid_cents=12000,
            patient_responsibility_cents=0, payer_claim_number=f"PCN{n:08d}", filing_indicator="12",
            patient_member_id=f"M{n:08d}", patient_last_name="DOE", patient_first_name="JANE",
            lines=[LinePayment("99214", 15000, 12000, Decimal(1), date(2026, 11, 2), [], [Adjustment("CO", "45", 3000)])],
        )
        for n in range(count)
    ]
    remittance = Remittance(
        payer_name="BIG PLAN", payer_id="1999999999", payee=Payee("CLINIC", "1234567893"), trace_number="EFTBIG1",
        payment_date=date(2026, 12, 1), total_paid_cents=sum(c.paid_cents for c in claims), claims=claims, payment_method="ACH",
    )  # fmt: skip
    return build_835(remittance, Interchange("BIGPAYER", "CLEARCHART", 41, datetime.now(UTC)))


async def test_every_unmatched_payment_of_a_large_file_is_kept_and_queued(tenant: Tenant) -> None:
    text = _file(CLAIMS)
    headers = {**tenant.auth("integrator"), "content-type": "application/edi-x12"}
    answer = await tenant.http.post(f"{tenant.stack.url}/v1/remittances", content=text, headers=headers, timeout=300)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["matched"] == []
    assert len(result["unmatched"]) == CLAIMS
    assert len({u["payment_id"] for u in result["unmatched"]}) == CLAIMS
    assert result["total_paid_cents"] == 12000 * CLAIMS

    async def counts() -> tuple[int, int]:
        async with tenant.stack.sessions() as session:
            payments = await session.scalar(select(func.count()).where(PaymentRow.tenant_id == tenant.id))
            queued = await session.scalar(
                select(func.count()).where(RemittanceException.tenant_id == tenant.id, RemittanceException.reason == "unknown_claim")
            )
        return payments or 0, queued or 0

    assert await counts() == (CLAIMS, CLAIMS)
    again = await tenant.http.post(f"{tenant.stack.url}/v1/remittances", content=text, headers=headers, timeout=300)
    assert again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == result
    assert await counts() == (CLAIMS, CLAIMS), "a redelivery stores nothing twice"
    listed = await tenant.get("/v1/remittance-exceptions", "ops", params={"limit": 500})
    assert listed.status_code == 200, listed.text
    assert len(listed.json()) == min(CLAIMS, 500)
    assert {e["reason"] for e in listed.json()} == {"unknown_claim"}
