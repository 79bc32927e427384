"""Every fact the packet shows is in the chain; truncation and keyless rewrites are caught.

Each test changes the database behind the application's back, as someone with direct SQL
access would (the append-only triggers are switched off only inside the tampering transaction,
which this test's superuser connection may do and the application's role may not).
"""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from models.audit_chain import GENESIS, event_hash, hashed_fields
from models.tables import AuditEvent
from tests.api.claim_support import submitted_claim
from tests.api.test_evidence import coded_chart
from tests.support import Tenant

Tamper = Callable[[Tenant, str], Awaitable[None]]


async def sql(tenant: Tenant, statement: str, **params: Any) -> int:
    async with tenant.stack.sessions.begin() as session:
        await session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        await session.execute(text("ALTER TABLE audit_ledger DISABLE TRIGGER audit_ledger_append_only"))
        result = await session.execute(text(statement), params)
        await session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
        await session.execute(text("ALTER TABLE audit_ledger ENABLE TRIGGER audit_ledger_append_only"))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def verify(tenant: Tenant, eid: str) -> dict[str, Any]:
    r = await tenant.get("/v1/audit-trail/verify", "auditor", params={"encounter_id": eid})
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def last_seq(tenant: Tenant, eid: str) -> int:
    async with tenant.stack.sessions() as session:
        return int(await session.scalar(text("SELECT max(seq) FROM audit_events WHERE encounter_id = :e"), {"e": eid}))


CODED: dict[str, tuple[str, str]] = {
    "a diagnosis code": (
        "UPDATE encounters SET codes = jsonb_set(codes, '{diagnoses,0,code}', '\"E11.9\"') WHERE id = :e", "encounter"),
    "a procedure's units": (
        "UPDATE encounters SET codes = jsonb_set(codes, '{procedures,0,units}', '3') WHERE id = :e", "encounter"),
    "an excerpt's offsets": (
        "UPDATE encounters SET codes = jsonb_set(codes, '{diagnoses,0,evidence,0,start}', '0') WHERE id = :e", "encounter"),
    "an excerpt's stored text": (
        "UPDATE text_blobs SET text = 'patient has a broken leg' WHERE sha256 = "
        "(SELECT codes #>> '{diagnoses,0,evidence,0,excerpt_sha256}' FROM encounters WHERE id = :e)", "texts"),
    "a document's hash": ("UPDATE documents SET sha256 = repeat('0', 64) WHERE encounter_id = :e", "documents"),
    "a query's answer": ("UPDATE queries SET option_index = 1 WHERE encounter_id = :e", "queries"),
    "a hold's reason": ("UPDATE holds SET reason = 'other' WHERE encounter_id = :e AND reason = 'authorization_missing'", "holds"),
}  # fmt: skip


class TestFactsInTheChain:
    @pytest.mark.parametrize("change", list(CODED))
    async def test_changing_a_coded_fact_fails_verify_naming_chart_event_and_section(self, tenant: Tenant, change: str) -> None:
        chart = await coded_chart(tenant)
        assert (await verify(tenant, chart["id"]))["verified"] is True
        statement, section = CODED[change]
        assert await sql(tenant, statement, e=chart["id"]) >= 1
        report = await verify(tenant, chart["id"])
        brk = report["first_break"]
        assert report["verified"] is False
        assert (brk["encounter_id"], brk["seq"]) == (chart["id"], await last_seq(tenant, chart["id"]))
        assert section in brk["problem"], brk
        packet = (await tenant.get(f"/v1/encounters/{chart['id']}/evidence", "auditor")).json()
        assert packet["chain"]["verified"] is False

    @pytest.mark.parametrize(
        ("statement", "section"),
        [
            ("UPDATE claims SET lines = jsonb_set(lines, '{0,charge_cents}', '99900') WHERE encounter_id = :e", "claims"),
            ("UPDATE claims SET total_charge_cents = 99900 WHERE encounter_id = :e", "claims"),
            ("UPDATE scrub_runs SET hard_count = 1 WHERE encounter_id = :e", "scrubs"),
        ],
    )
    async def test_changing_a_claim_fact_fails_verify(self, tenant: Tenant, statement: str, section: str) -> None:
        eid, _ = await submitted_claim(tenant)
        assert (await verify(tenant, eid))["verified"] is True
        assert await sql(tenant, statement, e=eid) >= 1
        report = await verify(tenant, eid)
        assert report["verified"] is False
        assert report["first_break"]["encounter_id"] == eid
        assert section in report["first_break"]["problem"]


