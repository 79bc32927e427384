"""One interchange (ISA/GS) of 837P claims sent to the clearinghouse, and its 999/TA1 answer.

A batch holds one tenant's claims for one payer; each claim is its own transaction set
(ST02 on `claims.transaction_control`), so a 999 that rejects one set reworks only that claim,
while a TA1 or a rejected functional group reworks every claim of the batch.
"""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ClaimBatch(Base):
    __tablename__ = "claim_batches"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    payer_id: Mapped[str | None] = mapped_column(String(64))
    # ISA13 and GS06 (the same number): what a TA1 (TA101) and a 999 (AK102) point back to.
    interchange_number: Mapped[int] = mapped_column(BigInteger, index=True)
    batch_name: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # built sent refused accepted partial rejected
    claim_count: Mapped[int]
    x12: Mapped[str] = mapped_column(Text)
    submission_id: Mapped[str | None] = mapped_column(String(128))
    ack_999: Mapped[str | None] = mapped_column(Text)
    ta1: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
