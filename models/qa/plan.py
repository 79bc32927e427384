"""Pure conversions between stored QA rows/JSON and the domain types of sampling and findings.

Kept apart from the repository so the round-trips (plan ↔ JSON, frame ↔ JSON, row ↔ Finding)
are plain functions: a stored audit must re-create exactly the plan and frame it was drawn from.
"""

from dataclasses import asdict
from datetime import date, datetime
from typing import Any, cast

from models.qa.findings import (
    ChartCoding,
    DxCode,
    Finding,
    FindingDraft,
    FindingEvent,
    GuidelineReference,
    PxCode,
)
from models.qa.sampling import FrameItem, SamplingPlan, UniverseFilter, risk_flags
from models.qa.tables import QaFinding

PRE_CODING = ("received", "ready", "in_coding", "on_hold")
# Prospective audits hold charts before billing, so only charts not yet billed qualify.
PRE_BILL = ("coded", "scrubbing")


def plan_to_json(plan: SamplingPlan) -> dict[str, Any]:
    return asdict(plan)


def plan_from_json(data: dict[str, Any]) -> SamplingPlan:
    fields = {k: v for k, v in data.items() if k in SamplingPlan.__dataclass_fields__}
    fields["universe"] = UniverseFilter(**data.get("universe", {}))
    return SamplingPlan(**fields)


def frame_to_json(items: list[FrameItem]) -> list[dict[str, Any]]:
    return [asdict(i) for i in items]


def frame_from_json(data: list[dict[str, Any]]) -> list[FrameItem]:
    return [FrameItem(**item) for item in data]


def chart_coding(codes: dict[str, Any] | None) -> ChartCoding:
    """The encounter's codes JSON (models.coding.rules shape, optional `poa`) as a ChartCoding."""
    codes = codes or {}
    return ChartCoding(
        diagnoses=[DxCode(d["code"], d.get("poa")) for d in codes.get("diagnoses", [])],
        procedures=[
            PxCode(p["code"], list(p.get("modifiers", [])), int(p.get("units", 1)))
            for p in codes.get("procedures", [])
        ],
    )


def frame_item(
    encounter_id: str,
    *,
    coder: str,
    vendor: str | None,
    specialty: str | None,
    payer: str | None,
    service_date: date,
    codes: dict[str, Any] | None,
    charge_cents: int | None,
    high_dollar_cents: int,
) -> FrameItem:
    coding = chart_coding(codes)
    all_codes = [d.code for d in coding.diagnoses] + [p.code for p in coding.procedures]
    modifiers = [m for p in coding.procedures for m in p.modifiers]
    charges = charge_cents or 0
    return FrameItem(
        encounter_id=encounter_id,
        vendor=vendor or "",
        coder=coder,
        specialty=specialty or "",
        payer=payer or "",
        service_date=service_date.isoformat(),
        risk_flags=risk_flags(all_codes, modifiers, charges, high_dollar_cents),
        charge_cents=charges,
    )


def event_to_json(e: FindingEvent, by: str) -> dict[str, Any]:
    """`by` is who acted; it differs from actor_id when a vendor lead answers for a coder."""
    return {**asdict(e), "at": e.at.isoformat(), "by": by}


def event_from_json(data: dict[str, Any]) -> FindingEvent:
    fields = {k: v for k, v in data.items() if k in FindingEvent.__dataclass_fields__}
    fields["at"] = datetime.fromisoformat(data["at"])
    return FindingEvent(**fields)


def finding_of(row: QaFinding) -> Finding:
    draft = FindingDraft(
        cast(Any, row.kind),
        cast(Any, row.code_type),
        row.coder_code,
        row.auditor_code,
        cast(Any, row.financial_direction),
        row.line,
    )
    return Finding(
        finding_id=str(row.id),
        encounter_id=str(row.encounter_id),
        coder_id=row.coder_id,
        auditor_id=row.auditor_id,
        draft=draft,
        category=cast(Any, row.category),
        severity=cast(Any, row.severity),
        reference=GuidelineReference(
            cast(Any, row.reference_kind), row.reference_citation, row.reference_url
        ),
        rationale=row.rationale,
        opened_at=row.opened_at,
        state=cast(Any, row.state),
        outcome=cast(Any, row.outcome),
        resolved_at=row.resolved_at,
        events=[event_from_json(e) for e in row.events],
    )


def store_finding(row: QaFinding, f: Finding, new_events: list[dict[str, Any]]) -> None:
    """Copy a lifecycle step's result onto its row (the row keeps who really acted)."""
    row.state, row.outcome, row.resolved_at = f.state, f.outcome, f.resolved_at
    row.category, row.severity = f.category, f.severity
    row.events = [*row.events, *new_events]
