"""Reference (lookup) tables of the claim stage an operator loads: NCCI PTP pairs, MUE limits,
the fee schedule, the CARC/RARC root-cause table, and which version of each is loaded."""

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class PtpEditRow(Base):
    __tablename__ = "ptp_edits"
    __table_args__ = (Index("ix_ptp_edits_pair", "column1", "column2"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), index=True)
    column1: Mapped[str] = mapped_column(String(5))
    column2: Mapped[str] = mapped_column(String(5))
    modifier_indicator: Mapped[str] = mapped_column(String(1))
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]


class MueLimitRow(Base):
    __tablename__ = "mue_limits"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(String(5), index=True)
    limit: Mapped[int]
    adjudication_indicator: Mapped[str] = mapped_column(String(1))
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]


class FeeScheduleRow(Base):
    __tablename__ = "fee_schedule"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    payer_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(5))
    modifier: Mapped[str | None] = mapped_column(String(2))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]


class CodeTableVersion(Base):
    """Which version of each reference table is loaded, when and by whom."""

    __tablename__ = "code_table_versions"
    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int]
    loaded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CarcCodeRow(Base):
    """The operator's CARC/RARC → root-cause table (CMS/X12 code lists change several times a year)."""

    __tablename__ = "carc_codes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(4))  # carc | rarc
    code: Mapped[str] = mapped_column(String(8))
    category: Mapped[str | None] = mapped_column(String(32))  # null: not a denial (CARC only)
    refinable: Mapped[bool] = mapped_column(default=False)
