"""SQL of inbound deliveries (webhook and HL7 v2 messages) and the per-encounter progress of a
large bundle. Tenant-pinned by argument: a delivery belongs to its source's tenant."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import InboundMessage
from models.intake.tables import InboundItem


async def message_by_webhook_id(session: AsyncSession, source_id: uuid.UUID, webhook_id: str) -> InboundMessage | None:
    return await session.scalar(select(InboundMessage).where(InboundMessage.source_id == source_id, InboundMessage.webhook_id == webhook_id))


async def message_summary(session: AsyncSession, tenant_id: str, message_id: uuid.UUID) -> Row[Any] | None:
    """(id, webhook_id, received_at, response) of one of the tenant's deliveries."""
    return (
        await session.execute(
            select(InboundMessage.id, InboundMessage.webhook_id, InboundMessage.received_at, InboundMessage.response).where(
                InboundMessage.id == message_id, InboundMessage.tenant_id == tenant_id
            )
        )
    ).one_or_none()


async def failed_messages(session: AsyncSession, tenant_id: str, limit: int) -> Sequence[InboundMessage]:
    rows = await session.scalars(
        select(InboundMessage)
        .where(InboundMessage.tenant_id == tenant_id, InboundMessage.failure.is_not(None))
        .order_by(InboundMessage.failed_at.desc())
        .limit(limit)
    )
    return rows.all()


async def add_items(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Record a bundle's encounters as accepted; idempotent for a redelivered bundle."""
    await session.execute(insert(InboundItem).values(rows).on_conflict_do_nothing())


async def pending_items(session: AsyncSession, message_id: uuid.UUID, start: int, end: int) -> list[tuple[int, str]]:
    """(bundle index, external id) of the encounters [start, end) not yet processed."""
    rows = await session.execute(
        select(InboundItem.bundle_index, InboundItem.external_id).where(
            InboundItem.message_id == message_id,
            InboundItem.bundle_index >= start,
            InboundItem.bundle_index < end,
            InboundItem.status != "processed",
        )
    )
    return [(index, external_id) for index, external_id in rows.all()]


async def set_item(session: AsyncSession, message_id: uuid.UUID, index: int, values: dict[str, Any]) -> None:
    await session.execute(
        update(InboundItem)
        .where(InboundItem.message_id == message_id, InboundItem.bundle_index == index)
        .values(**values, updated_at=func.now())
    )


async def items(session: AsyncSession, message_id: uuid.UUID) -> Sequence[InboundItem]:
    return (await session.scalars(select(InboundItem).where(InboundItem.message_id == message_id).order_by(InboundItem.bundle_index))).all()
