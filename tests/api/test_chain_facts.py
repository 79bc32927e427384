"""Every fact the packet shows is in the chain; truncation and keyless rewrites are caught.

Each test changes the database behind the application's back, as someone with direct SQL
access would (the append-only triggers are switched off only inside the tampering transaction,
which this test's superuser connection may do and the application's role may not).
"""

import argparse
import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from clearchart.audit_cli import cmd_audit_checkpoint, cmd_audit_verify, register
from clearchart.settings import Settings
from models.encounters.tables import AuditEvent
from models.evidence.chain import GENESIS, event_hash, hashed_fields
from tests.api.claim_support import submitted_claim
from tests.api.test_evidence import coded_chart, printed
from tests.support import Tenant, eventually

Tamper = Callable[[Tenant, str], Awaitable[None]]


async def sql(tenant: Tenant, statement: str, **params: Any) -> int:
    assert tenant.stack.admin_sessions is not None
    async with tenant.stack.admin_sessions.begin() as session:
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


async def settled_chart(tenant: Tenant) -> dict[str, Any]:
    """A coded chart whose claim stage has finished writing: a change made now is not re-attested."""
    chart = await coded_chart(tenant)
    await eventually(lambda: tenant.get(f"/v1/encounters/{chart['id']}", "ops"), until=lambda r: r.json()["status"] == "submitted")
    return chart


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
        chart = await settled_chart(tenant)
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
        chart = await settled_chart(tenant)
        n = await last_seq(tenant, chart["id"])
        assert await sql(tenant, "DELETE FROM audit_events WHERE encounter_id = :e AND seq = :s", e=chart["id"], s=n) == 1
        report = await verify(tenant, chart["id"])
        assert report["verified"] is False
        assert f"ledger records {n} events" in report["first_break"]["problem"]

    async def test_deleting_a_whole_chain_is_caught_for_the_chart_and_the_tenant(self, tenant: Tenant) -> None:
        chart = await settled_chart(tenant)
        await sql(tenant, "DELETE FROM audit_events WHERE encounter_id = :e", e=chart["id"])
        report = await verify(tenant, chart["id"])
        assert report["verified"] is False
        assert "none are stored" in report["first_break"]["problem"]
        whole = (await tenant.get("/v1/audit-trail/verify", "ops", params={"scope": "tenant"})).json()
        assert whole["verified"] is False
        assert whole["first_break"]["encounter_id"] == chart["id"]

    async def test_a_rewrite_rehashed_forward_without_the_key_is_caught(self, tenant: Tenant) -> None:
        """The attacker recomputes every hash after the change, plain SHA-256 (the key is not in the database)."""
        chart = await settled_chart(tenant)
        await sql(tenant, "UPDATE audit_events SET reason = 'edited', key_id = NULL WHERE encounter_id = :e AND seq = 2", e=chart["id"])
        report = await verify(tenant, chart["id"])
        assert report["verified"] is False
        assert report["first_break"]["seq"] == 2

    async def test_deleting_a_ledger_entry_breaks_the_ledger(self, tenant: Tenant) -> None:
        chart = await settled_chart(tenant)
        await sql(tenant, "DELETE FROM audit_ledger WHERE tenant_id = :t AND seq = 2", t=tenant.id)
        whole = (await tenant.get("/v1/audit-trail/verify", "ops", params={"scope": "tenant"})).json()
        assert whole["verified"] is False
        assert "ledger entry" in whole["first_break"]["problem"]
        assert chart["id"]

    async def test_a_chain_rewritten_and_rehashed_from_the_start_is_caught_by_the_keyed_ledger(self, tenant: Tenant) -> None:
        """Every event re-hashed as an unkeyed chain links and hashes; only the keyed ledger knows the real head."""
        chart = await settled_chart(tenant)
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


class TestCheckpointCli:
    async def test_a_signed_checkpoint_later_proves_the_ledger_was_truncated(
        self, tenant: Tenant, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chart = await settled_chart(tenant)
        parser = argparse.ArgumentParser()
        register(parser.add_subparsers(dest="command"))
        settings = Settings(DATABASE_URL=database_url)
        out = tmp_path / "checkpoint.json"
        await asyncio.to_thread(cmd_audit_checkpoint, parser.parse_args(["audit", "checkpoint", "--tenant", tenant.id, "--out", str(out)]), settings)
        signed = json.loads(out.read_text())
        (tip,) = signed["tenants"]
        assert tip["tenant_id"] == tenant.id
        assert tip["ledger_seq"] >= await last_seq(tenant, chart["id"])
        verify_args = parser.parse_args(["audit", "verify", "--tenant", tenant.id, "--against", str(out)])
        await asyncio.to_thread(cmd_audit_verify, verify_args, settings)
        assert printed(capsys.readouterr().out)["checkpoint"]["holds"] is True
        # The last event and its ledger entry removed together: chain and ledger agree, the checkpoint does not.
        n = await last_seq(tenant, chart["id"])
        await sql(tenant, "DELETE FROM audit_events WHERE encounter_id = :e AND seq = :s", e=chart["id"], s=n)
        await sql(tenant, "DELETE FROM audit_ledger WHERE tenant_id = :t AND seq = :s", t=tenant.id, s=tip["ledger_seq"])
        with pytest.raises(SystemExit):
            await asyncio.to_thread(cmd_audit_verify, verify_args, settings)
        report = printed(capsys.readouterr().out)
        assert report["checkpoint"]["holds"] is False
        # "truncated", or "rewritten" when the still-running workflow appended a new entry at that number
        assert re.search(r"ledger entry \d+ signed at .* (truncated|rewritten)", report["checkpoint"]["problems"][0]["problem"])
        forged = {**signed, "tenants": [{**tip, "ledger_seq": tip["ledger_seq"] - 1}]}
        out.write_text(json.dumps(forged))
        with pytest.raises(SystemExit):
            await asyncio.to_thread(cmd_audit_verify, verify_args, settings)
        assert "signature does not verify" in printed(capsys.readouterr().out)["checkpoint"]["problems"][0]["problem"]


class TestApplicationRole:
    @pytest.mark.parametrize(
        "statement",
        [
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
            "SET LOCAL session_replication_role = replica",
            "UPDATE audit_events SET reason = 'x' WHERE seq = 1",
            "DELETE FROM audit_ledger",
            "ALTER TABLE encounters ADD COLUMN extra int",
        ],
    )
    async def test_the_application_cannot_switch_off_or_bypass_the_guards(self, tenant: Tenant, statement: str) -> None:
        await coded_chart(tenant)
        with pytest.raises(DBAPIError) as refused:
            async with tenant.stack.sessions.begin() as session:
                await session.execute(text(statement))
        assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value)

    async def test_the_application_role_owns_nothing_and_is_no_superuser(self, tenant: Tenant) -> None:
        async with tenant.stack.sessions() as session:
            me, superuser = (await session.execute(text("SELECT current_user, usesuper FROM pg_user WHERE usename = current_user"))).one()
            owned = await session.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"))
        assert str(me).endswith("_app")
        assert superuser is False
        assert owned == 0
