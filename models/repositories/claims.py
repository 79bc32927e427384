"""Plain reads of claim-stage rows: the latest scrub run, the caller's denials, an open appeal."""

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.claim_tables import AppealRow, DenialRow, ScrubRun
from models.repositories import scope


async def latest_scrub(session: AsyncSession, encounter_id: uuid.UUID) -> ScrubRun | None:
    return await session.scalar(
        select(ScrubRun).where(ScrubRun.encounter_id == encounter_id).order_by(ScrubRun.run_no.desc()).limit(1)
    )


async def find_denials(
    session: AsyncSession,
    who: Principal,
    *,
    status: str | None = None,
    work_queue: str | None = None,
    category: str | None = None,
    encounter_id: uuid.UUID | None = None,
    limit: int = 100,
) -> Sequence[DenialRow]:
    """The caller's visible denials, the nearest appeal deadline first."""
    stmt = scope.denials(who)
    for column, value in ((DenialRow.status, status), (DenialRow.work_queue, work_queue), (DenialRow.category, category), (DenialRow.encounter_id, encounter_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    rows = await session.scalars(stmt.order_by(DenialRow.appeal_deadline.nulls_last(), DenialRow.created_at).limit(limit))
    return rows.all()


async def open_appeal(session: AsyncSession, denial_id: uuid.UUID) -> uuid.UUID | None:
    """The denial's appeal still awaiting a decision, if any."""
    return await session.scalar(select(AppealRow.id).where(AppealRow.denial_id == denial_id, AppealRow.status == "open"))
