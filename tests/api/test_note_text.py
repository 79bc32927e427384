"""Note text through the API and the UI: for those entitled, recorded in the access log, long notes cut."""

import base64
import re
import uuid
from typing import Any

import httpx

from integrations.sandbox.bundles import synthetic_bundle
from models.encounters.note_access import DISPLAY_LIMIT
from tests.api.claim_support import submitted_claim
from tests.support import Tenant


def _with_long_note(chars: int) -> tuple[dict[str, Any], str]:
    key = uuid.uuid4().hex[:10]
    bundle = synthetic_bundle(encounter_id=f"long-{key}", patient_id=f"pt-{key}")
    text = ("Assessment: type 2 diabetes mellitus with hyperglycemia. " * (chars // 56 + 1))[:chars]
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "DocumentReference":
            entry["resource"]["content"][0]["attachment"]["data"] = base64.b64encode(text.encode()).decode()
    return bundle, text


class TestNoteText:
    async def test_the_coder_holding_the_lease_reads_the_note_and_the_read_is_logged(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        claimed = await tenant.post("/v1/queues/q1/claim", "coder")
        assert claimed.json()["id"] == enc["id"]
        chart = (await tenant.get(f"/v1/encounters/{enc['id']}", "coder")).json()
        doc = chart["documents"][0]
        assert "hyperglycemia" in doc["text"]
        assert doc["text_truncated"] is False
        log = (await tenant.get("/v1/access-log", "admin", params={"encounter_id": enc["id"], "user": "coder-1"})).json()
        entries = log["items"]
        assert any(e["action"] == "encounter.read" and e["outcome"] == "allowed" for e in entries), entries

    async def test_operations_and_auditors_read_it_other_roles_do_not(self, tenant: Tenant) -> None:
        coded, _ = await submitted_claim(tenant)  # auditors see coded charts
        assert (await tenant.get(f"/v1/encounters/{coded}", "auditor")).json()["documents"][0]["text"]
        enc = await tenant.new_encounter()
        for who in ("ops", "admin"):
            chart = (await tenant.get(f"/v1/encounters/{enc['id']}", who)).json()
            assert chart["documents"][0]["text"], who
        assert (await tenant.post("/v1/queues/q1/claim", "coder")).json()["id"] == enc["id"]
        lead = await tenant.get(f"/v1/encounters/{enc['id']}", "vendor_lead")
        assert lead.status_code == 200  # a lead sees its vendor's charts, not their notes
        assert lead.json()["documents"][0]["text"] is None
        doc = lead.json()["documents"][0]["id"]
        refused = await tenant.get(f"/v1/encounters/{enc['id']}/documents/{doc}/content", "vendor_lead")
        assert refused.status_code == 403

    async def test_a_coder_whose_lease_ended_no_longer_reads_it(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        assert (await tenant.post("/v1/queues/q1/claim", "coder")).json()["id"] == enc["id"]
        assert (await tenant.post(f"/v1/encounters/{enc['id']}/release", "coder")).status_code == 200
        after = await tenant.get(f"/v1/encounters/{enc['id']}", "coder")
        assert after.status_code == 404 or after.json()["documents"][0]["text"] is None

    async def test_another_tenant_cannot_read_it(self, tenant: Tenant, other_tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        doc = (await tenant.get(f"/v1/encounters/{enc['id']}", "ops")).json()["documents"][0]["id"]
        assert (await other_tenant.get(f"/v1/encounters/{enc['id']}/documents/{doc}/content", "ops")).status_code == 404


class TestLongNotes:
    async def test_a_long_note_is_cut_at_the_display_limit_with_a_download_of_the_whole(self, tenant: Tenant) -> None:
        bundle, text = _with_long_note(DISPLAY_LIMIT + 5_000)
        answer = await tenant.push(bundle)
        assert answer.status_code == 202, answer.text
        enc = answer.json()["encounters"][0]["id"]
        doc = (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["documents"][0]
        assert len(doc["text"]) == DISPLAY_LIMIT
        assert doc["text_truncated"] is True
        assert doc["text_length"] == len(text)
        whole = await tenant.get(doc["content_url"], "ops")
        assert whole.status_code == 200
        assert whole.text == text
        assert "attachment" in whole.headers["content-disposition"]

    async def test_the_chart_page_shows_the_cut_note_and_links_the_download(self, tenant: Tenant) -> None:
        bundle, text = _with_long_note(DISPLAY_LIMIT + 5_000)
        enc = (await tenant.push(bundle)).json()["encounters"][0]["id"]
        assert (await tenant.post("/v1/queues/q1/claim", "coder")).json()["id"] == enc
        async with httpx.AsyncClient(base_url=tenant.stack.url, timeout=30) as client:
            form = await client.get("/ui")
            nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert nonce
            assert (await client.post("/ui/login", data={"token": tenant.tokens["coder"], "csrf": nonce[1]})).status_code == 303
            page = await client.get(f"/ui/work/{enc}")
            assert page.status_code == 200
            assert 'data-testid="note-truncated"' in page.text
            link = re.search(r'href="(/ui/encounters/[^"]+/documents/[^"]+)"', page.text)
            assert link
            assert len(page.text) < DISPLAY_LIMIT + 60_000
            download = await client.get(link[1])
            assert download.status_code == 200
            assert download.text == text
