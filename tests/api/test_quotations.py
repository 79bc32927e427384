"""Every excerpt is a verified quotation: refused when the note does not say it, stored with its
offsets when it does, and shown in its context in the evidence packet and the workspace."""

import re
from typing import Any

import httpx
from sqlalchemy import select

from models.encounters.tables import Document
from tests.support import Tenant


async def claimed(tenant: Tenant) -> tuple[str, str, str]:
    enc = await tenant.new_encounter()
    chart = (await tenant.post("/v1/queues/q1/claim", "coder")).json()
    assert chart["id"] == enc["id"]
    doc = chart["documents"][0]["id"]
    async with tenant.stack.sessions() as session:
        note = await session.scalar(select(Document.text).where(Document.id == doc))
    assert note
    return chart["id"], doc, note


async def signed_in(tenant: Tenant, who: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=tenant.stack.url, timeout=30)
    nonce = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/ui")).text)
    assert nonce
    assert (await client.post("/ui/login", data={"token": tenant.tokens[who], "csrf": nonce[1]})).status_code == 303
    return client


def coding(doc: str, dx_excerpt: str, **extra: Any) -> dict[str, Any]:
    return {
        "diagnoses": [{"code": "E11.65", "evidence": [{"document_id": doc, "excerpt": dx_excerpt, **extra}]}],
        "procedures": [{"code": "99214", "pointers": [1], "evidence": [{"document_id": doc, "excerpt": "follow-up"}]}],
    }


class TestCitedExcerpts:
    async def test_an_excerpt_the_note_does_not_contain_is_refused_and_nothing_changes(self, tenant: Tenant) -> None:
        eid, doc, _ = await claimed(tenant)
        before = (await tenant.get(f"/v1/encounters/{eid}", "ops")).json()
        r = await tenant.post(f"/v1/encounters/{eid}/coding", "coder", json=coding(doc, "patient has a broken leg"))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert "E11.65" in problem["detail"]
        assert "patient has a broken leg" in problem["detail"]
        (err,) = [e for e in problem["errors"] if e["rule"] == "evidence.excerpt_not_in_document"]
        assert (err["path"], err["code"]) == ("diagnoses[0].evidence[0].excerpt", "E11.65")
        after = (await tenant.get(f"/v1/encounters/{eid}", "ops")).json()
        assert (after["status"], after["codes"], after["timeline"]) == ("in_coding", None, before["timeline"])

    async def test_a_quote_with_different_line_breaks_is_stored_with_its_offsets(self, tenant: Tenant) -> None:
        eid, doc, note = await claimed(tenant)
        r = await tenant.post(
            f"/v1/encounters/{eid}/coding", "coder", json=coding(doc, "type 2 diabetes   mellitus\nwith hyperglycemia")
        )
        assert r.status_code == 200, r.text
        (ev,) = r.json()["codes"]["diagnoses"][0]["evidence"]
        assert note[ev["start"] : ev["end"]] == "type 2 diabetes mellitus with hyperglycemia"
        assert ev["start"] == note.index("type 2 diabetes mellitus with hyperglycemia")

    async def test_the_selection_hint_picks_which_occurrence_is_cited(self, tenant: Tenant) -> None:
        eid, doc, note = await claimed(tenant)
        second = note.index("essential hypertension", note.index("essential hypertension") + 1)
        r = await tenant.post(f"/v1/encounters/{eid}/coding", "coder", json=coding(doc, "essential hypertension", near=second))
        assert r.status_code == 200, r.text
        assert r.json()["codes"]["diagnoses"][0]["evidence"][0]["start"] == second

    async def test_the_packet_shows_each_quote_in_context_with_offsets_and_the_document_hash(self, tenant: Tenant) -> None:
        eid, doc, note = await claimed(tenant)
        assert (await tenant.post(f"/v1/encounters/{eid}/coding", "coder", json=coding(doc, "HbA1c 7.9%"))).status_code == 200
        packet = (await tenant.get(f"/v1/encounters/{eid}/evidence", "auditor")).json()
        (s,) = packet["codes"]["diagnoses"][0]["support"]
        at = note.index("HbA1c 7.9%")
        assert (s["start"], s["end"], s["quote_verified"]) == (at, at + len("HbA1c 7.9%"), True)
        assert s["document_sha256"] == packet["documents"][0]["sha256"]
        assert s["context"]["quote"] == "HbA1c 7.9%"
        assert note[:at].endswith(s["context"]["before"])
        assert s["context"]["before"]
        assert note[at + 10 :].startswith(s["context"]["after"])
        assert s["context"]["after"]
        html = (await tenant.get(f"/v1/encounters/{eid}/evidence", "auditor", params={"format": "html"})).text
        assert "<mark>HbA1c 7.9%</mark>" in html
        assert f"characters {at}–{at + 10}" in html
        assert "quote verified" in html

    async def test_the_workspace_highlights_what_the_coding_cites(self, tenant: Tenant) -> None:
        eid, doc, _ = await claimed(tenant)
        bad = coding(doc, "HbA1c 7.9%")
        bad["procedures"][0]["modifiers"] = ["9Z"]  # refused: nothing cited yet
        assert (await tenant.post(f"/v1/encounters/{eid}/coding", "coder", json=bad)).status_code == 422
        ui = await signed_in(tenant, "coder")
        try:
            page = await ui.get(f"/ui/work/{eid}")
            assert page.status_code == 200, page.text
            assert "data-document-id" in page.text
            assert '<mark class="cited"' not in page.text
            assert (await tenant.post(f"/v1/encounters/{eid}/coding", "coder", json=coding(doc, "HbA1c 7.9%"))).status_code == 200
            work = await ui.get(f"/ui/work/{eid}")
        finally:
            await ui.aclose()
        assert work.status_code == 200, work.text
        assert '<mark class="cited" title="cited as evidence">HbA1c 7.9%</mark>' in work.text
        assert '<mark class="cited" title="cited as evidence">follow-up</mark>' in work.text
