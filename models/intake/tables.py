"""Per-encounter progress of a bundle taken in the background."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

ITEM_STATUSES = ("accepted", "processed", "failed")


class InboundItem(Base):
    """One encounter of a stored webhook message: accepted at 202, then processed or failed."""

    __tablename__ = "inbound_items"
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbound_messages.id"), primary_key=True)
    bundle_index: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID]
    external_id: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    encounter_status: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
