"""SQL of a tenant's payers (the 837P's receivers)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.payer_tables import TenantPayer


async def upsert(session: AsyncSession, tenant_id: str, payer_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        insert(TenantPayer).values(tenant_id=tenant_id, payer_id=payer_id, **values)
        .on_conflict_do_update(index_elements=["tenant_id", "payer_id"], set_=values)
    )  # fmt: skip


async def payers(session: AsyncSession, tenant_id: str) -> Sequence[TenantPayer]:
    return (await session.scalars(select(TenantPayer).where(TenantPayer.tenant_id == tenant_id).order_by(TenantPayer.payer_id))).all()
