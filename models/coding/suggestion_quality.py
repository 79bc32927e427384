"""How the code-suggestion engine fared on audited charts: the numbers an auditor validates it by.

Pure: the caller hands in plain facts per sampled chart. Three views:
- acceptance: suggestions shown, accepted, rejected and left undecided, per coder and per vendor;
- accepted suggestions an auditor's finding later changed or deleted (a finding that counts);
- codes the coder added by hand that the engine never proposed (what the engine missed).
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

CHANGING_KINDS = frozenset({"changed", "deleted"})


@dataclass(frozen=True)
class AuditedFinding:
    coder_code: str | None
    auditor_code: str | None
    kind: str
    counts: bool  # final and not withdrawn


@dataclass(frozen=True)
class ChartSuggestions:
    encounter_id: str
    coder_id: str
    vendor_id: str
    suggested: dict[str, str]  # code → open | accepted | rejected
    coded: Sequence[tuple[str, str]]  # (diagnosis code, suggestion id or "") as submitted
    findings: Sequence[AuditedFinding] = field(default_factory=list)


def _rates(charts: Iterable[ChartSuggestions]) -> dict[str, Any]:
    statuses = Counter(status for c in charts for status in c.suggested.values())
    shown = sum(statuses.values())
    return {
        "shown": shown,
        "accepted": statuses["accepted"],
        "rejected": statuses["rejected"],
        "undecided": statuses["open"],
        "acceptance_rate": round(statuses["accepted"] / shown, 4) if shown else None,
    }


def suggestion_quality(charts: Sequence[ChartSuggestions]) -> dict[str, Any]:
    with_suggestions = [c for c in charts if c.suggested]
    by_coder: dict[str, list[ChartSuggestions]] = {}
    by_vendor: dict[str, list[ChartSuggestions]] = {}
    for c in with_suggestions:
        by_coder.setdefault(c.coder_id, []).append(c)
        by_vendor.setdefault(c.vendor_id, []).append(c)
    changed: list[dict[str, Any]] = []
    accepted_total = 0
    missed: Counter[str] = Counter()
    for c in with_suggestions:
        accepted = {code for code, status in c.suggested.items() if status == "accepted"}
        accepted_total += len(accepted)
        for f in c.findings:
            if f.counts and f.kind in CHANGING_KINDS and f.coder_code in accepted:
                changed.append(
                    {"encounter_id": c.encounter_id, "coder": c.coder_id, "code": f.coder_code,
                     "auditor_code": f.auditor_code, "kind": f.kind}
                )  # fmt: skip
        missed.update(code for code, suggestion_id in c.coded if not suggestion_id and code not in c.suggested)
    return {
        "charts": len(charts),
        "charts_with_suggestions": len(with_suggestions),
        "overall": _rates(with_suggestions),
        "by_coder": {k: _rates(v) for k, v in sorted(by_coder.items())},
        "by_vendor": {k: _rates(v) for k, v in sorted(by_vendor.items())},
        "accepted_changed_by_audit": {
            "accepted": accepted_total,
            "changed": len(changed),
            "rate": round(len(changed) / accepted_total, 4) if accepted_total else None,
            "items": changed,
        },
        "missed_by_engine": {
            "codes_added_by_coders": sum(missed.values()),
            "top": [{"code": code, "charts": n} for code, n in missed.most_common(20)],
        },
    }
