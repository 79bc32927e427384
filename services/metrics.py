"""Operational metrics over the caller's visible charts: queries, holds, revenue (the API and the dashboard share them)."""

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.claims.revenue_metrics import (
    AppealFact,
    ClaimFact,
    DenialFact,
    ScrubFact,
    VarianceFact,
    revenue_metrics,
)
from models.claims.tables import ClaimRow
from models.queries.metrics import HoldFact, QueryFact, hold_metrics, query_metrics
from models.repositories import metrics as metrics_rows
from models.repositories.scope import metrics_vendor


def _window(date_from: date | None, date_to: date | None) -> tuple[datetime, datetime]:
    end = datetime.combine(date_to, time.max, UTC) if date_to else datetime.now(UTC)
    start = datetime.combine(date_from, time.min, UTC) if date_from else end - timedelta(days=90)
    return start, end


async def queries(
    session: AsyncSession,
    who: Principal,
    date_from: date | None = None,
    date_to: date | None = None,
    vendor: str | None = None,
) -> dict[str, Any]:
    """Volume, response rate, median/p90 hours to answer, open-query aging, agreement rate and
    queries per 100 charts — overall and by physician, service line and vendor."""
    start, end = _window(date_from, date_to)
    vendor = metrics_vendor(who, vendor)
    rows = await metrics_rows.queries(session, who, start, end, vendor)
    facts = [
        QueryFact(
            opened_at=q.opened_at,
            answered_at=q.answered_at,
            withdrawn_at=q.withdrawn_at,
            physician=q.physician_user or q.physician_npi or "",
            service_line=specialty or "",
            vendor=q.vendor_id or "",
            confirmed_documented_option=q.confirmed_documented_option,
        )
        for q, specialty in rows
    ]
    charts = await metrics_rows.charts_received(session, who, start, end)
    result = query_metrics(facts, now=datetime.now(UTC), charts=charts)
    return {"from": start, "to": end, **dataclasses.asdict(result)}


async def holds(
    session: AsyncSession,
    who: Principal,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    """Open holds by reason and age bucket, $ at hold (charges of held charts, DNFB-style), mean
    time to release and repeat holds per chart."""
    start, end = _window(date_from, date_to)
    rows = await metrics_rows.holds(session, who, start, end)
    facts = [
        HoldFact(h.reason, h.placed_at, h.released_at, charges or 0, str(h.encounter_id)) for h, charges in rows
    ]
    result = hold_metrics(facts, now=datetime.now(UTC))
    return {"from": start, "to": end, **dataclasses.asdict(result)}


async def revenue(
    session: AsyncSession,
    who: Principal,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    """Claim edit rate (by rule), first-pass clean-claim rate, denial rate and volume by root
    cause and payer, coding-attributable denial rate, appeals and overturns, recovered dollars,
    payment variance and rework volume. Formulas: `models/claims/revenue_metrics.py`."""
    start, end = _window(date_from, date_to)
    found = await metrics_rows.revenue(session, who, start, end)
    scrubs, claims, payments, denials, appeals = found.scrubs, found.claims, found.payments, found.denials, found.appeals
    by_claim = {c.id: c for c in claims}
    per_chart: dict[Any, list[ClaimRow]] = {}
    for c in claims:
        per_chart.setdefault(c.encounter_id, []).append(c)
    remitted = {by_claim[p.claim_id].encounter_id for p in payments if p.claim_id in by_claim}
    result = revenue_metrics(
        scrubs=[ScrubFact(str(s.encounter_id), s.run_no, [e["rule"] for e in s.edits], s.hard_count > 0) for s in scrubs],
        claims=[
            ClaimFact(
                str(enc),
                rows[0].payer_id or "",
                submitted=any(r.submitted_at for r in rows),
                remitted=enc in remitted,
                rejections_277ca=sum(1 for r in rows if r.status == "rejected"),
            )
            for enc, rows in per_chart.items()
        ],
        denials=[DenialFact(str(d.id), str(d.encounter_id), d.payer_id or "", d.category, d.amount_cents) for d in denials],
        appeals=[AppealFact(str(a.id), str(a.denial_id), a.decision, a.recovered_cents or 0) for a in appeals],
        variances=[
            VarianceFact(str(by_claim[p.claim_id].encounter_id), None, by_claim[p.claim_id].payer_id or "", p.expected_cents, p.paid_cents, p.patient_responsibility_cents)
            for p in payments
            if p.claim_id in by_claim and p.expected_cents is not None
        ],
    )
    return {"from": start, "to": end, **dataclasses.asdict(result)}
