"""SQL of the claim stage: scrub runs, fee schedules, claims and their batching, the caller's
denials, an open appeal."""

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.claims.reference import FeeScheduleRow
from models.claims.tables import AppealRow, ClaimRow, DenialRow, ScrubRun
from models.qa.tables import QaAuditHold
from models.repositories import scope

# Built once: every coding submit runs them.
_LATEST_SCRUB = select(ScrubRun).where(ScrubRun.encounter_id == bindparam("encounter_id")).order_by(ScrubRun.run_no.desc()).limit(1)
_SCRUB_RUN = select(ScrubRun).where(ScrubRun.encounter_id == bindparam("encounter_id"), ScrubRun.run_no == bindparam("run_no"))


async def latest_scrub(session: AsyncSession, encounter_id: uuid.UUID) -> ScrubRun | None:
    return await session.scalar(_LATEST_SCRUB, {"encounter_id": encounter_id})


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


async def scrub_run(session: AsyncSession, encounter_id: uuid.UUID, run_no: int) -> ScrubRun | None:
    return await session.scalar(_SCRUB_RUN, {"encounter_id": encounter_id, "run_no": run_no})


async def open_qa_hold(session: AsyncSession, encounter_id: uuid.UUID) -> uuid.UUID | None:
    """A prospective QA audit still holding this chart's claim."""
    return await session.scalar(select(QaAuditHold.id).where(QaAuditHold.encounter_id == encounter_id, QaAuditHold.released_at.is_(None)))


async def claim_numbered(session: AsyncSession, control_number: str) -> ClaimRow | None:
    return await session.scalar(select(ClaimRow).where(ClaimRow.control_number == control_number))


async def set_submission(session: AsyncSession, batch_id: uuid.UUID, submission_id: str) -> None:
    await session.execute(update(ClaimRow).where(ClaimRow.batch_id == batch_id).values(submission_id=submission_id))


async def unbatched_locked(session: AsyncSession, tenant_id: str, ids: list[uuid.UUID]) -> list[ClaimRow]:
    """These submitted claims not yet in a batch, locked, in queue order."""
    return list((await session.scalars(
        select(ClaimRow).where(ClaimRow.id.in_(ids), ClaimRow.tenant_id == tenant_id, ClaimRow.batch_id.is_(None),
                               ClaimRow.status == "submitted")
        .order_by(ClaimRow.queued_at, ClaimRow.control_number).with_for_update()
    )).all())  # fmt: skip


async def next_interchange_number(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT nextval('claim_interchange_numbers')")) or 1)


PRICING_MODIFIERS = ("26", "TC")


async def fee(
    session: AsyncSession, tenant_id: str, payer_id: str | None, code: str, on: date, modifiers: list[str] | None = None
) -> int | None:
    """The tenant's rate for `code`: the payer's own schedule first, then the tenant default ('*');
    a pricing modifier (26 professional, TC technical) has its own rate where the schedule gives one."""
    pricing = [m for m in modifiers or [] if m in PRICING_MODIFIERS]
    for payer in (payer_id or "", "*"):
        for modifier in (*pricing, None):
            cents = await session.scalar(
                select(FeeScheduleRow.amount_cents)
                .where(
                    FeeScheduleRow.tenant_id == tenant_id,
                    FeeScheduleRow.payer_id == payer,
                    FeeScheduleRow.code == code,
                    FeeScheduleRow.modifier.is_(None) if modifier is None else FeeScheduleRow.modifier == modifier,
                    FeeScheduleRow.effective_from <= on,
                    (FeeScheduleRow.effective_to.is_(None)) | (FeeScheduleRow.effective_to >= on),
                )
                .order_by(FeeScheduleRow.effective_from.desc())
                .limit(1)
            )
            if cents is not None:
                return cents
    return None


async def find_claims(
    session: AsyncSession, who: Principal, *, status: str | None = None, encounter_id: uuid.UUID | None = None, limit: int = 100
) -> Sequence[ClaimRow]:
    """The caller's visible claims, newest first."""
    stmt = scope.claims(who)
    if status:
        stmt = stmt.where(ClaimRow.status == status)
    if encounter_id:
        stmt = stmt.where(ClaimRow.encounter_id == encounter_id)
    return (await session.scalars(stmt.order_by(ClaimRow.created_at.desc()).limit(limit))).all()
