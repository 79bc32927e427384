"""The per-tenant payer table: who a claim is billed to, as an operator declared it.

The 837P takes the payer's name, its payer id (NM1*PR09) and the claim filing indicator (SBR09)
from here, never from a guess: a chart whose Coverage names a payer missing from this table is a
hard scrub edit.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# SBR09 claim filing indicator codes (005010X222A1).
FILING_INDICATORS: dict[str, str] = {
    "11": "other non-federal programs", "12": "PPO", "13": "POS", "14": "EPO", "15": "indemnity",
    "16": "HMO Medicare risk", "17": "dental maintenance organization", "AM": "automobile medical",
    "BL": "Blue Cross/Blue Shield", "CH": "CHAMPUS", "CI": "commercial insurance", "DS": "disability",
    "FI": "federal employees program", "HM": "HMO", "LM": "liability medical", "MA": "Medicare Part A",
    "MB": "Medicare Part B", "MC": "Medicaid", "OF": "other federal program", "TV": "Title V",
    "VA": "Veterans Affairs plan", "WC": "workers' compensation", "ZZ": "mutually defined",
}  # fmt: skip


class TenantPayer(Base):
    __tablename__ = "payers"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    payer_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # as the Coverage names it
    name: Mapped[str] = mapped_column(Text)
    x12_payer_id: Mapped[str] = mapped_column(String(80))  # NM1*PR09, the clearinghouse's id
    filing_indicator: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
