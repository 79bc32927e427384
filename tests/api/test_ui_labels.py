"""What the UI shows a person: ranked, paged code search; metric definitions beside the figures."""

import re

import httpx

from tests.support import Tenant


async def _signed_in(client: httpx.AsyncClient, tenant: Tenant, who: str) -> None:
    form = await client.get("/ui")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert nonce
    assert (await client.post("/ui/login", data={"token": tenant.tokens[who], "csrf": nonce[1]})).status_code == 303


class TestCodeSearch:
    async def test_a_category_lists_its_closest_codes_first_in_pages(self, tenant: Tenant) -> None:
        async with httpx.AsyncClient(base_url=tenant.stack.url, timeout=30) as client:
            await _signed_in(client, tenant, "coder")
            first = (await client.get("/ui/codes", params={"q": "E11.6"})).json()
            codes = [h["code"] for h in first["items"]]
            assert codes[0] == "E11.6"
            assert "E11.65" in codes
            assert first["next_offset"] == len(codes)
            second = (await client.get("/ui/codes", params={"q": "E11.6", "offset": first["next_offset"]})).json()
            assert second["items"]
            assert not {h["code"] for h in second["items"]} & set(codes)
            words = (await client.get("/ui/codes", params={"q": "diabetes hyperglycemia"})).json()
            assert any(h["code"] == "E11.65" for h in words["items"])


class TestMetricDefinitions:
    async def test_each_dashboard_figure_carries_its_definition(self, tenant: Tenant) -> None:
        async with httpx.AsyncClient(base_url=tenant.stack.url, timeout=30) as client:
            await _signed_in(client, tenant, "ops")
            page = (await client.get("/ui/dashboard")).text
        figures = set(re.findall(r'data-kpi="([a-z_]+)"', page))
        defined = set(re.findall(r'data-definition="([a-z_]+)"', page))
        assert figures
        assert figures <= defined, figures - defined
        assert "Soft edits do not count against it" in page

    async def test_each_computed_column_of_the_dashboard_tables_carries_its_definition(self, tenant: Tenant) -> None:
        async with httpx.AsyncClient(base_url=tenant.stack.url, timeout=30) as client:
            await _signed_in(client, tenant, "ops")
            page = (await client.get("/ui/dashboard")).text
        titled = {label: title for title, label in re.findall(r'<th scope="col"(?: title="([^"]*)")?>([^<]+)</th>', page)}
        assert titled
        for label in ("Oldest ready", "Past alert age", "Median turnaround", "Query response", "Code accuracy", "Audit pass rate", "Coding denials"):
            assert titled.get(label), f"{label!r} has no definition on hover"


class TestNames:
    async def test_an_encounter_page_names_its_specialty(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        async with httpx.AsyncClient(base_url=tenant.stack.url, timeout=30) as client:
            await _signed_in(client, tenant, "ops")
            page = (await client.get(f"/ui/encounters/{enc['id']}")).text
        assert '<dd data-testid="specialty">General medicine</dd>' in page
