"""Audit scores, coaching views and auditor agreement, from final findings only.

Definitions (stated once so reports, API and tests agree):
- code-level accuracy = code lines with no counted finding / code lines reviewed. Lines are the
  union of the coder's and the auditor's codes after pairing (models.qa.findings.compare_coding):
  an unchanged code, a changed code (E11.9 → E11.65) and a code only one side coded each make
  one line. A line is correct when the auditor agreed with it without change.
- chart-level accuracy = charts with zero counted findings / charts reviewed.
- counted finding = final and not withdrawn; open or disputed findings are reported as pending.
- audit pass rate = charts whose own code-level accuracy ≥ the threshold (default 95 %).
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean, median
from typing import Literal

from models.qa.findings import (
    ChartCoding,
    Finding,
    compare_coding,
    counts_as_error,
    time_to_resolution,
)

GroupKey = Literal["coder", "vendor", "specialty", "period"]


@dataclass(frozen=True)
class ChartResult:
    encounter_id: str
    coder_id: str
    vendor: str
    specialty: str
    period: str  # reporting bucket, e.g. "2025-03"
    lines_reviewed: int  # CodingDiff.lines_reviewed
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class AccuracyScore:
    charts_reviewed: int
    charts_accurate: int
    chart_level_accuracy: float | None  # None when nothing was reviewed
    code_lines_reviewed: int
    code_lines_correct: int
    code_level_accuracy: float | None
    charts_passed: int
    pass_rate: float | None
    pending_findings: int


def _error_lines(chart: ChartResult) -> set[int]:
    return {f.draft.line for f in chart.findings if counts_as_error(f)}


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def score(charts: Sequence[ChartResult], pass_threshold: float = 0.95) -> AccuracyScore:
    lines = correct = accurate = passed = pending = 0
    for chart in charts:
        flagged = len(_error_lines(chart))
        errors = min(flagged, chart.lines_reviewed)
        lines += chart.lines_reviewed
        correct += chart.lines_reviewed - errors
        accurate += flagged == 0
        chart_accuracy = 1 - errors / chart.lines_reviewed if chart.lines_reviewed else 1.0
        passed += chart_accuracy >= pass_threshold
        pending += sum(f.state != "final" for f in chart.findings)
    return AccuracyScore(
        charts_reviewed=len(charts),
        charts_accurate=accurate,
        chart_level_accuracy=_ratio(accurate, len(charts)),
        code_lines_reviewed=lines,
        code_lines_correct=correct,
        code_level_accuracy=_ratio(correct, lines),
        charts_passed=passed,
        pass_rate=_ratio(passed, len(charts)),
        pending_findings=pending,
    )


def _key(chart: ChartResult, key: GroupKey) -> str:
    return chart.coder_id if key == "coder" else str(getattr(chart, key))


def score_by(
    charts: Sequence[ChartResult], key: GroupKey, pass_threshold: float = 0.95
) -> dict[str, AccuracyScore]:
    """Scores per coder, vendor, specialty or period ("over time"), keys sorted."""
    groups: dict[str, list[ChartResult]] = {}
    for chart in charts:
        groups.setdefault(_key(chart, key), []).append(chart)
    return {k: score(groups[k], pass_threshold) for k in sorted(groups)}


@dataclass(frozen=True)
class RepeatFinding:
    coder_id: str
    category: str
    first_cycle: int  # index into the cycles given, earliest first
    cycle: int
    encounter_ids: list[str]  # charts in `cycle` with the repeated category


def _categories(cycle: Sequence[ChartResult]) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for chart in cycle:
        for f in chart.findings:
            if not counts_as_error(f):
                continue
            ids = found.setdefault((chart.coder_id, f.category), [])
            if chart.encounter_id not in ids:
                ids.append(chart.encounter_id)
    return found


def repeat_findings(cycles: Sequence[Sequence[ChartResult]]) -> list[RepeatFinding]:
    """Same coder, same category, in a later cycle than the one it was first seen in."""
    first_seen: dict[tuple[str, str], int] = {}
    repeats: list[RepeatFinding] = []
    for index, cycle in enumerate(cycles):
        for (coder, category), ids in sorted(_categories(cycle).items()):
            first = first_seen.setdefault((coder, category), index)
            if first < index:
                repeats.append(RepeatFinding(coder, category, first, index, sorted(ids)))
    return repeats


@dataclass(frozen=True)
class EducationAssignment:
    coder_id: str
    category: str
    cycle: int  # index of the cycle whose findings prompted it
    assigned_at: datetime
    acknowledged_at: datetime | None = None


def repeats_after_education(
    repeats: Sequence[RepeatFinding], education: Sequence[EducationAssignment]
) -> list[RepeatFinding]:
    """Repeats in a cycle after the coder acknowledged education on that category.

    These are the ones coaching has not fixed yet; unacknowledged education does not count.
    """
    acknowledged: dict[tuple[str, str], int] = {}
    for a in education:
        if a.acknowledged_at is not None:
            key = (a.coder_id, a.category)
            acknowledged[key] = min(a.cycle, acknowledged.get(key, a.cycle))
    return [
        r
        for r in repeats
        if (r.coder_id, r.category) in acknowledged
        and r.cycle > acknowledged[(r.coder_id, r.category)]
    ]


@dataclass(frozen=True)
class CoderTrend:
    coder_id: str
    code_level_accuracy: list[float | None]  # one per cycle; None when not audited
    chart_level_accuracy: list[float | None]
    change: float | None  # last minus first audited cycle, code level


def improvement(cycles: Sequence[Sequence[ChartResult]]) -> dict[str, CoderTrend]:
    coders = sorted({c.coder_id for cycle in cycles for c in cycle})
    trends: dict[str, CoderTrend] = {}
    for coder in coders:
        scores = [score([c for c in cycle if c.coder_id == coder]) for cycle in cycles]
        code = [s.code_level_accuracy for s in scores]
        seen = [v for v in code if v is not None]
        change = seen[-1] - seen[0] if len(seen) >= 2 else None
        trends[coder] = CoderTrend(coder, code, [s.chart_level_accuracy for s in scores], change)
    return trends


@dataclass(frozen=True)
class CoachingItem:
    category: str
    count: int
    example_encounter_ids: list[str]
    references: list[str]  # "kind: citation", distinct, first seen first


def coaching_summary(
    charts: Sequence[ChartResult], top_n: int = 3, examples: int = 3
) -> dict[str, list[CoachingItem]]:
    """Each coder's most frequent counted categories, with example charts and the guidelines."""
    hits: dict[str, dict[str, list[tuple[str, str | None]]]] = {}
    for chart in charts:
        for f in chart.findings:
            if counts_as_error(f):
                ref = f"{f.reference.kind}: {f.reference.citation}" if f.reference else None
                per_coder = hits.setdefault(chart.coder_id, {})
                per_coder.setdefault(f.category, []).append((chart.encounter_id, ref))
    summary: dict[str, list[CoachingItem]] = {}
    for coder in sorted(hits):
        items = [
            CoachingItem(
                category,
                len(found),
                list(dict.fromkeys(e for e, _ in found))[:examples],
                list(dict.fromkeys(r for _, r in found if r))[:examples],
            )
            for category, found in hits[coder].items()
        ]
        summary[coder] = sorted(items, key=lambda i: (-i.count, i.category))[:top_n]
    return summary


