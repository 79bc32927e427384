"""The clearinghouse poller against the live stack's sandbox clearinghouse: routing and idempotency."""

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from clearchart.billing_poller import POLLER_LOCK, handle_file, poll_once
from integrations.billing.client import HttpClearinghouse, InboundFile
from integrations.billing.x277ca import ClaimAck
from integrations.billing.x277ca_writer import build_277ca
from models.claims.poller_tables import ClearinghouseFile
from models.claims.tables import InboundFile as StoredFile
from models.claims.tables import PaymentRow
from tests.api.claim_support import interchange, submitted_claim
from tests.support import LiveStack, Tenant


async def start_at_newest(live: LiveStack, http: httpx.AsyncClient) -> None:
    """The sandbox mailbox is shared by the whole session: skip what earlier tests left in it."""
    settings = live.settings
    files = await HttpClearinghouse(http, settings.clearinghouse, settings.clearinghouse_api_key).fetch_responses()
    if files:
        row = {"source": settings.clearinghouse, "file_id": files[-1].id, "kind": files[-1].kind, "status": "skipped", "tenants": []}
        async with live.sessions.begin() as s:
            await s.execute(insert(ClearinghouseFile).values(**row).on_conflict_do_nothing())


def accepted(control_number: str) -> ClaimAck:
    return ClaimAck(control_number, True, "A2", "20", "", datetime.now(UTC).date(), charge_cents=15000)


def file_277ca(*numbers: str) -> str:
    return build_277ca([accepted(n) for n in numbers], interchange(), payer_name="PAYER", payer_id="PAYER",
                       provider_name="SANDBOX CLINIC", provider_npi="1234567893", batch_reference="B1")  # fmt: skip


async def stored_bodies(tenant: Tenant, kind: str) -> list[str]:
    async with tenant.stack.sessions() as s:
        found = await s.scalars(select(StoredFile.body).where(StoredFile.tenant_id == tenant.id, StoredFile.kind == kind))
        return list(found.all())


async def test_one_poll_brings_the_277ca_and_835_back_and_closes_the_paid_chart(
    live: LiveStack, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    await start_at_newest(live, http)
    enc, claim = await submitted_claim(tenant)
    handled = await poll_once(live.settings, live.sessions, live.temporal, http)
    by_kind = {h["kind"]: h for h in handled}
    assert set(by_kind) == {"999", "277CA", "835"}
    assert by_kind["999"]["status"] == "applied"  # the batch's 999 accepted the claim's transaction set
    assert by_kind["999"]["results"]["claims"] == [{"control_number": claim["control_number"], "accepted": True, "result": "acknowledged"}]
    for kind in ("277CA", "835"):
        assert by_kind[kind]["status"] == "applied"
        assert by_kind[kind]["tenants"] == [tenant.id]
    remit = by_kind["835"]["results"][tenant.id][0]["matched"][0]
    assert remit["outcome"] == "paid"
    assert remit["encounter_status"] == "closed"
    chart = (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()
    assert chart["status"] == "closed"
    stored = (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()
    assert stored["paid_cents"] == claim["total_charge_cents"] * 4 // 5  # the sandbox allows 80%
    assert stored["syntax_ack"] == "accepted"
    assert stored["transaction_control"] == "0001"

    assert await poll_once(live.settings, live.sessions, live.temporal, http) == []
    # Even with the cursor lost, the same files apply once: the intake answers them from storage.
    async with live.sessions.begin() as s:
        await s.execute(delete(ClearinghouseFile).where(ClearinghouseFile.file_id.in_([h["file_id"] for h in handled])))
    again = await poll_once(live.settings, live.sessions, live.temporal, http)
    assert [h["file_id"] for h in again] == [h["file_id"] for h in handled]
    async with live.sessions() as s:
        payments = await s.scalar(select(func.count()).select_from(PaymentRow).where(PaymentRow.claim_id == uuid.UUID(claim["id"])))
    assert payments == 1
    assert len(await stored_bodies(tenant, "835")) == 1
    assert (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["status"] == "closed"


async def test_a_file_spanning_tenants_is_split_so_each_stores_only_its_claims(
    live: LiveStack, tenant: Tenant, other_tenant: Tenant
) -> None:
    _, mine = await submitted_claim(tenant)
    _, theirs = await submitted_claim(other_tenant)
    text = file_277ca(mine["control_number"], theirs["control_number"], "CCUNKNOWN000001")
    done = await handle_file(live.sessions, live.temporal, "test-split", InboundFile("split-1", "277CA", text))
    assert done["status"] == "split"
    assert done["tenants"] == sorted([tenant.id, other_tenant.id])
    assert "CCUNKNOWN000001" in done["detail"]
    for who, claim, other in ((tenant, mine, theirs), (other_tenant, theirs, mine)):
        assert (await who.get(f"/v1/claims/{claim['id']}", "ops")).json()["status"] == "accepted"
        [body] = await stored_bodies(who, "277CA")
        assert claim["control_number"] in body
        assert other["control_number"] not in body
        assert "CCUNKNOWN000001" not in body


async def test_files_no_tenant_owns_or_nobody_can_read_are_kept_for_a_person(live: LiveStack) -> None:
    unknown = await handle_file(live.sessions, live.temporal, "test-keep", InboundFile("k-1", "277CA", file_277ca("CCNOBODY0000001")))
    garbage = await handle_file(live.sessions, live.temporal, "test-keep", InboundFile("k-2", "835", "ISA*garbage~"))
    assert unknown["status"] == "unrouted"
    assert garbage["status"] == "refused"
    assert "835" in garbage["detail"]
    async with live.sessions() as s:
        kept = dict((await s.execute(select(ClearinghouseFile.file_id, ClearinghouseFile.body).where(ClearinghouseFile.source == "test-keep"))).all())
    assert set(kept) == {"k-1", "k-2"}
    assert "CCNOBODY0000001" in (kept["k-1"] or "")
    assert kept["k-2"] == "ISA*garbage~"


async def test_a_second_poller_skips_its_turn_while_another_holds_the_lock(live: LiveStack, tenant: Tenant, http: httpx.AsyncClient) -> None:
    await submitted_claim(tenant)
    async with live.sessions() as other:
        assert await other.scalar(select(func.pg_try_advisory_lock(POLLER_LOCK)))
        assert await poll_once(live.settings, live.sessions, live.temporal, http) == []
        await other.execute(select(func.pg_advisory_unlock(POLLER_LOCK)))
    handled = await poll_once(live.settings, live.sessions, live.temporal, http)
    assert any(h["kind"] in ("277CA", "835") for h in handled)
