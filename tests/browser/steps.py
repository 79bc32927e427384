"""Steps of the browser story that read better by name: coding through a hard scrub edit, a payer
denial worked from the queue, and a QA audit from sampling plan to reconciled finding."""

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.api.claim_support import post_x12, remittance_835
from tests.support import Tenant, eventually

CITATION = "CMS 1995 E/M Documentation Guidelines, MDM moderate"
DISPUTE = "The note documents two chronic illnesses with medication management: moderate MDM."


async def select_in_document(page: Page, text: str) -> None:
    """Select `text` inside the first document, as a coder dragging over it would."""
    await page.evaluate(
        """(text) => {
            const pre = document.querySelector("pre[data-document-id]");
            const at = pre.textContent.indexOf(text);
            if (at < 0) throw new Error("text not in document: " + text);
            const point = (offset) => {  // cited spans are <mark>s: walk the text nodes
                const walk = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
                for (let node = walk.nextNode(); node; node = walk.nextNode()) {
                    if (offset <= node.length) return [node, offset];
                    offset -= node.length;
                }
                throw new Error("offset past the document");
            };
            const range = document.createRange();
            range.setStart(...point(at));
            range.setEnd(...point(at + text.length));
            getSelection().removeAllRanges();
            getSelection().addRange(range);
        }""",
        text,
    )


async def add_procedure(page: Page, n: int, code: str, modifiers: str, evidence: str) -> None:
    await page.get_by_role("button", name="Add procedure").click()
    await page.get_by_label(f"Procedure {n} code").fill(code)
    await page.get_by_label(f"Procedure {n} modifiers").fill(modifiers)
    await page.get_by_label(f"Procedure {n} diagnosis pointers").fill("1")
    await select_in_document(page, evidence)
    await page.get_by_role("button", name=f"Add selected text as evidence for procedure {n}").click()


async def rework_hard_edit(page: Page, encounter_id: str) -> None:
    """Submitted without modifier 25, the chart comes back with the edit named; fixing it bills."""
    await page.get_by_role("button", name="Submit coding").click()
    await expect(page).to_have_url(re.compile(f"/ui/work/{encounter_id}\\?scrub=1#scrub$"))
    scrub = page.get_by_test_id("scrub")
    await expect(scrub.get_by_test_id("scrub-verdict")).to_contain_text("hard edit")
    edit = scrub.locator('tr[data-rule="em.modifier25_missing"]')
    await expect(edit).to_contain_text("hard")
    await expect(edit).to_contain_text("99214")
    await expect(page.get_by_test_id("state")).to_have_text("in coding")
    # The coding form reopens with the submitted codes and evidence: only the modifier is added.
    await expect(page.get_by_label("Procedure 2 code")).to_have_value("20610")
    await expect(page.locator("#dx-list .chips li")).to_have_count(1)
    await page.get_by_label("Procedure 1 modifiers").fill("25")
    await page.get_by_role("button", name="Submit coding").click()
    await expect(page.get_by_test_id("scrub-verdict")).to_contain_text("Clean")
    await expect(page.get_by_test_id("scrub")).to_contain_text("run 2")
    await expect(page.get_by_test_id("state")).to_have_text(re.compile(r"^(scrubbing|submitted)$"))


async def deny_claim(tenant: Tenant, encounter_id: str) -> dict[str, Any]:
    """The payer denies the billed claim for a coding reason (CO-11) in an 835."""
    await eventually(lambda: tenant.get(f"/v1/encounters/{encounter_id}", "ops"), until=lambda r: r.json()["status"] == "submitted")
    claim = (await tenant.get(f"/v1/claims?encounter_id={encounter_id}", "ops")).json()[0]
    charge = claim["total_charge_cents"]
    text = remittance_835(claim["control_number"], paid_cents=0, charge_cents=charge, adjustments=[("CO", "11", charge)])
    posted = await post_x12(tenant, "/v1/remittances", text)
    assert posted.status_code in (200, 201), posted.text
    denial: dict[str, Any] = posted.json()["matched"][0]["denials"][0]
    assert denial["category"] == "coding"
    return denial


