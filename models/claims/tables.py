"""Tables of the claim stage: scrubs, claims, inbound X12 files, payments, denials, appeals. The
versioned reference tables an operator loads (NCCI PTP, MUE, fee schedule, CARC) are in
models/claims/reference.py."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.claims.batch_tables import ClaimBatch  # noqa: F401 - claims.batch_id refers to it


class ScrubRun(Base):
    __tablename__ = "scrub_runs"
    __table_args__ = (UniqueConstraint("encounter_id", "run_no"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    run_no: Mapped[int]
    edits: Mapped[list[Any]] = mapped_column(default=list)
    checks_ran: Mapped[list[Any]] = mapped_column(default=list)
    checks_skipped: Mapped[list[Any]] = mapped_column(default=list)
    table_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hard_count: Mapped[int]
    soft_count: Mapped[int]
    acknowledgments: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ClaimRow(Base):
    __tablename__ = "claims"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    control_number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # created submitted accepted rejected paid partial denied
    payer_id: Mapped[str | None] = mapped_column(String(64))
    payer_name: Mapped[str | None] = mapped_column(Text)
    total_charge_cents: Mapped[int] = mapped_column(BigInteger)
    expected_cents: Mapped[int | None] = mapped_column(BigInteger)
    paid_cents: Mapped[int | None] = mapped_column(BigInteger)
    lines: Mapped[list[Any]] = mapped_column(default=list)
    x12: Mapped[str] = mapped_column(Text)
    submission_id: Mapped[str | None] = mapped_column(String(128))
    ack_999: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    rejection: Mapped[str | None] = mapped_column(Text)
    # A claim the clearinghouse or payer rejected was never filed, for timely-filing purposes.
    filed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Batching (models/claims/batch_tables.py): queued (submitted, no batch yet), then sent as
    # transaction set ST02 of a batch. Transport bookkeeping, not attested facts.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claim_batches.id"), index=True)
    transaction_control: Mapped[str | None] = mapped_column(String(9))
    syntax_ack: Mapped[str | None] = mapped_column(String(16))  # the 999's answer: accepted | rejected
    queued_at: Mapped[datetime | None]


class InboundFile(Base):
    """An 835 or 277CA as received, kept verbatim; the same bytes again answer the same way."""

    __tablename__ = "inbound_files"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "sha256"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PaymentRow(Base):
    """One CLP claim payment of an 835; matched to our claim by CLP01, or kept unmatched."""

    __tablename__ = "payments"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbound_files.id"), index=True)
    claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claims.id"), index=True)
    control_number: Mapped[str] = mapped_column(String(38))
    status_code: Mapped[str] = mapped_column(String(4))
    outcome: Mapped[str] = mapped_column(String(16))
    charge_cents: Mapped[int] = mapped_column(BigInteger)
    paid_cents: Mapped[int] = mapped_column(BigInteger)
    patient_responsibility_cents: Mapped[int] = mapped_column(BigInteger)
    expected_cents: Mapped[int | None] = mapped_column(BigInteger)
    variance_cents: Mapped[int | None] = mapped_column(BigInteger)
    payer_claim_number: Mapped[str | None] = mapped_column(String(64))
    adjustments: Mapped[list[Any]] = mapped_column(default=list)
    remarks: Mapped[list[Any]] = mapped_column(default=list)
    lines: Mapped[list[Any]] = mapped_column(default=list)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DenialRow(Base):
    __tablename__ = "denials"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"))
    group_code: Mapped[str] = mapped_column(String(2))
    carc: Mapped[str] = mapped_column(String(8))
    rarcs: Mapped[list[Any]] = mapped_column(default=list)
    category: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    line_index: Mapped[int | None]
    payer_id: Mapped[str | None] = mapped_column(String(64))
    appealable: Mapped[bool]
    not_appealable_reason: Mapped[str | None] = mapped_column(Text)
    notice_date: Mapped[date]
    appeal_deadline: Mapped[date | None]
    work_queue: Mapped[str | None] = mapped_column(String(64))
    cause_table_version: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # open appealed closed
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AppealRow(Base):
    __tablename__ = "appeals"
    __table_args__ = (
        Index("uq_appeals_one_open_per_denial", "denial_id", unique=True, postgresql_where=text("status = 'open'")),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    denial_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("denials.id"), index=True)
    level: Mapped[str] = mapped_column(String(32))
    reason_sha256: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))  # open decided
    filed_by: Mapped[str] = mapped_column(String(128))
    filed_at: Mapped[datetime]
    decision: Mapped[str | None] = mapped_column(String(16))
    recovered_cents: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None]
