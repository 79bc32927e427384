"""Reads of a chart's audit trail needed to append to it (its previous hash, a key already recorded)."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import AuditEvent


async def event_hash(session: AsyncSession, encounter_id: uuid.UUID, seq: int) -> str | None:
    return await session.scalar(select(AuditEvent.hash).where(AuditEvent.encounter_id == encounter_id, AuditEvent.seq == seq))


async def seq_with_reason(session: AsyncSession, encounter_id: uuid.UUID, reason: str) -> int | None:
    """The seq of an event recorded with this reason (an idempotency key), if one was."""
    return await session.scalar(select(AuditEvent.seq).where(AuditEvent.encounter_id == encounter_id, AuditEvent.reason == reason).limit(1))