async def work_denial(page: Page, denial_id: str) -> None:
    """Ops files an appeal from the work queue and records the payer's decision."""
    row = page.locator(f'tr[data-denial-id="{denial_id}"]')
    await expect(row).to_contain_text("coding")
    await row.get_by_label("Reason for appeal").fill("The diagnosis is documented and supports the visit level.")
    await row.get_by_role("button", name="File appeal").click()
    appeal = page.locator("article[data-appeal-id]")
    await expect(appeal).to_contain_text("documented and supports")
    await appeal.get_by_label("Decision").select_option("overturned")
    await appeal.get_by_label("Recovered ($)").fill("95.00")
    await appeal.get_by_role("button", name="Record decision").click()
    await expect(page.get_by_test_id("no-appeals")).to_be_visible()


async def create_census_audit(page: Page) -> None:
    form = page.get_by_test_id("create-audit")
    await form.get_by_label("Name (optional)").fill("Browser census")
    await form.get_by_label("Sampling method").select_option("census")
    await form.get_by_label("Seed").fill("20240601")
    await form.get_by_label("Blind review").select_option("yes")
    await form.get_by_role("button", name="Draw the sample").click()
    await expect(page).to_have_url(re.compile(r"/ui/audits/[0-9a-f-]{36}$"))
    await expect(page.get_by_role("heading", name="Browser census")).to_be_visible()
    await expect(page.get_by_test_id("sample-size")).to_have_text("1 / 1")


async def recode_and_find(page: Page, encounter_id: str) -> None:
    """Blind re-coding, then one finding: refused without a reference, recorded with one."""
    await page.get_by_role("link", name=f"Review chart {encounter_id}").click()
    await expect(page.get_by_test_id("blind")).to_be_visible()
    await page.get_by_label("Diagnosis 1", exact=True).fill("E11.65")
    await page.get_by_label("Procedure 1", exact=True).fill("99213")
    await page.get_by_label("Procedure 1 modifiers").fill("25")
    await page.get_by_label("Procedure 2", exact=True).fill("20610")
    await page.get_by_label("Procedure 2 modifiers").fill("RT")
    await page.get_by_role("button", name="Submit my coding").click()
    await expect(page.locator("fieldset.draft")).to_have_count(1)
    draft = page.locator("fieldset.draft").first
    await expect(draft).to_contain_text("99214")
    await expect(page.get_by_test_id("coder-codes")).to_contain_text("99214")
    await draft.get_by_label("Rationale").fill("MDM supports a low level visit.")
    await page.get_by_role("button", name="Record findings").click()
    await expect(page.get_by_test_id("form-errors")).to_contain_text("reference")
    await expect(page.locator("fieldset.draft").first.get_by_test_id("draft-error")).to_be_visible()
    draft = page.locator("fieldset.draft").first
    await expect(draft.get_by_label("Rationale")).to_have_value("MDM supports a low level visit.")
    await draft.get_by_label("Category").select_option("em_level")
    await draft.get_by_label("Guideline reference").select_option("official_guidelines")
    await draft.get_by_label("Citation").fill(CITATION)
    await page.get_by_role("button", name="Record findings").click()
    finding = page.locator("article.finding")
    await expect(finding).to_have_attribute("data-state", "open")
    await expect(finding.get_by_test_id("reference")).to_contain_text(CITATION)


async def dispute(page: Page) -> None:
    finding = page.locator("article.finding")
    await expect(finding).to_contain_text(CITATION)
    await expect(page.get_by_test_id("waiting-count")).to_have_text("1")
    await finding.get_by_label("Why you disagree").fill(DISPUTE)
    await finding.get_by_role("button", name="Dispute").click()
    await expect(page.locator("article.finding")).to_have_attribute("data-state", "disputed")
    await expect(page.get_by_test_id("waiting-count")).to_have_text("0")


async def reconcile_and_report(page: Page, base: str) -> None:
    finding = page.locator('article.finding[data-state="disputed"]')
    await expect(finding).to_contain_text(DISPUTE)
    await finding.get_by_label("Outcome").select_option("upheld")
    await finding.get_by_label("Comment to the coder").fill("Two stable chronic illnesses is low MDM; finding stands.")
    await finding.get_by_role("button", name="Reconcile").click()
    await expect(page.locator("article.finding")).to_have_attribute("data-state", "final")
    pdf = await page.request.get(base + (await page.get_by_test_id("report-pdf").get_attribute("href") or ""))
    assert pdf.ok
    assert pdf.headers["content-type"] == "application/pdf"
    assert (await pdf.body()).startswith(b"%PDF")
    await page.get_by_test_id("report-html").click()
    await expect(page.locator("body")).to_contain_text("Browser census")
