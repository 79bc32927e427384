"""The head of each tenant's audit ledger (its last entry's seq and hash), one row per tenant.

Appending locks this row (`SELECT … FOR UPDATE`, which in READ COMMITTED returns the newest
committed head after waiting), then writes the entry and the new head in one statement: the
tenant's projections queue on the row for two round trips (that write and the commit). The
ledger itself (`audit_ledger`, append-only) stays the record `verify` walks; a head row that
disagreed with it would only make the next entry's `prev_hash` break the chain, which verify
reports."""

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class LedgerHead(Base):
    __tablename__ = "audit_ledger_heads"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
