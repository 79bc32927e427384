"""The chart lists of the web pages beyond the API's filters, always built on `scope.charts`.

Drill-down filters (hold reason, open-query age bucket, coded day, vendor) and the coding
turnaround series start from the same row filter as `GET /v1/encounters`, so a chart can never
link to a chart its viewer could not open through the API.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.claims.tables import DenialRow, ScrubRun
from models.encounters.holds import AGE_BUCKETS
from models.encounters.tables import Encounter, HoldRow, QueryRow
from models.qa.tables import QaAuditChart
from models.queries.metrics import percentile
from models.repositories.encounters import POST_CODING, visible

# Whole-day ranges of models.encounters.holds.age_bucket: (at least, less than) days.
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
    payer: str | None = None
    scrub_rule: str | None = None  # charts whose first scrub raised this rule
    rework: bool = False  # charts a hard scrub edit sent back to coding
    denial_category: str | None = None  # charts with a denial of this root cause (or causes, a,b)
    denial_payer: str | None = None  # charts with a denial from this payer
    audit_coder: str | None = None  # charts sampled into a QA audit, by their coder
    audit_vendor: str | None = None
    received_from: date | None = None  # the revenue sections' window: charts received in it
    received_to: date | None = None

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
    if f.payer:
        stmt = stmt.where(Encounter.payer_id == f.payer)
    if f.received_from:
        stmt = stmt.where(Encounter.received_at >= day_range(f.received_from)[0])
    if f.received_to:
        stmt = stmt.where(Encounter.received_at < day_range(f.received_to)[1])
    stmt = _claim_stage(stmt, who, f)
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


def _claim_stage(stmt: Select[Encounter], who: Principal, f: ChartFilter) -> Select[Encounter]:
    """Drill-downs from the revenue and quality sections: charts behind an edit, denial or audit."""
    if f.scrub_rule:
        first = select(ScrubRun.encounter_id).where(
            ScrubRun.tenant_id == who.tenant_id, ScrubRun.run_no == 1, ScrubRun.edits.contains([{"rule": f.scrub_rule}])
        )
        stmt = stmt.where(Encounter.id.in_(first))
    if f.rework:
        stmt = stmt.where(
            Encounter.id.in_(select(ScrubRun.encounter_id).where(ScrubRun.tenant_id == who.tenant_id, ScrubRun.hard_count > 0))
        )
    if f.denial_category or f.denial_payer:
        denied = select(DenialRow.encounter_id).where(DenialRow.tenant_id == who.tenant_id)
        if f.denial_category:
            denied = denied.where(DenialRow.category.in_(f.denial_category.split(",")))
        if f.denial_payer:
            denied = denied.where(DenialRow.payer_id == f.denial_payer)
        stmt = stmt.where(Encounter.id.in_(denied))
    if f.audit_coder or f.audit_vendor:
        audited = select(QaAuditChart.encounter_id).where(QaAuditChart.tenant_id == who.tenant_id)
        if f.audit_coder:
            audited = audited.where(QaAuditChart.coder_id == f.audit_coder)
        if f.audit_vendor:
            audited = audited.where(QaAuditChart.vendor_id == f.audit_vendor)
        stmt = stmt.where(Encounter.id.in_(audited))
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


async def coded_hours(session: AsyncSession, who: Principal, start: datetime, end: datetime) -> dict[str, list[float]]:
    """Hours from received to coded of the caller's charts coded in [start, end], by vendor."""
    stmt = (
        visible(who)
        .where(Encounter.coded_at.is_not(None), Encounter.coded_at.between(start, end))
        .with_only_columns(Encounter.assignee_vendor, Encounter.received_at, Encounter.coded_at)
    )
    hours: dict[str, list[float]] = {}
    for vendor, received, coded in (await session.execute(stmt)).all():
        if coded is not None:
            hours.setdefault(vendor or "", []).append((coded - received).total_seconds() / 3600)
    return hours


async def denials_by_vendor(session: AsyncSession, who: Principal, categories: Any, date_from: date, date_to: date) -> dict[str, int]:
    """Denials of these root causes noticed in [date_from, date_to] on the caller's charts, by the vendor that coded them."""
    charts = visible(who).with_only_columns(Encounter.id)
    stmt = (
        select(Encounter.assignee_vendor, DenialRow.id)
        .join(Encounter, Encounter.id == DenialRow.encounter_id)
        .where(
            DenialRow.encounter_id.in_(charts),
            DenialRow.category.in_(categories),
            DenialRow.notice_date.between(date_from, date_to),
        )
    )
    out: dict[str, int] = {}
    for vendor, _ in (await session.execute(stmt)).all():
        out[vendor or ""] = out.get(vendor or "", 0) + 1
    return out
