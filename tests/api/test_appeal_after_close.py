"""A denial that arrives after the encounter closed can be appealed and its appeal decided: the
closed encounter records both (timeline, appeal and denial rows, audit chain) and stays closed."""

from tests.api.claim_support import post_x12, remittance_835
from tests.api.test_payer_documents import file_835, paid_and_closed, payment, timeline_actions
from tests.support import Tenant


async def test_a_denial_after_close_is_appealed_and_decided_on_the_closed_encounter(tenant: Tenant) -> None:
    enc, claim, paid = await paid_and_closed(tenant)
    charge = claim["total_charge_cents"]
    # The payer takes the payment back and denies the claim on review (CO-11), months later.
    reversal = file_835(payment(claim["control_number"], status="22", paid=-paid, charge=-charge, pcn="PCN-A", adjustments=[("CO", "45", paid - charge)]))
    assert (await post_x12(tenant, "/v1/remittances", reversal)).json()["matched"][0]["result"] == "applied_after_close"
    denied = await post_x12(tenant, "/v1/remittances", remittance_835(claim["control_number"], paid_cents=0, charge_cents=charge, adjustments=[("CO", "11", charge)]))
    entry = denied.json()["matched"][0]
    assert entry["result"] == "applied_after_close"
    denial = next(d for d in (await tenant.get("/v1/denials", "ops")).json() if d["encounter_id"] == enc)
    assert (denial["status"], denial["appealable"]) == ("open", True)

    filed = await tenant.post(f"/v1/denials/{denial['id']}/appeals", "ops", json={"reason": "the diagnosis supports the procedure"})
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert appeal["status"] == "open"
    assert (await tenant.get(f"/v1/denials/{denial['id']}", "ops")).json()["status"] == "appealed"
    again = await tenant.post(f"/v1/denials/{denial['id']}/appeals", "ops", json={"reason": "again"})
    assert again.status_code == 409

    decided = await tenant.post(f"/v1/appeals/{appeal['id']}/decision", "ops", json={"decision": "overturned", "recovered_cents": charge})
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["decision"], decided.json()["recovered_cents"]) == ("decided", "overturned", charge)
    assert (await tenant.get(f"/v1/denials/{denial['id']}", "ops")).json()["status"] == "closed"
    twice = await tenant.post(f"/v1/appeals/{appeal['id']}/decision", "ops", json={"decision": "upheld", "recovered_cents": 0})
    assert twice.status_code == 409
    assert "already recorded" in twice.json()["detail"]

    actions = await timeline_actions(tenant, enc)
    assert actions[-2:] == ["appeal_after_close", "appeal_decision_after_close"]
    assert (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["status"] == "closed"
    verified = await tenant.get(f"/v1/audit-trail/verify?encounter_id={enc}", "ops")
    assert verified.json()["verified"] is True
