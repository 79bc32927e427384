"""Reads of the audit chain and its verification, per encounter or for a whole tenant."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit_chain import ChainBreak, hashed_fields, verify_chain
from models.tables import AuditEvent


@dataclass(frozen=True)
class VerifyResult:
    encounters_checked: int
    events_checked: int
    first_break: ChainBreak | None
    head: str | None


async def verify_events(
    session: AsyncSession, tenant_id: str | None, encounter_id: uuid.UUID | None
) -> VerifyResult:
    stmt = select(AuditEvent).order_by(AuditEvent.encounter_id, AuditEvent.seq)
    if tenant_id is not None:
        stmt = stmt.where(AuditEvent.tenant_id == tenant_id)
    if encounter_id is not None:
        stmt = stmt.where(AuditEvent.encounter_id == encounter_id)
    chains: dict[uuid.UUID, list[AuditEvent]] = {}
    for ev in (await session.scalars(stmt)).all():
        chains.setdefault(ev.encounter_id, []).append(ev)
    events = 0
    head: str | None = None
    for chain in chains.values():
        events += len(chain)
        found = verify_chain(
            (
                hashed_fields(
                    encounter_id=str(ev.encounter_id),
                    seq=ev.seq,
                    actor=ev.actor,
                    role=ev.role,
                    vendor=ev.vendor,
                    action=ev.action,
                    before=ev.before,
                    after=ev.after,
                    reason=ev.reason,
                    occurred_at=ev.occurred_at,
                ),
                ev.prev_hash,
                ev.hash,
            )
            for ev in chain
        )
        if found is not None:
            return VerifyResult(len(chains), events, found, None)
        head = chain[-1].hash
    return VerifyResult(len(chains), events, None, head if encounter_id else None)
