"""Tables of the QA audit program: the stored sample, reviews, findings, holds and education.

An audit row keeps everything needed to re-draw its sample (plan, seed, algorithm, the filtered
frame and its fingerprint); a chart row snapshots the coder's codes at sampling time so later
rework cannot change what was audited.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class QaAudit(Base):
    __tablename__ = "qa_audits"
    __table_args__ = (UniqueConstraint("tenant_id", "cycle"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    cycle: Mapped[int]  # 1, 2, … per tenant: the order coaching compares cycles in
    timing: Mapped[str] = mapped_column(String(16))  # prospective | retrospective
    blind: Mapped[bool]
    plan: Mapped[dict[str, Any]]
    method: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int] = mapped_column(BigInteger)
    algorithm: Mapped[str] = mapped_column(String(16))
    frame: Mapped[list[Any]]  # the filtered frame items the sample was drawn from
    frame_fingerprint: Mapped[str] = mapped_column(String(64))
    frame_size: Mapped[int]
    sample_size: Mapped[int]
    per_stratum: Mapped[dict[str, Any]]
    encounter_ids: Mapped[list[Any]]
    double_review_share: Mapped[float] = mapped_column(Float)
    pass_threshold: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    closed_at: Mapped[datetime | None]


class QaAuditChart(Base):
    __tablename__ = "qa_audit_charts"
    __table_args__ = (UniqueConstraint("audit_id", "encounter_id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    audit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("qa_audits.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    coder_id: Mapped[str] = mapped_column(String(128))
    vendor_id: Mapped[str | None] = mapped_column(String(64))
    specialty: Mapped[str] = mapped_column(String(64))
    payer_id: Mapped[str] = mapped_column(String(64))
    service_date: Mapped[date]
    stratum: Mapped[str] = mapped_column(String(64))
    coder_codes: Mapped[dict[str, Any]]
    double_review: Mapped[bool]
    primary_auditor: Mapped[str | None] = mapped_column(String(128))
    second_auditor: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|recoded|reviewed


class QaReview(Base):
    __tablename__ = "qa_reviews"
    __table_args__ = (UniqueConstraint("audit_chart_id", "role"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    audit_chart_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("qa_audit_charts.id"), index=True)
    auditor_id: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # primary | second
    codes: Mapped[dict[str, Any]]
    lines_reviewed: Mapped[int]
    submitted_at: Mapped[datetime]


class QaFinding(Base):
    __tablename__ = "qa_findings"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    audit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("qa_audits.id"), index=True)
    audit_chart_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("qa_audit_charts.id"))
    encounter_id: Mapped[uuid.UUID]
    coder_id: Mapped[str] = mapped_column(String(128), index=True)
    vendor_id: Mapped[str | None] = mapped_column(String(64))
    auditor_id: Mapped[str] = mapped_column(String(128))
    line: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    code_type: Mapped[str] = mapped_column(String(4))
    coder_code: Mapped[str | None] = mapped_column(String(16))
    auditor_code: Mapped[str | None] = mapped_column(String(16))
    financial_direction: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    reference_kind: Mapped[str] = mapped_column(String(32))
    reference_citation: Mapped[str] = mapped_column(Text)
    reference_url: Mapped[str] = mapped_column(Text, default="")
    rationale: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))
    resolved_at: Mapped[datetime | None]
    events: Mapped[list[Any]] = mapped_column(default=list)


class QaAuditHold(Base):
    """A prospective audit's pre-bill hold; the claims stage must not bill while one is open."""

    __tablename__ = "qa_audit_holds"
    __table_args__ = (UniqueConstraint("audit_id", "encounter_id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    audit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("qa_audits.id"))
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    placed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    released_at: Mapped[datetime | None]
    released_reason: Mapped[str | None] = mapped_column(String(32))


class QaEducation(Base):
    __tablename__ = "qa_education"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    coder_id: Mapped[str] = mapped_column(String(128), index=True)
    category: Mapped[str] = mapped_column(String(32))
    audit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("qa_audits.id"))
    cycle: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    assigned_by: Mapped[str] = mapped_column(String(128))
    assigned_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
