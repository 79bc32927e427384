"""The rows the operational metrics count, each read narrowed to the caller's visible charts."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.claims.tables import AppealRow, ClaimRow, DenialRow, PaymentRow, ScrubRun
from models.encounters.tables import Encounter, HoldRow, QueryRow
from models.repositories.scope import charts as visible
from models.repositories.scope import queries as scoped_queries


async def queries(
    session: AsyncSession, who: Principal, start: datetime, end: datetime, vendor: str | None
) -> list[tuple[QueryRow, str | None]]:
    """Queries opened in the window, each with its chart's specialty."""
    stmt = (
        select(QueryRow, Encounter.specialty)
        .join(Encounter, Encounter.id == QueryRow.encounter_id)
        .where(QueryRow.id.in_(scoped_queries(who).with_only_columns(QueryRow.id)), QueryRow.opened_at.between(start, end))
    )
    if vendor:
        stmt = stmt.where(QueryRow.vendor_id == vendor)
    return [(q, specialty) for q, specialty in (await session.execute(stmt)).all()]


async def charts_received(session: AsyncSession, who: Principal, start: datetime, end: datetime) -> int:
    found = await session.scalar(
        select(func.count()).select_from(visible(who).where(Encounter.received_at.between(start, end)).subquery())
    )
    return found or 0


async def holds(session: AsyncSession, who: Principal, start: datetime, end: datetime) -> list[tuple[HoldRow, int | None]]:
    """Holds placed in the window, each with its chart's charges."""
    rows = (
        await session.execute(
            select(HoldRow, Encounter.charges_cents)
            .join(Encounter, Encounter.id == HoldRow.encounter_id)
            .where(
                HoldRow.tenant_id == who.tenant_id,
                HoldRow.placed_at.between(start, end),
                HoldRow.encounter_id.in_(visible(who).with_only_columns(Encounter.id)),
            )
        )
    ).all()
    return [(h, charges) for h, charges in rows]


@dataclass(frozen=True)
class RevenueRows:
    scrubs: Sequence[ScrubRun]
    claims: Sequence[ClaimRow]
    payments: Sequence[PaymentRow]
    denials: Sequence[DenialRow]
    appeals: Sequence[AppealRow]


async def revenue(session: AsyncSession, who: Principal, start: datetime, end: datetime) -> RevenueRows:
    """Scrub runs, claims, payments, denials and appeals of the charts received in the window."""
    # A vendor lead sees its vendor's charts only: the same row filter as every other read.
    charts = visible(who).with_only_columns(Encounter.id).where(Encounter.received_at.between(start, end))
    scrubs = (await session.scalars(select(ScrubRun).where(ScrubRun.encounter_id.in_(charts)))).all()
    claims = (await session.scalars(select(ClaimRow).where(ClaimRow.encounter_id.in_(charts)))).all()
    payments = (await session.scalars(select(PaymentRow).where(PaymentRow.claim_id.in_([c.id for c in claims])))).all()
    denials = (await session.scalars(select(DenialRow).where(DenialRow.encounter_id.in_(charts)))).all()
    appeals = (await session.scalars(select(AppealRow).where(AppealRow.encounter_id.in_(charts)))).all()
    return RevenueRows(scrubs, claims, payments, denials, appeals)