class TestTruncationAndRewrites:
    async def test_deleting_the_last_event_is_caught_by_the_ledger(self, tenant: Tenant) -> None:
        chart = await coded_chart(tenant)
        n = await last_seq(tenant, chart["id"])
        assert await sql(tenant, "DELETE FROM audit_events WHERE encounter_id = :e AND seq = :s", e=chart["id"], s=n) == 1
        report = await verify(tenant, chart["id"])
        assert report["verified"] is False
        assert f"ledger records {n} events" in report["first_break"]["problem"]

    async def test_deleting_a_whole_chain_is_caught_for_the_chart_and_the_tenant(self, tenant: Tenant) -> None:
        chart = await coded_chart(tenant)
        await sql(tenant, "DELETE FROM audit_events WHERE encounter_id = :e", e=chart["id"])
        report = await verify(tenant, chart["id"])
        assert report["verified"] is False
        assert "none are stored" in report["first_break"]["problem"]
        whole = (await tenant.get("/v1/audit-trail/verify", "ops", params={"scope": "tenant"})).json()
        assert whole["verified"] is False
        assert whole["first_break"]["encounter_id"] == chart["id"]

    async def test_a_rewrite_rehashed_forward_without_the_key_is_caught(self, tenant: Tenant) -> None:
        """The attacker recomputes every hash after the change, plain SHA-256 (the key is not in the database)."""
        chart = await coded_chart(tenant)
        await sql(tenant, "UPDATE audit_events SET reason = 'edited', key_id = NULL WHERE encounter_id = :e AND seq = 2", e=chart["id"])
        report = await verify(tenant, chart["id"])
        assert report["verified"] is False
        assert report["first_break"]["seq"] == 2

    async def test_deleting_a_ledger_entry_breaks_the_ledger(self, tenant: Tenant) -> None:
        chart = await coded_chart(tenant)
        await sql(tenant, "DELETE FROM audit_ledger WHERE tenant_id = :t AND seq = 2", t=tenant.id)
        whole = (await tenant.get("/v1/audit-trail/verify", "ops", params={"scope": "tenant"})).json()
        assert whole["verified"] is False
        assert "ledger entry" in whole["first_break"]["problem"]
        assert chart["id"]

    async def test_a_chain_rewritten_and_rehashed_from_the_start_is_caught_by_the_keyed_ledger(self, tenant: Tenant) -> None:
        """Every event re-hashed as an unkeyed chain links and hashes; only the keyed ledger knows the real head."""
        chart = await coded_chart(tenant)
        async with tenant.stack.sessions() as session:
            rows = (await session.execute(select(AuditEvent).where(AuditEvent.encounter_id == chart["id"]).order_by(AuditEvent.seq))).scalars().all()
        prev = GENESIS
        for ev in rows:
            reason = "edited" if ev.seq == 2 else ev.reason
            fields = hashed_fields(
                encounter_id=chart["id"], seq=ev.seq, actor=ev.actor, role=ev.role, vendor=ev.vendor, action=ev.action,
                before=ev.before, after=ev.after, reason=reason, occurred_at=ev.occurred_at, facts=ev.facts,
            )  # fmt: skip
            digest = event_hash(prev, fields)
            await sql(
                tenant, "UPDATE audit_events SET reason = :r, key_id = NULL, prev_hash = :p, hash = :h WHERE id = :i",
                r=reason, p=prev, h=digest, i=ev.id,
            )  # fmt: skip
            prev = digest
        report = await verify(tenant, chart["id"])
        assert report["verified"] is False
        assert "events were removed or replaced" in report["first_break"]["problem"]
