"""Pure decisions of the audit review: who reviews a chart in which role, and whether the
auditor's annotated findings cover every difference with a category, a guideline and a why.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from models.qa.findings import (
    FINDING_CATEGORIES,
    Finding,
    FindingDraft,
    GuidelineReference,
    default_category,
    validate_finding,
)

ReviewRole = Literal["primary", "second"]


@dataclass(frozen=True)
class ReviewSlot:
    """The review state of one sampled chart, as the role decision needs it."""

    double_review: bool
    primary_auditor: str | None  # assigned at sampling, or None: first auditor to submit
    second_auditor: str | None
    primary_by: str | None  # who submitted the primary review, if anyone
    second_by: str | None


@dataclass(frozen=True)
class Refusal:
    status: Literal[403, 409]
    detail: str


def review_role(slot: ReviewSlot, me: str) -> ReviewRole | Refusal:
    """Primary review first come (or as assigned); a blind second review by a different auditor."""
    if me in (slot.primary_by, slot.second_by):
        return Refusal(409, "you already submitted your review of this chart; it cannot be re-submitted")
    if slot.second_auditor == me or (
        slot.second_auditor is None and slot.double_review and slot.primary_by not in (None, me)
    ):
        if not slot.double_review:
            return Refusal(409, "this chart was not selected for double review")
        if slot.second_by is not None:
            return Refusal(409, f"the second review was already submitted by {slot.second_by}")
        return "second"
    if slot.primary_by is not None:
        return Refusal(409, f"this chart was already reviewed by {slot.primary_by}")
    if slot.primary_auditor not in (None, me):
        return Refusal(403, f"this chart is assigned to auditor {slot.primary_auditor}")
    return "primary"


@dataclass(frozen=True)
class FindingInput:
    draft: int
    category: str | None
    severity: str
    reference_kind: str | None
    citation: str
    url: str
    rationale: str


def describe(d: FindingDraft) -> str:
    codes = " → ".join(c for c in (d.coder_code, d.auditor_code) if c)
    return f"{d.kind} {d.code_type} {codes}".strip()


def build_findings(
    drafts: list[FindingDraft],
    inputs: list[FindingInput],
    *,
    ids: list[str],
    encounter_id: str,
    coder_id: str,
    auditor_id: str,
    at: datetime,
) -> tuple[list[Finding], list[dict[str, Any]]]:
    """One finding per draft, each valid; otherwise every problem, each naming its draft."""
    errors: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for n, item in enumerate(inputs):
        if item.draft >= len(drafts):
            errors.append(_err(n, f"draft {item.draft} does not exist; the review has {len(drafts)} drafts"))
        elif item.draft in seen:
            errors.append(_err(n, f"draft {item.draft} is already annotated by findings[{seen[item.draft]}]"))
        else:
            seen[item.draft] = n
    for index, d in enumerate(drafts):
        if index not in seen:
            errors.append({"path": "findings", "message": f"draft {index} ({describe(d)}) has no finding"})
    findings: list[Finding] = []
    for n, item in enumerate(inputs):
        if item.draft >= len(drafts) or seen.get(item.draft) != n:
            continue
        f = Finding(
            finding_id=ids[n],
            encounter_id=encounter_id,
            coder_id=coder_id,
            auditor_id=auditor_id,
            draft=drafts[item.draft],
            category=cast(Any, item.category or ""),
            severity=cast(Any, item.severity),
            reference=None
            if item.reference_kind is None
            else GuidelineReference(cast(Any, item.reference_kind), item.citation, item.url),
            rationale=item.rationale,
            opened_at=at,
        )
        problems = validate_finding(f)
        if not item.category:
            problems = ["a category is required", *[p for p in problems if "category" not in p]]
        elif item.category not in FINDING_CATEGORIES:
            problems = [p for p in problems if "category" not in p]
            problems.append(f"category must be one of {', '.join(sorted(FINDING_CATEGORIES))}")
        errors += [_err(n, f"draft {item.draft} ({describe(f.draft)}): {p}") for p in problems]
        findings.append(f)
    return findings, errors


def _err(n: int, message: str) -> dict[str, Any]:
    return {"path": f"findings[{n}]", "message": message}


def drafts_out(drafts: list[FindingDraft]) -> list[dict[str, Any]]:
    return [
        {
            "index": i,
            "kind": d.kind,
            "code_type": d.code_type,
            "coder_code": d.coder_code,
            "auditor_code": d.auditor_code,
            "financial_direction": d.financial_direction,
            "line": d.line,
            "suggested_category": default_category(d),
        }
        for i, d in enumerate(drafts)
    ]
