"""Names a person reads instead of machine paths: "procedures[0].modifiers[0]" -> "Procedure 1, modifier 1"."""

import re
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.web.render import TEMPLATES
from models.access import Principal
from models.encounters.specialties import specialty_name, with_specialty_names
from models.encounters.tables import Encounter
from models.repositories.encounters import visible
from services.codesets import hold_detail

NOUNS = {
    "diagnoses": "Diagnosis", "procedures": "Procedure", "modifiers": "modifier", "pointers": "diagnosis pointer",
    "evidence": "evidence", "indicators": "indicator", "findings": "Finding", "options": "option", "lines": "Line",
}


def human_path(path: str) -> str:
    parts = [p for p in re.sub(r"\[(\d+)\]", r".\1", str(path).removeprefix("body.")).split(".") if p]
    out: list[str] = []
    i = 0
    while i < len(parts):
        word = NOUNS.get(parts[i], parts[i].replace("_", " "))
        if i + 1 < len(parts) and parts[i + 1].isdigit():
            out.append(f"{word} {int(parts[i + 1]) + 1}")
            i += 2
        else:
            out.append(word)
            i += 1
    text = ", ".join(out)
    return text[:1].upper() + text[1:]


TEMPLATES.env.filters["human_path"] = human_path


async def chart_names(db: AsyncSession, who: Principal, ids: Iterable[Any]) -> dict[str, str]:
    """Encounter id -> what a person recognizes: the EHR's encounter id and the date of service."""
    wanted = {uuid.UUID(str(i)) for i in ids if i}
    if not wanted:
        return {}
    rows = await db.execute(
        visible(who).where(Encounter.id.in_(wanted)).with_only_columns(Encounter.id, Encounter.external_id, Encounter.date_of_service)
    )
    return {str(i): f"{ext} · {dos:%Y-%m-%d}" if dos else ext for i, ext, dos in rows.all()}


async def payer_names(db: AsyncSession, who: Principal, ids: Iterable[Any]) -> dict[str, str]:
    """Encounter id -> its payer's name (as the EHR's coverage named it)."""
    wanted = {uuid.UUID(str(i)) for i in ids if i}
    if not wanted:
        return {}
    rows = await db.execute(visible(who).where(Encounter.id.in_(wanted)).with_only_columns(Encounter.id, Encounter.payer_name, Encounter.payer_id))
    return {str(i): name or pid or "—" for i, name, pid in rows.all()}


async def payer_names_by_id(db: AsyncSession, who: Principal, payer_ids: Iterable[str | None]) -> dict[str, str]:
    """Payer id -> the name the EHR's coverage gave it, for this tenant's charts."""
    wanted = {p for p in payer_ids if p}
    if not wanted:
        return {}
    rows = await db.execute(
        visible(who).where(Encounter.payer_id.in_(wanted), Encounter.payer_name.is_not(None))
        .with_only_columns(Encounter.payer_id, Encounter.payer_name).distinct()
    )
    return {pid: name for pid, name in rows.all() if pid and name}


TEMPLATES.env.filters["specialty"] = specialty_name
TEMPLATES.env.filters["specialty_names"] = with_specialty_names

# Each dashboard figure's definition, shown on hover and read out by screen readers, so that
# e.g. a 100 % first-pass clean-claim rate beside a 14 % edit rate is not read as a contradiction
# (soft edits count toward the edit rate but do not stop a claim from being clean).
METRIC_DEFINITIONS: dict[str, str] = {
    "backlog": "Charts in the ready state, waiting for a coder to claim them.",
    "overdue": "Charts past their coding turnaround SLA (tenant policy) and not yet coded.",
    "coded": "Charts coded (submitted by a coder) in the selected period.",
    "queries": "Physician queries raised in the selected period.",
    "queries_open": "Queries still waiting for the physician's answer.",
    "median_answer": "Median time from a query being raised to its answer.",
    "response_rate": "Queries answered / queries raised (withdrawn ones excluded).",
    "holds_open": "Holds not yet released; a chart with any open hold cannot be coded.",
    "release_hours": "Mean time from a hold being placed to its release.",
    "cents_at_hold": "Charges of the charts on hold: revenue waiting on documentation or registration.",
    "claims_scrubbed": "Claims whose coding went through the pre-bill scrub at least once.",
    "edit_rate": "Claims whose FIRST scrub raised any edit, hard or soft / claims scrubbed. Soft edits are warnings and do not stop a claim.",
    "clean_rate": "Submitted claims whose first scrub had no HARD edit and that the payer's 277CA did not reject / claims submitted. Soft edits do not count against it.",
    "claims_submitted": "Claims sent to the clearinghouse (837P).",
    "claims_remitted": "Claims with a remittance (835) back from the payer.",
    "denials": "Denials (claim or line level) from 835 remittances.",
    "denial_rate": "Remitted claims with at least one denial / claims remitted.",
    "coding_denial_rate": "Remitted claims denied for a coding or bundling root cause / claims remitted.",
    "appeals": "Appeals filed against denials.",
    "appeals_decided": "Appeals with a payer decision.",
    "overturn_rate": "Appeals decided overturned or partially overturned / appeals decided.",
    "recovered": "Amount recovered by overturned and partial appeals.",
    "variance": "Σ (expected − paid − patient responsibility) over remitted lines, from the tenant's fee schedule.",
    "underpaid": "Lines paid below the fee schedule, summed.",
    "overpaid": "Lines paid above the fee schedule, summed.",
    "rework": "Returns to the coder: scrubs with a hard edit plus 277CA rejections.",
    "reworked": "Distinct charts returned to the coder at least once.",
    "audited": "Charts re-coded by an auditor in QA audits.",
    # Table columns (shown on hover of the column heading).
    "oldest_ready": "How long the oldest chart ready in this queue has waited since its documentation arrived.",
    "past_alert_age": "Open holds older than their reason's alert age (tenant policy hold_alert_hours, else the default).",
    "vendor_turnaround": "Median time from documentation received to coded, over the vendor's charts coded in the period.",
    "vendor_query_response": "Queries the vendor's coders raised that were answered / queries raised (withdrawn ones excluded).",
    "code_accuracy": "Codes the auditor confirmed / codes reviewed, over the vendor's audited charts.",
    "audit_pass_rate": "Audited charts with at least 95 % of their codes confirmed / charts audited.",
    "vendor_coding_denials": "Denials in the period with a coding or bundling root cause, on charts the vendor coded.",
}
TEMPLATES.env.globals["metric_definitions"] = METRIC_DEFINITIONS
TEMPLATES.env.globals["hold_detail"] = hold_detail  # what to do about a hold, beside its reason
