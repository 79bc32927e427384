"""Tables of the PHI access log: who read which chart's protected data, when, why, and the answer.

Rows are evidence of their own (HIPAA accounting of access), so the table is append-only in the
database as well (a trigger, see the migration). No foreign keys: a refused read may name a tenant
or chart that does not exist, and the log must still record it.
"""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, SmallInteger, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class PhiAccess(Base):
    """One read (or refused read) of a chart's PHI-bearing data."""

    __tablename__ = "phi_access_log"
    __table_args__ = (
        Index("ix_phi_access_log_tenant_time", "tenant_id", "id"),
        Index("ix_phi_access_log_encounter", "encounter_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The caller's tenant; for an unauthenticated read, the tenant owning the chart (if any).
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(32))
    vendor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # what was read: api.access_log.PHI_READS
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    encounter_id: Mapped[uuid.UUID | None]
    status_code: Mapped[int] = mapped_column(SmallInteger)
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | refused | error
    reason: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(64))
