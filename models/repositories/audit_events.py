"""Reads of a chart's audit trail needed to append to it (its previous hash, a key already recorded)."""

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import AuditEvent

_EVENT_HASH = select(AuditEvent.hash).where(AuditEvent.encounter_id == bindparam("encounter_id"), AuditEvent.seq == bindparam("seq"))


async def event_hash(session: AsyncSession, encounter_id: uuid.UUID, seq: int) -> str | None:
    return await session.scalar(_EVENT_HASH, {"encounter_id": encounter_id, "seq": seq})


async def seq_with_reason(session: AsyncSession, encounter_id: uuid.UUID, reason: str) -> int | None:
    """The seq of an event recorded with this reason (an idempotency key), if one was."""
    return await session.scalar(select(AuditEvent.seq).where(AuditEvent.encounter_id == encounter_id, AuditEvent.reason == reason).limit(1))
