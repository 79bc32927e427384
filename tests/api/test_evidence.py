"""The evidence packet over real HTTP (JSON, HTML, PDF) and verification of the audit chain."""

import argparse
import asyncio
import json
import re
import zlib
from typing import Any

import pytest
from sqlalchemy import select, text

from clearchart.audit_cli import cmd_audit_verify, register, verify_report
from clearchart.keys import chain_keyring
from clearchart.settings import Settings
from models.encounters.tables import Document
from tests.support import Tenant, eventually

NPI = "1234567893"
QUESTION = "Based on the indicators, which condition is being monitored and treated?"
OPTIONS = ["Type 2 diabetes mellitus with hyperglycemia", "Type 2 diabetes mellitus without complications", "Other (please specify)", "Clinically undetermined"]


async def coded_chart(tenant: Tenant) -> dict[str, Any]:
    """Claim, hold and release, query and answer, then code: every section of the packet filled."""
    enc = await tenant.new_encounter()
    chart = (await tenant.post("/v1/queues/q1/claim", "coder")).json()
    assert chart["id"] == enc["id"]
    eid, doc = chart["id"], chart["documents"][0]["id"]
    held = await tenant.post(f"/v1/encounters/{eid}/holds", "coder", json={"reason": "authorization_missing", "note": "no auth"})
    assert held.status_code == 201, held.text
    released = await tenant.post(f"/v1/holds/{held.json()['holds'][0]['id']}/release", "ops", json={})
    assert released.status_code == 200, released.text
    query = {"physician_npi": NPI, "question": QUESTION, "form": "multiple_choice", "options": OPTIONS,
             "indicators": [{"document_id": doc, "excerpt": "HbA1c 7.9%"}]}
    raised = await tenant.post(f"/v1/encounters/{eid}/queries", "coder", json=query)
    assert raised.status_code == 201, raised.text
    answered = await tenant.post(f"/v1/queries/{raised.json()['id']}/answer", "physician", json={"option_index": 0})
    assert answered.status_code == 200, answered.text
    coding = {
        "diagnoses": [{"code": "E11.65", "evidence": [{"document_id": doc, "excerpt": "HbA1c 7.9%"}]}],
        "procedures": [{"code": "99214", "pointers": [1], "evidence": [{"document_id": doc, "excerpt": "follow-up"}]}],
    }
    coded = await tenant.post(f"/v1/encounters/{eid}/coding", "coder", json=coding)
    assert coded.status_code == 200, coded.text
    # Billing goes on after the answer (queued for a batch): read packets of a settled chain.
    await eventually(lambda: tenant.get(f"/v1/encounters/{eid}", "ops"), until=lambda r: r.json()["status"] == "submitted")
    return {"id": eid, "doc": doc, "query_id": raised.json()["id"]}


async def note_text(tenant: Tenant, eid: str) -> str:
    async with tenant.stack.sessions() as session:
        found = await session.scalar(select(Document.text).where(Document.encounter_id == eid))
    assert found
    assert len(found) > 40
    return found


async def tamper(tenant: Tenant, eid: str, seq: int) -> None:
    """Change a stored event behind the application's back (the trigger is off only in this transaction)."""
    assert tenant.stack.admin_sessions is not None
    async with tenant.stack.admin_sessions.begin() as session:
        await session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        changed = await session.execute(
            text("UPDATE audit_events SET after = after || '{\"status\": \"closed\"}' WHERE encounter_id = :e AND seq = :s"),
            {"e": eid, "s": seq},
        )
        assert changed.rowcount == 1  # type: ignore[attr-defined]
        await session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


