"""Reads of the tenants' audit ledgers for verification and signed checkpoints."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import AuditEvent, AuditLedgerEntry


async def audited_tenants(session: AsyncSession) -> list[str]:
    """Every tenant holding audit events."""
    return list((await session.scalars(select(AuditEvent.tenant_id).distinct().order_by(AuditEvent.tenant_id))).all())


async def last_entries(session: AsyncSession, tenant: str | None) -> list[tuple[str, int]]:
    """(tenant, last ledger seq) of each tenant, or of one."""
    stmt = select(AuditLedgerEntry.tenant_id, func.max(AuditLedgerEntry.seq)).group_by(AuditLedgerEntry.tenant_id)
    if tenant is not None:
        stmt = stmt.where(AuditLedgerEntry.tenant_id == tenant)
    return [(t, seq) for t, seq in (await session.execute(stmt.order_by(AuditLedgerEntry.tenant_id))).all()]


async def entry_hash(session: AsyncSession, tenant_id: str, seq: int) -> str | None:
    return await session.scalar(select(AuditLedgerEntry.hash).where(AuditLedgerEntry.tenant_id == tenant_id, AuditLedgerEntry.seq == seq))
