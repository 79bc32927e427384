"""SQL for a tenant's policy: the settings row it lives in and its version chain."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import Queue, Tenant
from models.tenants.tables import TenantPolicyVersion


class TenantPolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tenant(self, tenant_id: str, *, for_update: bool = False) -> Tenant | None:
        stmt = select(Tenant).where(Tenant.id == tenant_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def latest(self, tenant_id: str) -> TenantPolicyVersion | None:
        return await self.session.scalar(
            select(TenantPolicyVersion)
            .where(TenantPolicyVersion.tenant_id == tenant_id)
            .order_by(TenantPolicyVersion.version.desc())
            .limit(1)
        )

    async def versions(self, tenant_id: str, limit: int = 50) -> list[TenantPolicyVersion]:
        rows = await self.session.scalars(
            select(TenantPolicyVersion)
            .where(TenantPolicyVersion.tenant_id == tenant_id)
            .order_by(TenantPolicyVersion.version.desc())
            .limit(limit)
        )
        return list(rows)

    async def queue_exists(self, tenant_id: str, queue_id: str) -> bool:
        return await self.session.get(Queue, (tenant_id, queue_id)) is not None

    def add_version(self, row: TenantPolicyVersion) -> None:
        self.session.add(row)

    @staticmethod
    def store(tenant: Tenant, policy: dict[str, Any]) -> None:
        # A new dict, so SQLAlchemy sees the JSONB column change; other settings are kept.
        tenant.settings = {**(tenant.settings or {}), **policy}
