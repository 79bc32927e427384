"""Stored code suggestions: one row per (encounter, engine version, code), with the coder's decision.

Spans keep the excerpt (PHI) beside its offsets, so the workspace can highlight it and an
accepted suggestion can be cited without recomputing. A newer engine version adds rows rather
than rewriting old ones, so what a coder saw stays reproducible.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class CodeSuggestionRow(Base):
    __tablename__ = "code_suggestions"
    __table_args__ = (UniqueConstraint("encounter_id", "engine_version", "code"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    # No foreign key: inserting a referencing row takes a KEY SHARE lock on the encounter, and
    # the queue claim (FOR UPDATE SKIP LOCKED) would skip a chart while its suggestions are stored.
    encounter_id: Mapped[uuid.UUID] = mapped_column(index=True)
    code: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    matched_term: Mapped[str] = mapped_column(Text)
    spans: Mapped[list[Any]]  # [{"document_id", "start", "end", "excerpt"}]
    engine_version: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | rejected
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_vendor: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
