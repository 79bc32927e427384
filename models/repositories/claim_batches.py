"""SQL of the 837P batches and the clearinghouse's answers to them (999, TA1)."""

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.batch_tables import ClaimBatch
from models.claims.tables import ClaimRow


async def latest_by_interchange(session: AsyncSession, interchange_number: int) -> ClaimBatch | None:
    return await session.scalar(
        select(ClaimBatch).where(ClaimBatch.interchange_number == interchange_number).order_by(ClaimBatch.created_at.desc()).limit(1)
    )


async def claims_of(session: AsyncSession, batch_id: uuid.UUID) -> Sequence[ClaimRow]:
    return (await session.scalars(select(ClaimRow).where(ClaimRow.batch_id == batch_id))).all()


async def claims_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> Sequence[ClaimRow]:
    return (await session.scalars(select(ClaimRow).where(ClaimRow.id.in_(list(ids))))).all()
