"""QA findings are in the evidence chain: every QA act on a chart (sampled, re-coded, finding
recorded, disputed, reconciled, audit closed, coaching assigned and acknowledged) seals an event on
the chart's QA chain with digests of its QA rows, so a finding changed with SQL as the database
owner makes verify fail naming the chart and the event, over the API and from the operator CLI."""

import argparse
import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text

from clearchart.audit_cli import cmd_audit_verify, register
from clearchart.settings import Settings
from models.encounters.tables import AuditLedgerEntry, QaChainEvent
from tests.api.test_audits import coded_chart, findings_for, recode
from tests.api.test_evidence import printed
from tests.support import Tenant


async def owner_sql(tenant: Tenant, statement: str, *guarded: str, **params: Any) -> int:
    """Change rows as the database owner would (append-only triggers of `guarded` off for it)."""
    assert tenant.stack.admin_sessions is not None
    async with tenant.stack.admin_sessions.begin() as session:
        for table in guarded:
            await session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
        result = await session.execute(text(statement), params)
        for table in guarded:
            await session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def verify(tenant: Tenant, eid: str) -> dict[str, Any]:
    r = await tenant.get("/v1/audit-trail/verify", "auditor", params={"encounter_id": eid})
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def audited_chart(tenant: Tenant) -> tuple[str, str, str]:
    """A chart through a whole audit: re-coded, a finding, disputed, reconciled, closed."""
    enc = await coded_chart(tenant)
    created = await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 3})
    assert created.status_code == 201, created.text
    aid = created.json()["id"]
    assert (await tenant.post(f"/v1/audits/{aid}/charts/{enc}/review", "auditor", json=recode("E11.9", "I10"))).status_code == 201
    recorded = await findings_for(tenant, aid, enc)
    assert recorded.status_code == 201, recorded.text
    fid = recorded.json()[0]["id"]
    disputed = await tenant.post(f"/v1/findings/{fid}/respond", "coder", json={"action": "dispute", "comment": "A1c 9.1 documented"})
    assert disputed.status_code == 200, disputed.text
    reconciled = await tenant.post(f"/v1/findings/{fid}/reconcile", "auditor", json={"outcome": "upheld", "comment": "not stated"})
    assert reconciled.status_code == 200, reconciled.text
    closed = await tenant.post(f"/v1/audits/{aid}/close", "auditor")
    assert closed.status_code == 200, closed.text
    return enc, aid, fid


async def qa_events(tenant: Tenant, enc: str) -> list[str]:
    async with tenant.stack.sessions() as session:
        rows = await session.scalars(select(QaChainEvent.action).where(QaChainEvent.encounter_id == enc).order_by(QaChainEvent.seq))
        return list(rows.all())


