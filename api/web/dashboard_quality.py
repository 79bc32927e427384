"""Dashboard sections for quality: audit accuracy by vendor and coder, and vendor scorecards.

Accuracy is scored by the same pure rules as the audit report (`models.qa.report.chart_results`,
`models.qa.scores.score_by`) over the audits the caller may read through `AuditRepository`
(a vendor lead sees only its vendor's charts). Scorecards join that with coding turnaround,
query response and coding-attributable denials per vendor, for charts coded in the window.
"""

from dataclasses import asdict
from typing import Any

from api.web import dashboard_revenue  # noqa: F401 - its sections are listed before these
from api.web.charts import Mark, bar_chart
from api.web.dashboard import QUALITY, Window, drill, section
from models.access import can
from models.claims.revenue_metrics import CODING_ATTRIBUTABLE
from models.qa.report import chart_results
from models.qa.scores import score_by
from models.queries.metrics import percentile
from models.repositories import chart_lists, users
from models.repositories.qa_audits import AuditRepository
from services import metrics
from services.qa_cycles import audit_cycles


async def accuracy(w: Window) -> dict[str, dict[str, dict[str, Any]]] | None:
    """Scores by vendor and by coder over every audit cycle (None: the caller cannot read audits)."""
    if not can(w.who, "audits.read"):
        return None

    async def load() -> dict[str, dict[str, dict[str, Any]]]:
        cycles = await audit_cycles(AuditRepository(w.session, w.who))
        results = [r for c in cycles for r in chart_results(c) if w.vendor in (None, r.vendor)]
        threshold = cycles[-1].audit.pass_threshold if cycles else 0.95
        return {key: {k: asdict(v) for k, v in score_by(results, key, threshold).items()} for key in ("vendor", "coder")}

    found: dict[str, dict[str, dict[str, Any]]] = await w.once("accuracy", load)
    return found


def _pct(rate: float | None) -> float:
    return round((rate or 0.0) * 100, 1)


@section("audit_accuracy", "Audit accuracy by vendor and coder", QUALITY)
async def audit_accuracy(w: Window) -> dict[str, Any] | None:
    scores = await accuracy(w)
    if scores is None:
        return None
    by_vendor = [Mark(v or "unknown", _pct(s["code_level_accuracy"]), drill(audit_vendor=v)) for v, s in scores["vendor"].items()]
    by_coder = [Mark(c, _pct(s["code_level_accuracy"]), drill(audit_coder=c)) for c, s in scores["coder"].items()]
    return {
        "charts": sum(s["charts_reviewed"] for s in scores["vendor"].values()),
        "vendor_chart": bar_chart(by_vendor, title="Code-level accuracy by vendor", unit="%", whole=False),
        "coder_chart": bar_chart(by_coder, title="Code-level accuracy by coder", unit="%", whole=False),
        "coders": scores["coder"],
    }


async def _coded_hours(w: Window) -> dict[str, list[float]]:
    return await chart_lists.coded_hours(w.session, w.who, w.start, w.end)


async def _coding_denials(w: Window) -> dict[str, int]:
    return await chart_lists.denials_by_vendor(w.session, w.who, CODING_ATTRIBUTABLE, w.date_from, w.date_to)


@section("scorecards", "Vendor scorecards", QUALITY)
async def scorecards(w: Window) -> dict[str, Any]:
    if w.vendor or w.who.role == "vendor_lead":
        vendors = [(w.vendor or w.who.vendor_id or "", w.vendor or w.who.vendor_id or "")]
    else:
        vendors = [(v.id, v.name) for v in await users.vendors(w.session, w.who.tenant_id)]
    hours = await _coded_hours(w)
    queries = await w.once("queries", lambda: metrics.queries(w.session, w.who, w.date_from, w.date_to, w.vendor))
    scores = (await accuracy(w) or {}).get("vendor", {})
    denied = await _coding_denials(w)
    cards = []
    for vid, name in vendors:
        q = queries["by_vendor"].get(vid) or {}
        s = scores.get(vid) or {}
        cards.append({
            "id": vid, "name": name, "href": drill(vendor=vid),
            "coded": len(hours.get(vid, [])),
            "median_hours": percentile(hours.get(vid, []), 50),
            "query_response_rate": q.get("response_rate"),
            "code_accuracy": s.get("code_level_accuracy"),
            "pass_rate": s.get("pass_rate"),
            "coding_denials": denied.get(vid, 0),
            "denials_href": drill(vendor=vid, denial_category=",".join(sorted(CODING_ATTRIBUTABLE))),
        })  # fmt: skip
    return {"cards": cards, "audits": can(w.who, "audits.read")}
