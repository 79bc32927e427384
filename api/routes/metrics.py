"""Operational metrics: query aging and response, hold aging and dollars at hold."""

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from api.deps import SessionDep, require
from models.access import Principal
from models.query_metrics import HoldFact, QueryFact, hold_metrics, query_metrics
from models.tables import Encounter, HoldRow, QueryRow

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])


def _window(date_from: date | None, date_to: date | None) -> tuple[datetime, datetime]:
    end = datetime.combine(date_to, time.max, UTC) if date_to else datetime.now(UTC)
    start = datetime.combine(date_from, time.min, UTC) if date_from else end - timedelta(days=90)
    return start, end


@router.get("/queries")
async def queries(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("metrics.read"))],
    date_from: Annotated[date | None, Query(description="opened on or after (default: 90 days ago)")] = None,
    date_to: date | None = None,
    vendor: str | None = None,
) -> dict[str, Any]:
    """Volume, response rate, median/p90 hours to answer, open-query aging, agreement rate and
    queries per 100 charts — overall and by physician, service line and vendor."""
    start, end = _window(date_from, date_to)
    vendor = who.vendor_id if who.role == "vendor_lead" else vendor
    stmt = (
        select(QueryRow, Encounter.specialty)
        .join(Encounter, Encounter.id == QueryRow.encounter_id)
        .where(QueryRow.tenant_id == who.tenant_id, QueryRow.opened_at.between(start, end))
    )
    if vendor:
        stmt = stmt.where(QueryRow.vendor_id == vendor)
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
        for q, specialty in (await session.execute(stmt)).all()
    ]
    charts = await session.scalar(
        select(func.count()).where(Encounter.tenant_id == who.tenant_id, Encounter.received_at.between(start, end))
    )
    result = query_metrics(facts, now=datetime.now(UTC), charts=charts or 0)
    return {"from": start, "to": end, **dataclasses.asdict(result)}


@router.get("/holds")
async def holds(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("metrics.read"))],
    date_from: Annotated[date | None, Query(description="placed on or after (default: 90 days ago)")] = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    """Open holds by reason and age bucket, $ at hold (charges of held charts, DNFB-style), mean
    time to release and repeat holds per chart."""
    start, end = _window(date_from, date_to)
    rows = (
        await session.execute(
            select(HoldRow, Encounter.charges_cents)
            .join(Encounter, Encounter.id == HoldRow.encounter_id)
            .where(HoldRow.tenant_id == who.tenant_id, HoldRow.placed_at.between(start, end))
        )
    ).tuples().all()
    facts = [
        HoldFact(h.reason, h.placed_at, h.released_at, charges or 0, str(h.encounter_id)) for h, charges in rows
    ]
    result = hold_metrics(facts, now=datetime.now(UTC))
    return {"from": start, "to": end, **dataclasses.asdict(result)}