@dataclass(frozen=True)
class KappaResult:
    n: int
    percent_agreement: float
    expected_agreement: float
    kappa: float | None  # None when expected agreement is 1: one category only, undefined


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> KappaResult:
    """Cohen's kappa for two raters' categorical judgements on the same items."""
    if not pairs:
        raise ValueError("kappa needs at least one judged item")
    n = len(pairs)
    po = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    pe = sum(first[c] * second[c] for c in first) / (n * n)
    kappa = None if math.isclose(pe, 1.0) else (po - pe) / (1 - pe)
    return KappaResult(n, po, pe, kappa)


def per_code_judgements(coder: ChartCoding, auditor: ChartCoding) -> list[str]:
    """'correct' / 'error' per coder code (dx then px), so two auditors judge the same items."""
    flagged = Counter(d.coder_code for d in compare_coding(coder, auditor).drafts if d.coder_code)
    codes = [d.code for d in coder.diagnoses] + [p.code for p in coder.procedures]
    return ["error" if flagged[code] else "correct" for code in codes]


@dataclass(frozen=True)
class DoubleReview:
    encounter_id: str
    auditor_a: str
    auditor_b: str
    judgements: list[tuple[str, str]]  # (auditor_a's, auditor_b's) per item


def kappa_by_auditor_pair(reviews: Sequence[DoubleReview]) -> dict[str, KappaResult]:
    """Agreement per auditor pair, keyed "a|b" with the ids sorted so order never splits a pair."""
    pooled: dict[str, list[tuple[str, str]]] = {}
    for r in reviews:
        swap = r.auditor_b < r.auditor_a
        key = "|".join(sorted((r.auditor_a, r.auditor_b)))
        pooled.setdefault(key, []).extend((b, a) if swap else (a, b) for a, b in r.judgements)
    return {k: cohen_kappa(v) for k, v in sorted(pooled.items()) if v}


@dataclass(frozen=True)
class ResolutionStats:
    count: int
    mean_hours: float | None
    median_hours: float | None
    p90_hours: float | None  # nearest-rank
    max_hours: float | None


def resolution_stats(findings: Sequence[Finding]) -> ResolutionStats:
    """Time from opening to final, over findings that are final."""
    hours = sorted(
        t.total_seconds() / 3600 for f in findings if (t := time_to_resolution(f)) is not None
    )
    if not hours:
        return ResolutionStats(0, None, None, None, None)
    p90 = hours[math.ceil(0.9 * len(hours)) - 1]
    return ResolutionStats(len(hours), mean(hours), median(hours), p90, hours[-1])