class TestFindingsInTheChain:
    async def test_each_qa_act_is_a_sealed_event_and_a_changed_finding_fails_verify(
        self, tenant: Tenant, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        enc, _, fid = await audited_chart(tenant)
        assert await qa_events(tenant, enc) == [
            "qa_sampled", "qa_review_submitted", "qa_findings_recorded", "qa_finding_dispute",
            "qa_finding_reconcile_finalize", "qa_audit_closed",
        ]  # fmt: skip
        async with tenant.stack.sessions() as session:
            ledgered = await session.scalar(
                select(AuditLedgerEntry.event_count).where(AuditLedgerEntry.encounter_id == enc, AuditLedgerEntry.chain == "qa")
                .order_by(AuditLedgerEntry.seq.desc()).limit(1)
            )  # fmt: skip
        assert ledgered == 6
        before = await verify(tenant, enc)
        assert before["verified"] is True, before
        packet = (await tenant.get(f"/v1/encounters/{enc}/evidence", "auditor")).json()
        (shown,) = packet["qa"]["findings"]
        assert (shown["id"], shown["state"], shown["outcome"]) == (fid, "final", "upheld")
        assert shown["rationale"] == "E11.65 needs documented hyperglycemia"
        assert [e["action"] for e in packet["qa"]["events"]][-1] == "qa_audit_closed"
        assert packet["chain"]["verified"] is True
        page = await tenant.get(f"/v1/encounters/{enc}/evidence", "auditor", params={"format": "html"})
        assert "QA findings" in page.text
        assert "needs documented hyperglycemia" in page.text
        assert (await tenant.get("/v1/audit-trail/verify", "auditor", params={"scope": "tenant"})).json()["verified"] is True

        # The auditor's rationale and outcome rewritten with SQL by the database owner.
        assert await owner_sql(tenant, "UPDATE qa_findings SET outcome = 'withdrawn', rationale = 'fine' WHERE id = :f", f=fid) == 1
        after = await verify(tenant, enc)
        assert after["verified"] is False
        brk = after["first_break"]
        assert brk["encounter_id"] == enc
        assert brk["action"] == "qa_audit_closed"
        assert brk["seq"] == 6
        assert "qa_findings (1 changed, 0 removed)" in brk["problem"], brk
        packet = (await tenant.get(f"/v1/encounters/{enc}/evidence", "auditor")).json()
        assert packet["chain"]["verified"] is False  # the packet shows the altered finding, and says so
        assert packet["qa"]["findings"][0]["outcome"] == "withdrawn"
        tenant_wide = (await tenant.get("/v1/audit-trail/verify", "auditor", params={"scope": "tenant"})).json()
        assert tenant_wide["verified"] is False
        assert tenant_wide["first_break"]["encounter_id"] == enc

        # The operator's CLI names the same chart and event.
        parser = argparse.ArgumentParser()
        register(parser.add_subparsers(dest="command"))
        with pytest.raises(SystemExit):
            await asyncio.to_thread(cmd_audit_verify, parser.parse_args(["audit", "verify", "--tenant", tenant.id]), Settings(DATABASE_URL=database_url))
        report = printed(capsys.readouterr().out)
        assert report["verified"] is False
        (mine,) = report["tenants"]
        assert mine["first_break"]["encounter_id"] == enc
        assert mine["first_break"]["action"] == "qa_audit_closed"

    async def test_a_removed_qa_event_or_a_changed_review_is_caught(self, tenant: Tenant) -> None:
        enc, aid, _ = await audited_chart(tenant)
        assert (await verify(tenant, enc))["verified"] is True
        # The auditor's re-coding changed: the review row no longer matches what the chain recorded.
        await owner_sql(
            tenant,
            "UPDATE qa_reviews SET codes = jsonb_set(codes, '{diagnoses,0,code}', '\"E11.65\"') "
            "WHERE audit_chart_id = (SELECT id FROM qa_audit_charts WHERE audit_id = :a AND encounter_id = :e)",
            a=aid, e=enc,
        )  # fmt: skip
        report = await verify(tenant, enc)
        assert report["verified"] is False
        assert "qa_reviews (1 changed, 0 removed)" in report["first_break"]["problem"]

        # Another chart: its last QA event (the close) deleted with the trigger off.
        other, _, _ = await audited_chart(tenant)
        assert (await verify(tenant, other))["verified"] is True
        removed = await owner_sql(
            tenant, "DELETE FROM qa_chain_events WHERE encounter_id = :e AND seq = 6", "qa_chain_events", e=other
        )
        assert removed == 1
        report = await verify(tenant, other)
        assert report["verified"] is False
        assert report["first_break"]["encounter_id"] == other
        assert "events were removed or replaced" in report["first_break"]["problem"]

    async def test_coaching_on_a_finding_is_in_the_chart_chain(self, tenant: Tenant) -> None:
        enc, aid, _ = await audited_chart(tenant)
        ed = await tenant.post("/v1/education", "auditor", json={"coder_id": "coder-1", "category": "specificity", "audit_id": aid, "note": "OCG I.C.4"})
        assert ed.status_code == 201, ed.text
        assert (await tenant.post(f"/v1/education/{ed.json()['id']}/acknowledge", "coder")).status_code == 200
        assert (await qa_events(tenant, enc))[-2:] == ["qa_coaching_assigned", "qa_coaching_acknowledged"]
        assert (await verify(tenant, enc))["verified"] is True
        await owner_sql(tenant, "UPDATE qa_education SET acknowledged_at = NULL WHERE id = :i", i=ed.json()["id"])
        report = await verify(tenant, enc)
        assert report["verified"] is False
        assert report["first_break"]["action"] == "qa_coaching_acknowledged"
        assert "qa_coaching (1 changed, 0 removed)" in report["first_break"]["problem"]
