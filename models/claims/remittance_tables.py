"""The remittance-exceptions work queue: every payer answer that could not be applied as received.

One row per claim payment or claim status that needs a person or a later retry (the claim is in a
state that cannot take it, no claim matches, the file does not balance, the payment repeats one
already applied). Nothing received is dropped: an open row is retried automatically when its
claim can take it, or resolved by a person (apply, link to a claim, dismiss with a reason).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class RemittanceException(Base):
    __tablename__ = "remittance_exceptions"
    __table_args__ = (
        UniqueConstraint("file_id", "position", "reason"),
        Index("ix_remittance_exceptions_open", "tenant_id", "status", postgresql_where=text("status = 'open'")),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbound_files.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # 835 | 277CA
    # Which claim of the file (0-based, in file order), or -1 for a file-level finding.
    position: Mapped[int]
    control_number: Mapped[str] = mapped_column(String(38))
    claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claims.id"), index=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    # not_applicable | unknown_claim | unreachable | balance_mismatch | duplicate
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open applied dismissed
    attempts: Mapped[int] = mapped_column(default=0)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
