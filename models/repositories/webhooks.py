"""SQL of outbound events: the tenant's endpoints, the outbox, delivery messages and attempts."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.tables import ClaimRow
from models.webhooks.tables import OutboundEvent, WebhookAttempt, WebhookEndpoint, WebhookMessage

# Every projection asks: built once, not per call.
_ENABLED = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == bindparam("tenant_id"), WebhookEndpoint.status == "enabled")


async def enabled_endpoints(session: AsyncSession, tenant_id: str) -> Sequence[WebhookEndpoint]:
    return (await session.scalars(_ENABLED, {"tenant_id": tenant_id})).all()


async def endpoints(session: AsyncSession, tenant_id: str) -> list[WebhookEndpoint]:
    stmt = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.status != "deleted")
        .order_by(WebhookEndpoint.created_at)
    )
    return list((await session.scalars(stmt)).all())


async def endpoint(session: AsyncSession, tenant_id: str, endpoint_id: uuid.UUID, *, lock: bool = False) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.status != "deleted"
    )
    return await session.scalar(stmt.with_for_update() if lock else stmt)


async def latest_claim_id(session: AsyncSession, encounter_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(ClaimRow.id).where(ClaimRow.encounter_id == encounter_id).order_by(ClaimRow.created_at.desc()).limit(1))


async def undispatched(
    session: AsyncSession, *, encounter_id: uuid.UUID | None = None, event_ids: Sequence[str] | None = None
) -> list[tuple[WebhookMessage, OutboundEvent]]:
    """Messages not yet handed to a delivery workflow, of one encounter or of these events, in
    event order, locked (rows another transaction holds are skipped: it dispatches them)."""
    which = OutboundEvent.encounter_id == encounter_id if event_ids is None else OutboundEvent.id.in_(event_ids)
    rows = await session.execute(
        select(WebhookMessage, OutboundEvent)
        .join(OutboundEvent, OutboundEvent.id == WebhookMessage.event_id)
        .where(which, WebhookMessage.dispatched.is_(False))
        .order_by(OutboundEvent.seq)
        .with_for_update(of=WebhookMessage, skip_locked=True)
    )
    return [(message, event) for message, event in rows.all()]


async def messages(session: AsyncSession, endpoint_id: uuid.UUID, limit: int) -> list[tuple[WebhookMessage, OutboundEvent]]:
    """The endpoint's newest messages first, each with its event."""
    rows = await session.execute(
        select(WebhookMessage, OutboundEvent)
        .join(OutboundEvent, OutboundEvent.id == WebhookMessage.event_id)
        .where(WebhookMessage.endpoint_id == endpoint_id)
        .order_by(OutboundEvent.seq.desc())
        .limit(limit)
    )
    return [(message, event) for message, event in rows.all()]


async def attempts(session: AsyncSession, endpoint_id: uuid.UUID, event_ids: list[str]) -> Sequence[WebhookAttempt]:
    stmt = (
        select(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint_id, WebhookAttempt.event_id.in_(event_ids))
        .order_by(WebhookAttempt.id)
    )
    return (await session.scalars(stmt)).all()


async def subscribed_events(
    session: AsyncSession, tenant_id: str, types: list[str], *, event_ids: list[str] | None, since: datetime | None, limit: int
) -> list[str]:
    """Ids of the tenant's events of these types (of `event_ids`, from `since`), oldest first."""
    stmt = select(OutboundEvent.id).where(OutboundEvent.tenant_id == tenant_id, OutboundEvent.type.in_(types))
    if event_ids is not None:
        stmt = stmt.where(OutboundEvent.id.in_(event_ids))
    if since is not None:
        stmt = stmt.where(OutboundEvent.occurred_at >= since)
    return list((await session.scalars(stmt.order_by(OutboundEvent.seq).limit(limit))).all())


async def requeue(session: AsyncSession, endpoint: WebhookEndpoint, event_id: str) -> None:
    """The message of this event for this endpoint pending again (created if it never existed)."""
    values: dict[str, Any] = {"endpoint_id": endpoint.id, "event_id": event_id, "tenant_id": endpoint.tenant_id}
    await session.execute(
        insert(WebhookMessage)
        .values(**values, status="pending", dispatched=False, attempts=0)
        .on_conflict_do_update(index_elements=["endpoint_id", "event_id"], set_={"status": "pending", "dispatched": False})
    )
