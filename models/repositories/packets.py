"""Reads of an appeal packet: the chart's documents and queries, for an appeal the caller may see
(the caller's scoped read of the appeal comes first)."""

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import Document, QueryRow


async def documents(session: AsyncSession, encounter_id: uuid.UUID) -> Sequence[Document]:
    return (await session.scalars(select(Document).where(Document.encounter_id == encounter_id).order_by(Document.received_at))).all()


async def queries(session: AsyncSession, encounter_id: uuid.UUID) -> Sequence[QueryRow]:
    return (await session.scalars(select(QueryRow).where(QueryRow.encounter_id == encounter_id).order_by(QueryRow.opened_at))).all()
