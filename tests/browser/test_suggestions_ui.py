"""Code suggestions in the coder workspace, in a real browser: highlighted beside the note,
rejected with one click, accepted into the coding form with their excerpt, submitted by the coder."""

import re
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import OpenUi
from tests.support import Tenant, eventually


class TestSuggestionsInTheWorkspace:
    async def test_accept_fills_the_form_reject_is_recorded_and_only_the_coder_submits(
        self, tenant: Tenant, open_ui: OpenUi
    ) -> None:
        chart = await tenant.new_encounter()

        async def suggested() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (await tenant.get(f"/v1/encounters/{chart['id']}/suggestions", "ops")).json()
            return found

        await eventually(suggested, until=bool, within=180)
        coder = await open_ui("coder")
        page = coder.page
        await page.get_by_role("button", name="Claim next chart from Queue One").click()
        await expect(page).to_have_url(re.compile(f"/ui/work/{chart['id']}$"))
        panel = page.get_by_test_id("suggestions")
        await expect(panel.locator("li[data-code='E11.65']")).to_be_visible()
        assert await page.evaluate("CSS.highlights.get('cac').size") >= 2  # spans marked in the note
        await coder.shot("1-suggestions")

        await page.get_by_role("button", name=re.compile(r"^Reject I10 ")).click()
        await expect(panel.locator("li[data-code='I10'] [data-testid=suggestion-state]")).to_have_text("rejected")
        await page.get_by_role("button", name=re.compile(r"^Accept E11\.65 ")).click()
        await expect(panel.locator("li[data-code='E11.65'] [data-testid=suggestion-state]")).to_have_text("accepted")
        await expect(page.get_by_label("Diagnosis 1 code")).to_have_value("E11.65")
        await expect(page.locator("#dx-list .chips li")).to_contain_text("diabetes mellitus with hyperglycemia")
        await expect(page.get_by_test_id("state")).to_have_text("in coding")  # accepting never submits
        await coder.shot("2-accepted")

        await page.get_by_role("button", name="Submit coding").click()
        await expect(page).to_have_url(re.compile(r"scrub="))
        packet = (await tenant.get(f"/v1/encounters/{chart['id']}/evidence", "ops")).json()
        [dx] = packet["codes"]["diagnoses"]
        assert (dx["code"], dx["source"]) == ("E11.65", "suggestion")
        assert "hyperglycemia" in dx["support"][0]["excerpt"]
        states = {s["code"]: s["status"] for s in await suggested()}
        assert (states["E11.65"], states["I10"]) == ("accepted", "rejected")
