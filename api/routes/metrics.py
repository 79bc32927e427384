"""Operational metrics: query aging and response, hold aging and dollars at hold."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.deps import SessionDep, require
from api.fields import Day
from models.access import Principal
from services import metrics as service

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])


@router.get("/queries")
async def queries(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("metrics.read"))],
    date_from: Annotated[Day | None, Query(description="opened on or after (default: 90 days ago)")] = None,
    date_to: Day | None = None,
    vendor: str | None = None,
) -> dict[str, Any]:
    """Volume, response rate, median/p90 hours to answer, open-query aging, agreement rate and
    queries per 100 charts — overall and by physician, service line and vendor."""
    return await service.queries(session, who, date_from, date_to, vendor)


@router.get("/holds")
async def holds(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("metrics.read"))],
    date_from: Annotated[Day | None, Query(description="placed on or after (default: 90 days ago)")] = None,
    date_to: Day | None = None,
) -> dict[str, Any]:
    """Open holds by reason and age bucket, $ at hold (charges of held charts, DNFB-style), mean
    time to release and repeat holds per chart."""
    return await service.holds(session, who, date_from, date_to)


@router.get("/revenue")
async def revenue(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("metrics.read"))],
    date_from: Annotated[Day | None, Query(description="charts received on or after (default: 90 days ago)")] = None,
    date_to: Day | None = None,
) -> dict[str, Any]:
    """Claim edit rate (by rule), first-pass clean-claim rate, denial rate and volume by root
    cause and payer, coding-attributable denial rate, appeals and overturns, recovered dollars,
    payment variance and rework volume. Formulas: `models/claims/revenue_metrics.py`."""
    return await service.revenue(session, who, date_from, date_to)
