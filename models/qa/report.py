"""Pure assembly of audit reports and coaching views from stored rows.

Every number comes from models.qa.scores so the report, the coaching view and the tests
share one definition of accuracy, repeats and agreement. Cycles are the tenant's audits in
creation order (cycle 1, 2, …); index i of a cycle list is audit cycle i + 1.
"""

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from models.qa.findings import Finding, allowed_actions, counts_as_error, time_to_resolution
from models.qa.plan import chart_coding, finding_of
from models.qa.scores import (
    ChartResult,
    DoubleReview,
    EducationAssignment,
    coaching_summary,
    improvement,
    kappa_by_auditor_pair,
    per_code_judgements,
    repeat_findings,
    repeats_after_education,
    resolution_stats,
    score,
    score_by,
)
from models.qa.tables import QaAudit, QaAuditChart, QaEducation, QaFinding, QaReview


@dataclass(frozen=True)
class CycleData:
    audit: QaAudit
    charts: list[QaAuditChart]
    reviews: list[QaReview]
    findings: list[QaFinding]


def chart_results(data: CycleData) -> list[ChartResult]:
    """Charts whose primary review and findings are recorded; pending charts are not scored."""
    primary = {r.audit_chart_id: r for r in data.reviews if r.role == "primary"}
    found: dict[Any, list[Finding]] = {}
    for row in data.findings:
        found.setdefault(row.audit_chart_id, []).append(finding_of(row))
    return [
        ChartResult(
            encounter_id=str(c.encounter_id),
            coder_id=c.coder_id,
            vendor=c.vendor_id or "",
            specialty=c.specialty,
            period=c.service_date.strftime("%Y-%m"),
            lines_reviewed=primary[c.id].lines_reviewed,
            findings=found.get(c.id, []),
        )
        for c in data.charts
        if c.status == "reviewed" and c.id in primary
    ]


def double_reviews(data: CycleData) -> list[DoubleReview]:
    by_chart: dict[Any, dict[str, QaReview]] = {}
    for r in data.reviews:
        by_chart.setdefault(r.audit_chart_id, {})[r.role] = r
    out: list[DoubleReview] = []
    for c in data.charts:
        pair = by_chart.get(c.id, {})
        if c.double_review and "primary" in pair and "second" in pair:
            coder = chart_coding(c.coder_codes)
            a = per_code_judgements(coder, chart_coding(pair["primary"].codes))
            b = per_code_judgements(coder, chart_coding(pair["second"].codes))
            out.append(
                DoubleReview(
                    str(c.encounter_id), pair["primary"].auditor_id, pair["second"].auditor_id, list(zip(a, b, strict=True))
                )
            )
    return out


def finding_json(row: QaFinding) -> dict[str, Any]:
    f = finding_of(row)
    ttr = time_to_resolution(f)
    return {
        "id": str(row.id),
        "audit_id": str(row.audit_id),
        "encounter_id": str(row.encounter_id),
        "coder_id": row.coder_id,
        "vendor_id": row.vendor_id,
        "auditor_id": row.auditor_id,
        "kind": row.kind,
        "code_type": row.code_type,
        "coder_code": row.coder_code,
        "auditor_code": row.auditor_code,
        "financial_direction": row.financial_direction,
        "category": row.category,
        "severity": row.severity,
        "reference": {"kind": row.reference_kind, "citation": row.reference_citation, "url": row.reference_url},
        "rationale": row.rationale,
        "state": row.state,
        "outcome": row.outcome,
        "allowed_actions": list(allowed_actions(f.state)),
        "opened_at": row.opened_at,
        "resolved_at": row.resolved_at,
        "time_to_resolution_hours": None if ttr is None else ttr.total_seconds() / 3600,
        "events": list(row.events),
    }


def _scores(results: list[ChartResult], threshold: float) -> dict[str, Any]:
    return {
        "overall": asdict(score(results, threshold)),
        **{f"by_{key}": {k: asdict(v) for k, v in score_by(results, key, threshold).items()}
           for key in ("coder", "vendor", "specialty", "period")},
    }  # fmt: skip


