"""Payer documents whatever the encounter's state: late, reversed, unmatched, unbalanced, and the
remittance-exceptions work queue that keeps whatever cannot be applied yet."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete

from clearchart.billing_poller import handle_file
from integrations.billing.client import InboundFile
from integrations.billing.remittance import (
    Adjustment,
    ClaimPayment,
    LinePayment,
    Payee,
    ProviderAdjustment,
    Remittance,
)
from integrations.billing.x835_writer import build_835
from models.claims.poller_tables import PollerStatus
from services import billing_intake
from services.remittance_exceptions import retry_open
from tests.api.claim_support import (
    ack_277ca,
    interchange,
    post_x12,
    remittance_835,
    submitted_claim,
)
from tests.support import LiveStack, Tenant, eventually

PUBLIC = Path(__file__).parent.parent / "fixtures" / "x12-public"


def payment(control_number: str, *, status: str, paid: int, charge: int, pcn: str, adjustments: list[tuple[str, str, int]] = ()) -> ClaimPayment:  # type: ignore[assignment]
    adj = [Adjustment(g, c, a) for g, c, a in adjustments]
    line = LinePayment("99214", charge, paid, Decimal(1), datetime.now(UTC).date(), [], adj, [])
    return ClaimPayment(control_number, status, charge, paid, 0, pcn, "MB", lines=[line])


def file_835(*claims: ClaimPayment, plb: list[ProviderAdjustment] | None = None, trace: str = "T1") -> str:
    paid = sum(c.paid_cents for c in claims) - sum(a.amount_cents for a in plb or [])
    remittance = Remittance("MEDICARE PART B", "MEDICARE", Payee("SANDBOX CLINIC", "1234567893"), trace, datetime.now(UTC).date(),
                            paid, list(claims), plb or [])  # fmt: skip
    return build_835(remittance, interchange())


async def paid_and_closed(tenant: Tenant) -> tuple[str, dict, int]:  # type: ignore[type-arg]
    enc, claim = await submitted_claim(tenant)
    charge, paid = claim["total_charge_cents"], claim["total_charge_cents"] * 4 // 5
    text = file_835(payment(claim["control_number"], status="1", paid=paid, charge=charge, pcn="PCN-A", adjustments=[("CO", "45", charge - paid)]))
    entry = (await post_x12(tenant, "/v1/remittances", text)).json()["matched"][0]
    assert (entry["result"], entry["encounter_status"]) == ("applied", "closed")
    return enc, claim, paid


async def timeline_actions(tenant: Tenant, enc: str) -> list[str]:
    return [e["action"] for e in (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["timeline"]]


async def test_late_277ca_reversal_and_correction_for_a_closed_chart_are_all_recorded(tenant: Tenant) -> None:
    enc, claim, paid = await paid_and_closed(tenant)
    charge = claim["total_charge_cents"]

    late = (await post_x12(tenant, "/v1/acknowledgments", ack_277ca(claim["control_number"], accepted=True))).json()
    assert late["matched"][0]["result"] == "applied_after_close"

    reversal = file_835(payment(claim["control_number"], status="22", paid=-paid, charge=-charge, pcn="PCN-A", adjustments=[("CO", "45", paid - charge)]))
    answer = await post_x12(tenant, "/v1/remittances", reversal)
    assert answer.status_code == 200, answer.text
    assert answer.json()["matched"][0]["result"] == "applied_after_close"
    assert answer.json()["matched"][0]["outcome"] == "reversed"
    stored = (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()
    assert (stored["paid_cents"], stored["status"]) == (0, "reversed")

    corrected = file_835(payment(claim["control_number"], status="1", paid=paid - 500, charge=charge, pcn="PCN-B", adjustments=[("CO", "45", charge - paid + 500)]))
    assert (await post_x12(tenant, "/v1/remittances", corrected)).json()["matched"][0]["result"] == "applied_after_close"
    stored = (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()
    assert (stored["paid_cents"], stored["status"]) == (paid - 500, "paid")

    again = await post_x12(tenant, "/v1/remittances", reversal)  # the same bytes: the stored answer, nothing doubled
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()["paid_cents"] == paid - 500
    actions = await timeline_actions(tenant, enc)
    assert actions.count("payment_after_close") == 2
    assert "acknowledgment_after_close" in actions
    assert (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["status"] == "closed"
    verified = await tenant.get(f"/v1/audit-trail/verify?encounter_id={enc}", "ops")
    assert verified.status_code == 200, verified.text
    assert (verified.json()["verified"], verified.json()["events_checked"]) == (True, 10)


async def test_a_file_mixing_a_closed_and_an_open_claim_applies_both(tenant: Tenant) -> None:
    _enc, closed, paid = await paid_and_closed(tenant)
    enc2, open_claim = await submitted_claim(tenant)
    charge = open_claim["total_charge_cents"]
    text = file_835(
        payment(closed["control_number"], status="2", paid=700, charge=closed["total_charge_cents"], pcn="SEC-1"),
        payment(open_claim["control_number"], status="1", paid=charge, charge=charge, pcn="PCN-2"),
    )
    answer = await post_x12(tenant, "/v1/remittances", text)
    assert answer.status_code == 200, answer.text
    assert [m["result"] for m in answer.json()["matched"]] == ["applied_after_close", "applied"]
    assert (await tenant.get(f"/v1/claims/{closed['id']}", "ops")).json()["paid_cents"] == paid + 700
    assert (await tenant.get(f"/v1/encounters/{enc2}", "ops")).json()["status"] == "closed"


async def test_a_payment_the_claim_cannot_take_waits_and_applies_when_the_chart_closes(live: LiveStack, tenant: Tenant) -> None:
    enc, claim = await submitted_claim(tenant)
    charge = claim["total_charge_cents"]
    denied = await post_x12(tenant, "/v1/remittances", remittance_835(claim["control_number"], paid_cents=0, charge_cents=charge, adjustments=[("CO", "11", charge)]))
    denial = denied.json()["matched"][0]["denials"][0]
    reprocessed = file_835(payment(claim["control_number"], status="1", paid=charge, charge=charge, pcn="REPROC"))
    entry = (await post_x12(tenant, "/v1/remittances", reprocessed)).json()["matched"][0]
    assert (entry["result"], entry["exception"]) == ("exception", "not_applicable")

    queue = (await tenant.get("/v1/remittance-exceptions", "ops")).json()
    waiting = next(e for e in queue if e["claim_id"] == claim["id"])
    assert waiting["reason"] == "not_applicable"
    assert (await tenant.post(f"/v1/remittance-exceptions/{waiting['id']}/resolve", "ops", json={"action": "apply"})).status_code == 409

    assert await retry_open(live.sessions, live.temporal, live.settings.task_queue) == 0  # nothing changed yet
    written_off = await tenant.post(f"/v1/denials/{denial['id']}/write-off", "ops", json={"reason": "payer reprocessing the claim"})
    assert written_off.status_code == 200, written_off.text
    await eventually(lambda: retry_open(live.sessions, live.temporal, live.settings.task_queue), until=lambda n: n >= 1)
    done = (await tenant.get("/v1/remittance-exceptions?status=applied", "ops")).json()
    assert any(e["id"] == waiting["id"] and e["resolved_by"] == "system" for e in done)
    assert (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()["paid_cents"] == charge
    assert "payment_after_close" in await timeline_actions(tenant, enc)


async def test_an_unmatched_payment_is_linked_to_its_claim_by_a_person(tenant: Tenant, other_tenant: Tenant) -> None:
    enc, claim = await submitted_claim(tenant)
    charge = claim["total_charge_cents"]
    answer = (await post_x12(tenant, "/v1/remittances", file_835(payment("TYPO-" + claim["control_number"][:10], status="1", paid=charge, charge=charge, pcn="L1")))).json()
    assert answer["unmatched"][0]["result"] == "unmatched"
    waiting = next(e for e in (await tenant.get("/v1/remittance-exceptions", "ops")).json() if e["reason"] == "unknown_claim" and e["payment_id"] == answer["unmatched"][0]["payment_id"])

    assert (await tenant.get("/v1/remittance-exceptions", "coder")).status_code == 403
    assert (await other_tenant.post(f"/v1/remittance-exceptions/{waiting['id']}/resolve", "ops", json={"action": "dismiss", "reason": "x"})).status_code == 404
    missing = await tenant.post(f"/v1/remittance-exceptions/{waiting['id']}/resolve", "ops", json={"action": "dismiss"})
    assert missing.status_code == 422

    linked = await tenant.post(f"/v1/remittance-exceptions/{waiting['id']}/resolve", "ops", json={"action": "link", "claim_id": claim["id"]})
    assert linked.status_code == 200, linked.text
    assert (linked.json()["status"], linked.json()["resolved_by"]) == ("applied", "ops-user") or linked.json()["status"] == "applied"
    assert (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["status"] == "closed"
    again = await tenant.post(f"/v1/remittance-exceptions/{waiting['id']}/resolve", "ops", json={"action": "apply"})
    assert again.status_code == 409


async def test_an_unbalanced_payment_is_reported_and_queued(tenant: Tenant) -> None:
    balanced = file_835(payment("NOBODY-1", status="1", paid=1000, charge=2000, pcn="X"), trace="UNBAL1")
    text = re.sub(r"BPR\*(\w+)\*[\d.]+\*", r"BPR*\1*9*", balanced, count=1)  # BPR02 no longer matches
    assert text != balanced
    answer = (await post_x12(tenant, "/v1/remittances", text)).json()
    assert answer["balance"] == [{"trace_number": "UNBAL1", "bpr02_cents": 900, "claims_cents": 1000, "plb_cents": 0, "difference_cents": -100, "balanced": False}]
    queue = (await tenant.get("/v1/remittance-exceptions", "ops")).json()
    finding = next(e for e in queue if e["reason"] == "balance_mismatch" and e["control_number"] == "UNBAL1")
    refused = await tenant.post(f"/v1/remittance-exceptions/{finding['id']}/resolve", "ops", json={"action": "apply"})
    assert refused.status_code == 409
    dismissed = await tenant.post(f"/v1/remittance-exceptions/{finding['id']}/resolve", "ops", json={"action": "dismiss", "reason": "bank deposit matches 9.00; payer error"})
    assert dismissed.json()["status"] == "dismissed"


async def test_a_predetermination_is_recorded_not_denied(tenant: Tenant) -> None:
    enc, claim = await submitted_claim(tenant)
    charge = claim["total_charge_cents"]
    entry = (await post_x12(tenant, "/v1/remittances", file_835(payment(claim["control_number"], status="25", paid=0, charge=charge, pcn="PRE")))).json()["matched"][0]
    assert (entry["outcome"], entry["result"], entry["denials"]) == ("predetermination", "recorded", [])
    assert (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["status"] == "submitted"


async def test_public_files_are_read_or_refused_naming_the_version(tenant: Tenant) -> None:
    answer = await post_x12(tenant, "/v1/remittances", (PUBLIC / "835_edi835parser_sample.txt").read_text())
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["unmatched"]) == 6
    assert answer.json()["balance"] == []
    x212 = await post_x12(tenant, "/v1/acknowledgments", (PUBLIC / "277_imsweb_x212.txt").read_text())
    assert x212.status_code == 422
    assert "005010X212" in x212.json()["detail"]
    rejected = (PUBLIC / "277CA_imsweb_rejected.txt").read_text()
    assert (await post_x12(tenant, "/v1/acknowledgments", "\ufeff" + rejected)).status_code == 200


async def test_readyz_reports_a_failing_poller_as_degraded(live: LiveStack, tenant: Tenant) -> None:
    source = f"test-{tenant.id}"
    async with live.sessions.begin() as s:
        s.add(PollerStatus(source=source, last_attempt_at=datetime.now(UTC), consecutive_failures=4, last_error="clearinghouse: 503", files_failed=0))
    try:
        ready = (await tenant.http.get(f"{live.url}/readyz")).json()
        assert ready["status"] == "degraded"
        assert any(source in reason and "503" in reason for reason in ready["degraded"])
    finally:
        async with live.sessions.begin() as s:
            await s.execute(delete(PollerStatus).where(PollerStatus.source == source))


async def test_the_poller_keeps_an_unreadable_file_and_moves_on(live: LiveStack, tenant: Tenant) -> None:
    _enc, closed, _paid = await paid_and_closed(tenant)
    source = f"test-dead-{tenant.id}"
    bad = await handle_file(live.sessions, live.temporal, source, InboundFile("000000000001", "835", "ISA*this is not x12~"), live.settings.task_queue)
    late = await handle_file(live.sessions, live.temporal, source, InboundFile("000000000002", "277CA", ack_277ca(closed["control_number"], accepted=True)),
                             live.settings.task_queue)  # fmt: skip
    assert bad["status"] == "refused"
    assert late["status"] == "applied"
    assert late["results"][tenant.id][0]["matched"][0]["result"] == "applied_after_close"
    letters = (await tenant.get("/v1/dead-letters", "ops")).json()
    kept = next(d for d in letters if d["source"] == source)
    assert (kept["file_id"], kept["status"], kept["body"]) == ("000000000001", "refused", None)  # no tenant: no body shown
    assert "ISA" in kept["detail"]
    page = await tenant.get("/v1/dead-letters?format=html", "ops")
    assert "000000000001" in page.text
    assert (await tenant.get("/v1/dead-letters", "coder")).status_code == 403


async def test_a_large_835_is_matched_in_batches(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(billing_intake, "LOOKUP_BATCH", 2)
    _enc, claim = await submitted_claim(tenant)
    charge = claim["total_charge_cents"]
    strays = [payment(f"STRAY-{n}-{tenant.id}"[:20], status="1", paid=100, charge=200, pcn=f"S{n}") for n in range(4)]
    answer = (await post_x12(tenant, "/v1/remittances", file_835(*strays, payment(claim["control_number"], status="1", paid=charge, charge=charge, pcn="BIG")))).json()
    assert [m["control_number"] for m in answer["matched"]] == [claim["control_number"]]
    assert len(answer["unmatched"]) == 4


async def test_the_same_payment_in_another_file_is_queued_as_a_duplicate(tenant: Tenant) -> None:
    _enc, claim, paid = await paid_and_closed(tenant)
    charge = claim["total_charge_cents"]
    again = file_835(payment(claim["control_number"], status="1", paid=paid, charge=charge, pcn="PCN-A", adjustments=[("CO", "45", charge - paid)]), trace="RESENT")
    entry = (await post_x12(tenant, "/v1/remittances", again)).json()["matched"][0]
    assert (entry["result"], entry["exception"]) == ("exception", "duplicate")
    assert (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()["paid_cents"] == paid  # not paid twice
    assert any(e["reason"] == "duplicate" and e["claim_id"] == claim["id"] for e in (await tenant.get("/v1/remittance-exceptions", "ops")).json())
