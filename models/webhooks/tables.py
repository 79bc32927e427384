"""Outbound webhooks: subscribed endpoints, the event outbox, each event's delivery per endpoint
and the log of every attempt."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    secret: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="enabled")  # enabled disabled deleted
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OutboundEvent(Base):
    """The outbox: written in the transaction that makes the change it announces."""

    __tablename__ = "outbound_events"
    __table_args__ = (Index("ix_outbound_events_tenant_seq", "tenant_id", "seq"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the webhook-id, "msg_…"
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[str] = mapped_column(String(64))
    encounter_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]


class WebhookMessage(Base):
    """One event owed to one endpoint: its state, attempt count and last answer."""

    __tablename__ = "webhook_messages"
    __table_args__ = (Index("ix_webhook_messages_pending", "dispatched", "event_id"),)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("outbound_events.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending delivered failed skipped
    dispatched: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WebhookAttempt(Base):
    """The delivery log: one row per HTTP attempt, timed on the delivery workflow's clock."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint", "endpoint_id", "event_id", "attempt"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("outbound_events.id"))
    attempt: Mapped[int]
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]
