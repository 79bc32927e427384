"""Dashboard sections for the claim stage, from `GET /v1/metrics/revenue` (the same handler).

Each chart drills down to the encounters behind it: an edit rule to the charts whose first scrub
raised it, a root cause or payer to the charts with such denials, a payer's variance to its charts
received in the window, rework to the charts a hard edit sent back.
"""

from typing import Any

from api.web.charts import Mark, bar_chart
from api.web.dashboard import REVENUE, Window, drill, section
from api.web.labels import payer_names_by_id
from models.access import can
from services import metrics


async def revenue(w: Window) -> dict[str, Any]:
    """The revenue metrics for charts received in the window, loaded once per dashboard."""
    found: dict[str, Any] = await w.once(
        "revenue", lambda: metrics.revenue(w.session, w.who, w.date_from, w.date_to)
    )
    return found


def window(w: Window, **params: object) -> str:
    """A drill-down to charts received in the dashboard's window (what the metrics count)."""
    return drill(received_from=w.date_from.isoformat(), received_to=w.date_to.isoformat(), **params)


def percent(rate: float | None) -> float:
    return round((rate or 0.0) * 100, 1)


@section("edit_rate", "Claim edit rate by rule", REVENUE)
async def edit_rate(w: Window) -> dict[str, Any]:
    r = await revenue(w)
    marks = [Mark(rule, percent(rate), window(w, scrub_rule=rule)) for rule, rate in r["edit_rate_by_rule"].items()]
    return {
        "scrubbed": r["claims_scrubbed"],
        "rate": r["claim_edit_rate"],
        "chart": bar_chart(marks, title="Share of first scrubs raising each edit rule", unit="%", whole=False, width=640),
        "rules": [(m.label, m.value, m.href) for m in marks],
    }


@section("clean_claims", "First-pass clean-claim rate", REVENUE)
async def clean_claims(w: Window) -> dict[str, Any]:
    r = await revenue(w)
    marks = [
        Mark("scrubbed", float(r["claims_scrubbed"]), window(w)),
        Mark("submitted", float(r["claims_submitted"]), window(w, status="submitted")),
        Mark("remitted", float(r["claims_remitted"])),
    ]
    return {
        "rate": r["first_pass_clean_claim_rate"],
        "submitted": r["claims_submitted"],
        "remitted": r["claims_remitted"],
        "chart": bar_chart(marks, title="Claims scrubbed, submitted and remitted"),
    }


@section("denials", "Denials by root cause and payer", REVENUE)
async def denials(w: Window) -> dict[str, Any]:
    r = await revenue(w)
    causes = [
        Mark(c.replace("_", " "), float(n), window(w, denial_category=c)) for c, n in r["denial_volume_by_root_cause"].items()
    ]
    names = await payer_names_by_id(w.session, w.who, r["denial_volume_by_payer"])
    payers = [
        {
            "payer": names.get(p, p) if p else "unknown",
            "href": window(w, denial_payer=p) if p else None,
            "volume": n,
            "rate": r["denial_rate_by_payer"].get(p),
            "causes": [
                (c, k, window(w, denial_payer=p, denial_category=c) if p else None)
                for c, k in r["denial_volume_by_payer_and_root_cause"].get(p, {}).items()
            ],
        }
        for p, n in r["denial_volume_by_payer"].items()
    ]
    return {
        "volume": r["denial_volume"],
        "rate": r["denial_rate"],
        "coding_rate": r["coding_denial_rate"],
        "chart": bar_chart(causes, title="Denials by root cause", width=640),
        "payers": payers,
        "work_queue": can(w.who, "denials.work"),
    }


@section("appeals", "Appeal overturn rate", REVENUE)
async def appeals(w: Window) -> dict[str, Any]:
    r = await revenue(w)
    decided, volume = r["appeals_decided"], r["appeal_volume"]
    overturned = round((r["overturn_rate"] or 0) * decided)
    marks = [
        Mark("filed", float(volume), window(w, status="in_appeal") if volume > decided else None),
        Mark("decided", float(decided)),
        Mark("overturned", float(overturned)),
    ]
    return {
        "volume": volume,
        "decided": decided,
        "rate": r["overturn_rate"],
        "recovered_cents": r["recovered_cents"],
        "chart": bar_chart(marks, title="Appeals filed, decided and overturned (or partly)"),
        "work_queue": can(w.who, "denials.work"),
    }


@section("variance", "Payment variance", REVENUE)
async def variance(w: Window) -> dict[str, Any]:
    r = await revenue(w)
    marks = [
        Mark(p or "unknown", round(cents / 100, 2), window(w, payer=p) if p else None)
        for p, cents in r["payment_variance_by_payer"].items()
    ]
    return {
        "net_cents": r["payment_variance_cents"],
        "underpaid_cents": r["underpaid_cents"],
        "overpaid_cents": r["overpaid_cents"],
        "chart": bar_chart(marks, title="Expected minus paid minus patient share, by payer ($)", whole=False),
    }


@section("rework", "Rework volume", REVENUE)
async def rework(w: Window) -> dict[str, Any]:
    r = await revenue(w)
    return {
        "volume": r["rework_volume"],
        "claims": r["reworked_claims"],
        "href": window(w, rework="true"),
        "chart": bar_chart(
            [Mark("returns to coder", float(r["rework_volume"]), window(w, rework="true")),
             Mark("charts reworked", float(r["reworked_claims"]), window(w, rework="true"))],
            title="Hard scrub edits and 277CA rejections sent back to coding",
        ),
    }  # fmt: skip
