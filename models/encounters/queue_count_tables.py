"""Per-queue chart counters, kept by the `encounters_queue_counts` trigger (migration
a17f0c0d0001) in the transaction that changes a chart, so queue statistics read a few rows per
queue instead of every open chart. Each (tenant, queue, status, overdue) count is split over 16
shards by chart id: concurrent projections of one queue seldom wait on the same counter row."""

from sqlalchemy import BigInteger, Index, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.encounters.tables import Encounter


class QueueCount(Base):
    __tablename__ = "queue_counts"
    tenant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    queue_id: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    overdue: Mapped[bool] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


# The dashboards' window (charts received between two dates), counted and joined index-only.
RECEIVED = Index("ix_encounters_received", Encounter.tenant_id, Encounter.received_at, Encounter.id)
