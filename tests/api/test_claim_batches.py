"""Claims go out in batches per tenant and payer, through the sandbox clearinghouse over HTTP;
its 999 and TA1 come back through the poller and are applied to every claim of the batch."""

import uuid
from functools import partial
from typing import Any

import httpx
from sqlalchemy import select, update

from clearchart.billing_poller import poll_once
from integrations.billing.segments import tokenize
from models.claims.batch_tables import ClaimBatch
from models.encounters.tables import Tenant as TenantRow
from tests.api.claim_support import claimed, coding
from tests.api.test_billing_poller import start_at_newest
from tests.support import LiveStack, Tenant, eventually


async def batches_of_two(tenant: Tenant) -> None:
    """A long window and a size of two: the second claim cuts the batch, deterministically."""
    async with tenant.stack.sessions.begin() as s:
        row = await s.get_one(TenantRow, tenant.id)
        await s.execute(update(TenantRow).where(TenantRow.id == tenant.id).values(
            settings={**row.settings, "claim_batch_seconds": 600, "claim_batch_size": 2}))  # fmt: skip


async def code_one(tenant: Tenant) -> tuple[str, dict[str, Any]]:
    enc, doc = await claimed(tenant)
    assert (await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc))).status_code == 200
    found = await eventually(lambda: tenant.get(f"/v1/claims?encounter_id={enc}", "ops"), until=lambda r: len(r.json()) == 1 and r.json()[0]["status"] == "submitted")
    return enc, found.json()[0]


async def script(live: LiveStack, http: httpx.AsyncClient, control_number: str, body: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {live.settings.clearinghouse_api_key}"}
    answer = await http.put(f"{live.settings.clearinghouse}/v1/scripts/{control_number}", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


async def sent_together(tenant: Tenant, encounters: list[str]) -> list[dict[str, Any]]:
    claims = []
    for enc in encounters:
        url = f"/v1/claims?encounter_id={enc}"
        got = await eventually(partial(tenant.get, url, "ops"), until=lambda r: r.json()[0]["submission_id"] is not None)
        claims.append(got.json()[0])
    assert len({c["batch_id"] for c in claims}) == 1
    assert [c["transaction_control"] for c in claims] == ["0001", "0002"]
    return claims


async def chart(tenant: Tenant, enc: str) -> dict[str, Any]:
    return (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()  # type: ignore[no-any-return]


async def test_two_claims_go_in_one_interchange_and_a_999_rejecting_one_set_reworks_only_that_claim(
    live: LiveStack, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    await start_at_newest(live, http)
    await batches_of_two(tenant)
    first, claim = await code_one(tenant)
    assert claim["submission_id"] is None
    assert claim["batch_id"] is None
    await script(live, http, claim["control_number"], {"syntax_reject": "CLM"})
    second, _ = await code_one(tenant)
    claims = await sent_together(tenant, [first, second])
    async with live.sessions() as s:
        batch = await s.get_one(ClaimBatch, uuid.UUID(claims[0]["batch_id"]))
    ids = [seg.id for seg in tokenize(batch.x12)]
    assert (ids.count("ISA"), ids.count("GS"), ids.count("ST"), ids.count("CLM")) == (1, 1, 2, 2)
    assert batch.claim_count == 2
    assert batch.status == "sent"

    handled = await poll_once(live.settings, live.sessions, live.temporal, http)
    ack = next(h for h in handled if h["kind"] == "999" and tenant.id in h["tenants"])
    assert ack["status"] == "applied"
    rejected = await chart(tenant, first)
    assert rejected["status"] == "in_coding"
    assert "999 rejected transaction set 0001" in rejected["timeline"][-1]["reason"]
    assert "IK3 CLM" in rejected["timeline"][-1]["reason"]
    assert (await chart(tenant, second))["status"] == "closed"  # its 277CA and 835 came in the same poll
    stored = {c["control_number"]: c for c in (await tenant.get("/v1/claims", "ops")).json()}
    assert stored[claims[0]["control_number"]]["syntax_ack"] == "rejected"
    assert stored[claims[0]["control_number"]]["status"] == "rejected"
    assert stored[claims[1]["control_number"]]["syntax_ack"] == "accepted"
    kinds = {h["kind"] for h in handled if tenant.id in h["tenants"]}
    assert kinds == {"999", "277CA", "835"}
    async with live.sessions() as s:
        assert (await s.scalar(select(ClaimBatch.status).where(ClaimBatch.id == batch.id))) == "partial"
    for enc in (first, second):  # batch bookkeeping on the claim rows leaves the attested facts intact
        verified = await tenant.get(f"/v1/audit-trail/verify?encounter_id={enc}", "ops")
        assert verified.json()["verified"] is True, verified.text


async def test_a_ta1_rejecting_the_interchange_sends_every_claim_of_the_batch_back_to_rework(
    live: LiveStack, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    await start_at_newest(live, http)
    await batches_of_two(tenant)
    first, claim = await code_one(tenant)
    await script(live, http, claim["control_number"], {"envelope_reject": "024"})
    second, _ = await code_one(tenant)
    await sent_together(tenant, [first, second])

    handled = await poll_once(live.settings, live.sessions, live.temporal, http)
    mine = [h for h in handled if tenant.id in h["tenants"]]
    assert [h["kind"] for h in mine] == ["TA1"]  # nothing of the interchange went further
    for enc in (first, second):
        back = await chart(tenant, enc)
        assert back["status"] == "in_coding"
        assert "TA1 R 024: invalid interchange content" in back["timeline"][-1]["reason"]
    assert all(c["status"] == "rejected" and not c["filed"] for c in (await tenant.get("/v1/claims", "ops")).json())
    assert (await tenant.get("/v1/audit-trail/verify", "ops")).json()["verified"] is True
