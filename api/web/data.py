"""Reads the web pages need beyond the API's filters, always built on the API's `visible(...)`.

Drill-down filters (hold reason, open-query age bucket, coded day, vendor) and the coding
turnaround series start from the same row filter as `GET /v1/encounters`, so a chart can never
link to a chart its viewer could not open through the API.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.holds import AGE_BUCKETS
from models.query_metrics import percentile
from models.repositories.encounters import POST_CODING, visible
from models.tables import Encounter, HoldRow, QueryRow

# Whole-day ranges of models.holds.age_bucket: (at least, less than) days.
BUCKET_DAYS: dict[str, tuple[int, int | None]] = dict(
    zip(AGE_BUCKETS, [(0, 3), (3, 8), (8, 15), (15, None)], strict=True)
)


@dataclass(frozen=True)
class ChartFilter:
    status: str | None = None
    queue: str | None = None
    overdue: bool | None = None
    active: bool = False  # only charts not yet coded (what the backlog and overdue counts mean)
    hold_reason: str | None = None
    query_age: str | None = None
    hold_age: str | None = None
    coded_on: date | None = None
    vendor: str | None = None

    def describe(self) -> list[tuple[str, str]]:
        return [(k, str(v)) for k, v in vars(self).items() if v not in (None, False, "")]


def day_range(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, UTC)
    return start, start + timedelta(days=1)


def _filtered(who: Principal, f: ChartFilter, now: datetime) -> Select[Encounter]:
    stmt = visible(who)
    if f.status:
        stmt = stmt.where(Encounter.status == f.status)
    if f.queue:
        stmt = stmt.where(Encounter.queue_id == f.queue)
    if f.overdue is not None:
        stmt = stmt.where(Encounter.overdue.is_(f.overdue))
    if f.active:
        stmt = stmt.where(Encounter.status.not_in(POST_CODING))
    if f.hold_reason:
        stmt = stmt.where(Encounter.holds.contains([{"reason": f.hold_reason}]))
    if f.vendor:
        stmt = stmt.where(Encounter.assignee_vendor == f.vendor)
    if f.coded_on:
        start, end = day_range(f.coded_on)
        stmt = stmt.where(Encounter.coded_at >= start, Encounter.coded_at < end)
    if f.query_age in BUCKET_DAYS:
        opened = _aged(QueryRow.opened_at, f.query_age, now)
        stmt = stmt.where(
            Encounter.id.in_(
                select(QueryRow.encounter_id).where(
                    QueryRow.tenant_id == who.tenant_id, QueryRow.status == "open", opened
                )
            )
        )
    if f.hold_age in BUCKET_DAYS:
        placed = _aged(HoldRow.placed_at, f.hold_age, now)
        stmt = stmt.where(
            Encounter.id.in_(
                select(HoldRow.encounter_id).where(
                    HoldRow.tenant_id == who.tenant_id, HoldRow.released_at.is_(None), placed
                )
            )
        )
    return stmt


def _aged(column: Any, bucket: str, now: datetime) -> ColumnElement[bool]:
    """`column` (a start time) falls in the age bucket at `now`, by whole elapsed days."""
    low, high = BUCKET_DAYS[bucket]
    bounds = [column <= now - timedelta(days=low)]
    if high is not None:
        bounds.append(column > now - timedelta(days=high))
    return and_(*bounds)


async def charts(session: AsyncSession, who: Principal, f: ChartFilter, *, limit: int = 200) -> list[Encounter]:
    stmt = _filtered(who, f, datetime.now(UTC)).order_by(Encounter.received_at.desc(), Encounter.id.desc())
    return list((await session.scalars(stmt.limit(limit))).all())


@dataclass(frozen=True)
class TurnaroundDay:
    day: date
    charts: int
    median_hours: float


async def turnaround(
    session: AsyncSession, who: Principal, start: datetime, end: datetime, vendor: str | None
) -> list[TurnaroundDay]:
    """Median hours from documentation received to coded, per day coded (UTC)."""
    stmt = (
        _filtered(who, ChartFilter(vendor=vendor), end)
        .where(Encounter.coded_at.is_not(None), Encounter.coded_at.between(start, end))
        .with_only_columns(Encounter.received_at, Encounter.coded_at)
    )
    per_day: dict[date, list[float]] = {}
    for received, coded in (await session.execute(stmt)).all():
        if coded is None:
            continue
        per_day.setdefault(coded.astimezone(UTC).date(), []).append((coded - received).total_seconds() / 3600)
    return [
        TurnaroundDay(day, len(hours), percentile(hours, 50) or 0.0)
        for day, hours in sorted(per_day.items())
    ]


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
