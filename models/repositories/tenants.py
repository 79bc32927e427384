"""SQL of a tenant's set-up, written by operators: the tenant, its vendors, queues, routing
rules and webhook sources."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import Encounter, Queue, RoutingRule, Tenant, Vendor, WebhookSource


async def upsert_tenant(session: AsyncSession, tenant_id: str, name: str, settings: dict[str, Any]) -> None:
    stmt = insert(Tenant).values(id=tenant_id, name=name, settings=settings)
    await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"name": name, "settings": settings}))


async def upsert_vendor(session: AsyncSession, tenant_id: str, vendor_id: str, name: str) -> None:
    stmt = insert(Vendor).values(tenant_id=tenant_id, id=vendor_id, name=name)
    await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "id"], set_={"name": name}))


async def vendor_ids(session: AsyncSession, tenant_id: str) -> set[str]:
    return set((await session.scalars(select(Vendor.id).where(Vendor.tenant_id == tenant_id))).all())


async def upsert_queue(session: AsyncSession, tenant_id: str, queue_id: str, name: str, vendor_ids: Sequence[str]) -> None:
    stmt = insert(Queue).values(tenant_id=tenant_id, id=queue_id, name=name, vendor_ids=list(vendor_ids))
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["tenant_id", "id"], set_={"name": name, "vendor_ids": list(vendor_ids)})
    )


async def next_route_position(session: AsyncSession, tenant_id: str) -> int:
    return (await session.scalar(select(func.max(RoutingRule.position)).where(RoutingRule.tenant_id == tenant_id)) or 0) + 1


async def source_named(session: AsyncSession, tenant_id: str, name: str) -> WebhookSource | None:
    return await session.scalar(select(WebhookSource).where(WebhookSource.tenant_id == tenant_id, WebhookSource.name == name))


async def has_encounters(session: AsyncSession, tenant_id: str) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Encounter).where(Encounter.tenant_id == tenant_id)))