def _by_category(rows: list[QaFinding]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = {}
    for row in rows:
        f = finding_of(row)
        c = out.setdefault(row.category, Counter())
        c["findings"] += 1
        c["counted" if counts_as_error(f) else "pending" if f.state != "final" else "withdrawn"] += 1
        c[f"financial_{row.financial_direction}"] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def education_assignments(rows: list[QaEducation]) -> list[EducationAssignment]:
    return [EducationAssignment(r.coder_id, r.category, r.cycle - 1, r.assigned_at, r.acknowledged_at) for r in rows]


def report(cycles: list[CycleData]) -> dict[str, Any]:
    """The report of the last cycle given; earlier cycles feed repeats and trends."""
    current = cycles[-1]
    a = current.audit
    per_cycle = [chart_results(c) for c in cycles]
    results = per_cycle[-1]
    last = len(cycles) - 1
    kappas = kappa_by_auditor_pair(double_reviews(current))
    reviewed = sum(c.status == "reviewed" for c in current.charts)
    return {
        "audit": {
            "id": str(a.id), "name": a.name, "cycle": a.cycle, "timing": a.timing, "blind": a.blind,
            "status": a.status, "created_by": a.created_by, "created_at": a.created_at,
        },
        "sample": {
            "method": a.method, "seed": a.seed, "algorithm": a.algorithm, "frame_size": a.frame_size,
            "frame_fingerprint": a.frame_fingerprint, "size": a.sample_size, "per_stratum": a.per_stratum,
            "plan": a.plan, "double_review_share": a.double_review_share,
            "pass_threshold": a.pass_threshold,
        },
        "progress": {"charts": len(current.charts), "reviewed": reviewed, "pending": len(current.charts) - reviewed},
        "results": _scores(results, a.pass_threshold),
        "findings_by_category": _by_category(current.findings),
        "time_to_resolution": asdict(resolution_stats([finding_of(r) for r in current.findings])),
        "repeat_findings": [
            {**asdict(r), "first_cycle": r.first_cycle + 1, "cycle": r.cycle + 1}
            for r in repeat_findings(per_cycle)
            if r.cycle == last
        ],
        "trends": {
            "by_cycle": [
                {"cycle": c.audit.cycle, "audit_id": str(c.audit.id), **asdict(score(res, a.pass_threshold))}
                for c, res in zip(cycles, per_cycle, strict=True)
            ],
            "by_coder": {k: asdict(v) for k, v in improvement(per_cycle).items()},
        },
        "auditor_agreement": {
            "double_reviewed": sum(c.double_review for c in current.charts),
            "pairs": {k: asdict(v) for k, v in kappas.items()},
        },
        "findings": [finding_json(r) for r in current.findings],
    }  # fmt: skip


def coaching(cycles: list[CycleData], education: list[QaEducation], coder: str | None) -> dict[str, Any]:
    """Per coder: top categories with examples and references, repeats, education, trend."""
    per_cycle = [[r for r in chart_results(c) if coder in (None, r.coder_id)] for c in cycles]
    everything = [r for cycle in per_cycle for r in cycle]
    summary = coaching_summary(everything)
    repeats = repeat_findings(per_cycle)
    assigned = [e for e in education if coder in (None, e.coder_id)]
    unfixed = repeats_after_education(repeats, education_assignments(assigned))
    trends = improvement(per_cycle)
    coders = sorted({r.coder_id for r in everything} | {e.coder_id for e in assigned})
    return {
        "cycles": [{"cycle": c.audit.cycle, "audit_id": str(c.audit.id)} for c in cycles],
        "coders": {
            c: {
                "top_categories": [asdict(i) for i in summary.get(c, [])],
                "repeat_findings": [
                    {**asdict(r), "first_cycle": r.first_cycle + 1, "cycle": r.cycle + 1}
                    for r in repeats if r.coder_id == c
                ],
                "repeats_after_education": [
                    {"category": r.category, "cycle": r.cycle + 1} for r in unfixed if r.coder_id == c
                ],
                "education": [
                    {"id": str(e.id), "category": e.category, "cycle": e.cycle, "note": e.note,
                     "assigned_at": e.assigned_at, "acknowledged_at": e.acknowledged_at}
                    for e in assigned if e.coder_id == c
                ],
                "trend": asdict(trends[c]) if c in trends else None,
            }
            for c in coders
        },
    }  # fmt: skip
