"""What the clearinghouse poller has fetched: its cursor, and files it could not route or read.

One row per inbound file id per clearinghouse. The newest row (highest ``seq``) is the cursor,
so a restart resumes after the last file handled. Bodies are kept only for files that reached
no tenant (unknown claims, unreadable X12), so operations can handle them by hand; files that
were applied live verbatim in ``inbound_files`` of their tenant.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ClearinghouseFile(Base):
    __tablename__ = "clearinghouse_files"
    __table_args__ = (UniqueConstraint("source", "file_id"),)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    file_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))  # applied split unrouted refused skipped
    tenants: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
