"""Chart reads through actions: an API action that answers with the chart, and a web form that
re-renders the chart page, are in the access log; answers without the chart are not."""

import re
from typing import Any

import httpx

from tests.api.claim_support import CLEAN_CODING, claimed, coding
from tests.api.test_access_log import log_of
from tests.support import Tenant


async def signed_in(tenant: Tenant, who: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=tenant.stack.url, timeout=30)
    nonce = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/ui")).text)
    assert nonce
    assert (await client.post("/ui/login", data={"token": tenant.tokens[who], "csrf": nonce[1]})).status_code == 303
    csrf = re.search(r'data-csrf="([^"]+)"', (await client.get("/ui/home", follow_redirects=True)).text)
    assert csrf
    return client, csrf[1]


def posts(rows: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(r["path"], r["action"], r["status"]) for r in reversed(rows) if r["method"] == "POST"]


class TestReadsThroughActions:
    async def test_api_actions_answering_with_the_chart_are_logged_and_an_empty_claim_is_not(self, tenant: Tenant) -> None:
        eid, doc = await claimed(tenant)
        assert (await tenant.post("/v1/queues/q1/claim", "coder")).status_code == 204  # nothing left to lease
        coded = await tenant.post(f"/v1/encounters/{eid}/coding", "coder", json=coding(doc, CLEAN_CODING))
        assert coded.status_code == 200, coded.text
        rows = await log_of(tenant)
        assert posts(rows) == [
            ("/v1/queues/q1/claim", "encounter.read", 200),
            (f"/v1/encounters/{eid}/coding", "encounter.read", 200),
        ]
        assert [r["encounter_id"] for r in rows if r["path"].endswith("/coding")] == [eid]

    async def test_a_form_post_that_re_renders_the_chart_is_logged_and_a_json_answer_is_not(self, tenant: Tenant) -> None:
        eid, doc = await claimed(tenant)
        ui, csrf = await signed_in(tenant, "coder")
        try:
            rendered = await ui.post(
                f"/ui/work/{eid}/scrub/acknowledge", data={"rule": "x", "line_index": "", "reason": "", "csrf": csrf}
            )
            assert rendered.status_code == 200, rendered.text
            assert "data-document-id" in rendered.text  # the chart, with its note, came back
            answered = await ui.post(f"/ui/work/{eid}/coding", json=coding(doc, CLEAN_CODING), headers={"X-CSRF-Token": csrf})
            assert answered.status_code == 200, answered.text
            assert "next" in answered.json()
        finally:
            await ui.aclose()
        ui_posts = [p for p in posts(await log_of(tenant)) if p[0].startswith("/ui/")]
        assert ui_posts == [(f"/ui/work/{eid}/scrub/acknowledge", "encounter.read", 200)]

    async def test_query_reads_quote_the_note_and_are_logged(self, tenant: Tenant) -> None:
        assert (await tenant.get("/v1/queries", "physician")).status_code == 200
        rows = [(r["path"], r["action"], r["role"]) for r in await log_of(tenant)]
        assert ("/v1/queries", "queries.read", "physician") in rows