def pdf_text(body: bytes) -> str:
    """The text drawn on the pages (fpdf2 deflates each content stream)."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            out.append(stream.decode("latin-1"))
    return "".join(out)


def printed(out: str) -> dict[str, Any]:
    """The report the command printed (log lines may share the captured stream)."""
    report, _ = json.JSONDecoder().raw_decode(out, out.index('{\n  "checked_at"'))
    assert isinstance(report, dict)
    return report


class TestEvidencePacket:
    async def test_the_json_packet_answers_why_the_chart_was_coded_this_way(self, tenant: Tenant) -> None:
        chart = await coded_chart(tenant)
        r = await tenant.get(f"/v1/encounters/{chart['id']}/evidence", "auditor")
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        p = r.json()
        (doc,) = p["documents"]
        assert doc["id"] == chart["doc"]
        assert doc["version"] == 1
        assert re.fullmatch(r"[0-9a-f]{64}", doc["sha256"])
        assert doc["received_at"]
        assert doc["before_final_coding"] is True
        assert await note_text(tenant, chart["id"]) not in r.text  # hashes and excerpts, never the note
        dx = p["codes"]["diagnoses"][0]
        assert (dx["code"], dx["support"][0]["excerpt"], dx["support"][0]["document_id"]) == ("E11.65", "HbA1c 7.9%", chart["doc"])
        assert p["codes"]["procedures"][0]["support"][0]["excerpt"] == "follow-up"
        (q,) = p["queries"]
        assert (q["id"], q["question"], q["answer_option"], q["answered_by"]) == (chart["query_id"], QUESTION, OPTIONS[0], "dr-1")
        assert q["indicators"] == [{"document_id": chart["doc"], "excerpt": "HbA1c 7.9%"}]
        reasons = {h["reason"]: h for h in p["holds"]}
        assert set(reasons) == {"authorization_missing", "awaiting_query_response"}
        assert all(not h["open"] and h["duration_seconds"] >= 0 and h["released_at"] for h in p["holds"])
        history = p["claim_history"]
        assert set(history) == {"activity", "note", "scrubs", "claims", "denials", "appeals"}
        if not history["activity"]:  # until the claims stage plugs in its ClaimHistory source
            assert history["note"] == "no claim activity yet"
        actors = p["actors"]
        assert actors["first_coder"]["user"] == actors["last_saver"]["user"] == "coder-1"
        assert actors["first_coder"]["claimed_at"] <= actors["first_coder"]["coded_at"]
        assert [x["user"] for x in actors["physicians"]] == ["dr-1"]
        assert p["chain"]["verified"] is True
        assert p["chain"]["head"] == p["events"][-1]["hash"]
        assert p["chain"]["events_checked"] == len(p["events"])
        assert list(p)[-1] == "chain"
        assert p["access_reason"] is None

    async def test_the_printable_html_shows_excerpts_and_the_verdict_without_scripts_or_the_note(self, tenant: Tenant) -> None:
        chart = await coded_chart(tenant)
        r = await tenant.get(f"/v1/encounters/{chart['id']}/evidence", "ops", params={"format": "html", "reason": "payer <audit>"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        page = r.text
        for expected in ("HbA1c 7.9%", "E11.65", "99214", "dr-1", "coder-1", "verify passes", "Scrub edits, claims, denials and appeals", "@media print", "payer &lt;audit&gt;"):
            assert expected in page, expected
        head = (await tenant.get(f"/v1/encounters/{chart['id']}/evidence", "ops")).json()["chain"]["head"]
        assert head in page
        assert "<script" not in page.lower()
        assert not re.search(r"""(src|href)=["']?https?:""", page)  # no external assets
        assert await note_text(tenant, chart["id"]) not in page

    async def test_the_pdf_renders_even_with_text_a_core_font_cannot_show(self, tenant: Tenant) -> None:
        chart = await coded_chart(tenant)
        r = await tenant.get(
            f"/v1/encounters/{chart['id']}/evidence", "ops", params={"format": "pdf", "reason": "QA ✓ — 患者 review"}
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF-")
        drawn = pdf_text(r.content)
        assert "HbA1c 7.9%" in drawn
        assert "verify PASSES" in drawn
        assert "QA ? - ?? review" in drawn

    async def test_an_unknown_format_is_refused_with_a_problem(self, tenant: Tenant) -> None:
        chart = await coded_chart(tenant)
        r = await tenant.get(f"/v1/encounters/{chart['id']}/evidence", "ops", params={"format": "docx"})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert "format" in r.json()["detail"]


class TestVerify:
    async def test_an_altered_event_is_named_by_chart_tenant_and_packet(self, tenant: Tenant) -> None:
        chart = await coded_chart(tenant)
        other = await tenant.new_encounter()
        await tamper(tenant, chart["id"], 3)
        one = (await tenant.get("/v1/audit-trail/verify", "auditor", params={"encounter_id": chart["id"], "scope": "chart"})).json()
        assert (one["verified"], one["scope"], one["head"]) == (False, "chart", None)
        assert (one["first_break"]["seq"], one["first_break"]["action"]) == (3, "place_hold")
        assert "content" in one["first_break"]["problem"]
        whole = (await tenant.get("/v1/audit-trail/verify", "ops", params={"scope": "tenant"})).json()
        assert (whole["verified"], whole["broken_encounters"], whole["encounters_checked"]) == (False, 1, 2)
        assert (whole["first_break"]["encounter_id"], whole["first_break"]["seq"]) == (chart["id"], 3)
        clean = (await tenant.get("/v1/audit-trail/verify", "ops", params={"encounter_id": other["id"]})).json()
        assert clean["verified"] is True
        assert clean["head"]
        packet = await tenant.get(f"/v1/encounters/{chart['id']}/evidence", "ops", params={"format": "html"})
        assert "verify FAILS" in packet.text
        assert "at event 3" in packet.text

    @pytest.mark.parametrize(
        ("params", "says"),
        [({"scope": "all"}, "clearchart audit verify"), ({"scope": "chart"}, "needs encounter_id"), ({"scope": "tenant", "encounter_id": "E"}, "scope=chart")],
    )
    async def test_scopes_that_do_not_fit_are_refused_with_what_to_do(self, tenant: Tenant, params: dict[str, str], says: str) -> None:
        enc = await tenant.new_encounter()
        params = {k: enc["id"] if v == "E" else v for k, v in params.items()}
        r = await tenant.get("/v1/audit-trail/verify", "ops", params=params)
        assert r.status_code == 422
        assert says in r.json()["detail"]


class TestOperatorCli:
    async def test_audit_verify_exits_nonzero_and_names_the_break(self, tenant: Tenant, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        chart = await coded_chart(tenant)
        parser = argparse.ArgumentParser()
        register(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["audit", "verify", "--tenant", tenant.id])
        assert args.func is cmd_audit_verify
        settings = Settings(DATABASE_URL=database_url)
        await asyncio.to_thread(cmd_audit_verify, args, settings)
        assert printed(capsys.readouterr().out)["verified"] is True
        await tamper(tenant, chart["id"], 2)
        with pytest.raises(SystemExit) as exited:
            await asyncio.to_thread(cmd_audit_verify, args, settings)
        assert exited.value.code == 1
        (only,) = printed(capsys.readouterr().out)["tenants"]
        assert (only["tenant_id"], only["first_break"]["encounter_id"], only["first_break"]["seq"]) == (tenant.id, chart["id"], 2)
        everything = await verify_report(tenant.stack.sessions, None, chain_keyring(settings))
        assert tenant.id in {t["tenant_id"] for t in everything["tenants"]}
        assert everything["verified"] is False
