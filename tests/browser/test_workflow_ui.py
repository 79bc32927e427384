"""The whole story in a browser: a coder claims, codes wrongly, queries; the physician answers;
the coder completes through a hard scrub edit; the payer denies and ops works the appeal; the
dashboard moves and drills down; the auditor reviews the evidence, audits the chart blind and
records a finding the coder disputes and the auditor reconciles; the report opens."""

import re

from playwright.async_api import expect

from tests.browser import steps
from tests.browser.conftest import TABLET, OpenUi, Ui
from tests.browser.steps import select_in_document
from tests.support import Tenant

INDICATOR = "HbA1c 7.9%"
QUESTION = "Based on your clinical judgment, please clarify the type of diabetes being treated."


async def kpi(ui: Ui, key: str) -> str:
    return (await ui.page.locator(f'[data-kpi="{key}"]').inner_text()).strip()


async def drilled_ids(ui: Ui) -> set[str]:
    rows = ui.page.locator("table[data-testid=encounters] tr[data-encounter-id]")
    return {await rows.nth(i).get_attribute("data-encounter-id") or "" for i in range(await rows.count())}


class TestCodingStory:
    async def test_claim_code_query_answer_complete_and_watch_the_dashboard(self, tenant: Tenant, open_ui: OpenUi) -> None:
        first = await tenant.new_encounter()
        second = await tenant.new_encounter()
        tenant_name = f"Tenant {tenant.id}"

        ops = await open_ui("ops")
        await expect(ops.page).to_have_url(re.compile(r"/ui/dashboard$"))
        await expect(ops.page.get_by_test_id("tenant")).to_have_text(tenant_name)
        assert await kpi(ops, "backlog") == "2"
        assert await kpi(ops, "coded") == "0"
        assert await kpi(ops, "denials") == "0"
        assert await kpi(ops, "claims_scrubbed") == "0"
        await ops.shot("1-dashboard-before")

        # The coder claims the oldest chart and tries an invalid diagnosis code.
        coder = await open_ui("coder")
        await expect(coder.page.get_by_test_id("tenant")).to_have_text(tenant_name)
        await coder.page.get_by_role("button", name="Claim next chart from Queue One").click()
        await expect(coder.page).to_have_url(re.compile(f"/ui/work/{first['id']}$"))
        await expect(coder.page.get_by_test_id("state")).to_have_text("in coding")
        await coder.page.get_by_label("Diagnosis 1 code").fill("E11.999")
        await select_in_document(coder.page, INDICATOR)
        await coder.page.get_by_role("button", name="Add selected text as evidence for diagnosis 1").click()
        await expect(coder.page.locator("#dx-list .chips li")).to_contain_text(INDICATOR)
        # With nothing selected now, "Add selected text" refuses instead of re-citing the last selection.
        await coder.page.evaluate("getSelection().removeAllRanges()")
        await coder.page.get_by_role("button", name="Add selected text as evidence for diagnosis 1").click()
        await expect(coder.page.locator("#dx-list .chips li")).to_have_count(1)
        await expect(coder.page.get_by_test_id("coding-errors")).to_contain_text("nothing is selected")
        await coder.page.get_by_role("button", name="Add procedure").click()
        await coder.page.get_by_label("Procedure 1 code").fill("99214")
        await coder.page.get_by_label("Procedure 1 modifiers").fill("ZZ")
        await coder.page.get_by_label("Procedure 1 diagnosis pointers").fill("1")
        await coder.page.get_by_role("button", name="Submit coding").click()
        errors = coder.page.get_by_test_id("coding-errors")
        await expect(errors).to_contain_text("E11.999")
        await expect(coder.page.get_by_label("Diagnosis 1 code")).to_have_attribute("aria-invalid", "true")
        # Errors name the field as the coder sees it (1-based) and mark that field, not its row.
        await expect(errors).to_contain_text("Procedure 1, modifier 1")
        await expect(coder.page.get_by_label("Procedure 1 modifiers")).to_have_attribute("aria-invalid", "true")
        await expect(coder.page.get_by_label("Procedure 1 code")).not_to_have_attribute("aria-invalid", "true")
        await coder.shot("2-invalid-code")

        # A leading question is flagged while typing; a compliant one with a cited indicator is raised.
        question = coder.page.get_by_label("Question", exact=True)
        await question.fill("Do you agree that the patient has sepsis?")
        await expect(coder.page.get_by_test_id("query-lint")).to_contain_text("language.leading")
        await question.fill(QUESTION)
        await select_in_document(coder.page, INDICATOR)
        await coder.page.get_by_role("button", name="Add selected text as indicator").click()
        await expect(coder.page.get_by_test_id("query-lint")).to_contain_text("No compliance issues found")
        await coder.shot("3-query-linted")
        await coder.page.get_by_role("button", name="Raise query").click()
        await expect(coder.page).to_have_url(re.compile(f"/ui/encounters/{first['id']}$"))
        await expect(coder.page.get_by_test_id("state")).to_have_text("on hold")

        # The physician sees the query with its cited indicator and answers it.
        physician = await open_ui("physician")
        await expect(physician.page).to_have_url(re.compile(r"/ui/inbox$"))
        query = physician.page.locator("article.query")
        await expect(query).to_contain_text(QUESTION)
        await expect(query.locator("blockquote")).to_have_text(INDICATOR)
        await physician.shot("4-inbox")
        await query.get_by_label("Your answer").fill("Type 2 diabetes mellitus with hyperglycemia.")
        await query.get_by_role("button", name="Send answer").click()
        await expect(physician.page.get_by_test_id("answered")).to_be_visible()
        await expect(physician.page.get_by_test_id("open-count")).to_have_text("0")
        await expect(physician.page.get_by_test_id("history")).to_contain_text("answered")

        # The chart is back with the coder: code search, evidence, a procedure, submit.
        await coder.go(f"/ui/work/{first['id']}")
        await expect(coder.page.get_by_test_id("state")).to_have_text("in coding")
        # Typing a category shows its closest codes first: E11.6 offers E11.65 on the first page.
        await coder.page.get_by_label("Diagnosis 1 code").fill("E11.6")
        option = coder.page.get_by_role("option", name=re.compile(r"^E11\.65 .*\(billable\)"))
        await option.click()
        await expect(coder.page.locator("#dx-list .desc")).to_contain_text("billable")
        await select_in_document(coder.page, "type 2 diabetes mellitus with hyperglycemia")
        await coder.page.get_by_role("button", name="Add selected text as evidence for diagnosis 1").click()
        await coder.page.get_by_role("button", name="Add procedure").click()
        await coder.page.get_by_label("Procedure 1 code").fill("99214")
        await coder.page.get_by_label("Procedure 1 diagnosis pointers").fill("1")
        await select_in_document(coder.page, "follow-up of chronic conditions")
        await coder.page.get_by_role("button", name="Add selected text as evidence for procedure 1").click()
        await steps.add_procedure(coder.page, 2, "20610", "RT", "follow-up of chronic conditions")
        await coder.shot("5-coding")
        await steps.rework_hard_edit(coder.page, first["id"])
        await coder.shot("5b-scrub-clean")
        denial = await steps.deny_claim(tenant, first["id"])

        # The dashboard moved, and its charts drill down to exactly the encounters behind them.
        await ops.page.reload()
        assert await kpi(ops, "backlog") == "1"
        assert await kpi(ops, "coded") == "1"
        assert await kpi(ops, "queries") == "1"
        assert await kpi(ops, "claims_scrubbed") == "1"
        assert await kpi(ops, "edit_rate") == "100%"
        assert await kpi(ops, "rework") == "1"
        assert await kpi(ops, "denials") == "1"
        await ops.shot("6-dashboard-after")
        await ops.page.locator('[data-section="denials"] a.mark[aria-label^="coding:"]').click()
        await expect(ops.page).to_have_url(re.compile(r"/ui/encounters\?.*denial_category=coding"))
        assert await drilled_ids(ops) == {first["id"]}
        await ops.page.go_back()
        await ops.page.locator('[data-section="edit_rate"] a.mark').first.click()
        await expect(ops.page.get_by_test_id("active-filters")).to_contain_text("em.modifier25_missing")
        assert await drilled_ids(ops) == {first["id"]}
        await ops.go("/ui/denials")
        await ops.shot("6b-denial-queue")
        await steps.work_denial(ops.page, denial["id"])
        await ops.go("/ui/dashboard")
        assert await kpi(ops, "overturn_rate") == "100%"
        await ops.page.locator('[data-section="queues"] a.mark[aria-label^="q1:"]').click()
        await expect(ops.page).to_have_url(re.compile(r"/ui/encounters\?queue=q1&status=ready$"))
        await expect(ops.page.get_by_test_id("result-count")).to_have_text("1")
        assert await drilled_ids(ops) == {second["id"]}
        await ops.shot("7-drilldown-backlog")
        await ops.page.go_back()
        await ops.page.locator('[data-section="turnaround"] a.mark').first.click()
        await expect(ops.page).to_have_url(re.compile(r"/ui/encounters\?coded_on="))
        assert await drilled_ids(ops) == {first["id"]}

        # The auditor finds the coded chart, its evidence packet and a verified audit trail.
        auditor = await open_ui("auditor")
        await expect(auditor.page).to_have_url(re.compile(r"/ui/audits$"))
        await expect(auditor.page.get_by_test_id("trail")).to_contain_text("verified")
        coded = auditor.page.locator(f'table[data-testid=coded] tr[data-encounter-id="{first["id"]}"]')
        await expect(coded).to_contain_text(first["external_id"])
        assert await auditor.page.locator(f'tr[data-encounter-id="{second["id"]}"]').count() == 0
        await auditor.shot("8-console")
        await coded.get_by_role("link", name=first["external_id"], exact=True).click()
        await expect(auditor.page.get_by_test_id("verify")).to_contain_text("verified")
        await auditor.page.get_by_test_id("evidence-link").click()
        await expect(auditor.page.locator("body")).to_contain_text(first["external_id"])
        await expect(auditor.page.locator("body")).to_contain_text(INDICATOR.split()[0])
        await auditor.shot("9-evidence")

        # A blind census audit of the coded charts: re-coding, a finding, a dispute, reconciling.
        await auditor.go("/ui/audits")
        await steps.create_census_audit(auditor.page)
        audit_url = auditor.page.url
        await steps.recode_and_find(auditor.page, first["id"])
        await auditor.shot("10-finding")
        await coder.go("/ui/findings")
        await steps.dispute(coder.page)
        await coder.shot("11-dispute")
        await auditor.page.goto(audit_url)
        await steps.reconcile_and_report(auditor.page, auditor.base)
        await auditor.shot("12-report")


class TestLayoutAndKeyboard:
    async def test_tablet_layout_fits_and_the_skip_link_comes_first(self, tenant: Tenant, open_ui: OpenUi) -> None:
        await tenant.new_encounter()
        ops = await open_ui("ops", TABLET)
        await ops.page.keyboard.press("Tab")
        await expect(ops.page.locator(":focus")).to_have_text("Skip to content")
        overflow = await ops.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"dashboard overflows a tablet by {overflow}px"
        await ops.shot("tablet-dashboard")
        coder = await open_ui("coder", TABLET)
        await coder.page.get_by_role("button", name="Claim next chart from Queue One").click()
        await expect(coder.page.get_by_label("Diagnosis 1 code")).to_be_visible()
        overflow = await coder.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"workspace overflows a tablet by {overflow}px"
        # Keyboard-only code search: type, arrow down, Enter picks the suggestion.
        field = coder.page.get_by_label("Diagnosis 1 code")
        await field.fill("I10")
        await expect(coder.page.get_by_role("option").first).to_be_visible()
        await field.press("ArrowDown")
        await field.press("Enter")
        await expect(field).to_have_value("I10")
        await expect(coder.page.locator("#dx-list .desc")).to_contain_text("billable")
        await coder.shot("tablet-workspace")
