"""Typed tables: tenancy, intake inbox, encounter projection, documents and the audit chain."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Vendor(Base):
    __tablename__ = "vendors"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    vendor_id: Mapped[str | None] = mapped_column(String(64))
    npi: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]


class WebhookSource(Base):
    __tablename__ = "webhook_sources"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(128))
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class InboundMessage(Base):
    """Every accepted webhook body, kept verbatim; the stored response answers redeliveries."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("source_id", "webhook_id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_sources.id"))
    webhook_id: Mapped[str] = mapped_column(String(256))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    response: Mapped[dict[str, Any] | None]
    # Why its intake failed (bad data, or attempts used up), for operations to see and fix.
    failure: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None]


class Queue(Base):
    __tablename__ = "queues"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    vendor_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)


class RoutingRule(Base):
    """First matching rule (by position) picks the queue; a null field matches anything."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "queue_id"], ["queues.tenant_id", "queues.id"]),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    position: Mapped[int]
    encounter_type: Mapped[str | None] = mapped_column(String(64))
    specialty: Mapped[str | None] = mapped_column(String(64))
    payer_id: Mapped[str | None] = mapped_column(String(64))
    queue_id: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(default=0)


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    external_id: Mapped[str] = mapped_column(String(256))
    mrn: Mapped[str | None] = mapped_column(String(128))
    family: Mapped[str | None] = mapped_column(Text)
    given: Mapped[str | None] = mapped_column(Text)
    birth_date: Mapped[date | None]
    sex: Mapped[str | None] = mapped_column(String(16))
    address_line: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))


class Encounter(Base):
    """The projection of one encounter workflow: written only by its activities (and leases)."""

    __tablename__ = "encounters"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index(
            "ix_encounters_claimable", "tenant_id", "queue_id", "status", "priority", "received_at"
        ),
        Index(
            "ix_encounters_next_ready",
            "tenant_id",
            "queue_id",
            text("priority DESC"),
            "received_at",
            "id",
            postgresql_where=text("status = 'ready'"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    external_id: Mapped[str] = mapped_column(String(256))
    workflow_id: Mapped[str] = mapped_column(String(256), unique=True)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    status: Mapped[str] = mapped_column(String(32))
    queue_id: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(default=0)
    assignee_user: Mapped[str | None] = mapped_column(String(128))
    assignee_vendor: Mapped[str | None] = mapped_column(String(64))
    lease_token: Mapped[uuid.UUID | None]
    lease_expires_at: Mapped[datetime | None]
    worked_by: Mapped[list[str]] = mapped_column(ARRAY(String(128)), default=list)
    holds: Mapped[list[Any]] = mapped_column(default=list)
    codes: Mapped[dict[str, Any] | None]
    encounter_class: Mapped[str | None] = mapped_column(String(32))
    encounter_type: Mapped[str | None] = mapped_column(String(64))
    specialty: Mapped[str | None] = mapped_column(String(64))
    payer_id: Mapped[str | None] = mapped_column(String(64))
    payer_name: Mapped[str | None] = mapped_column(Text)
    member_id: Mapped[str | None] = mapped_column(String(80))  # Coverage.subscriberId, billed as-is
    subscriber_relationship: Mapped[str | None] = mapped_column(String(16))  # Coverage.relationship
    subscriber: Mapped[dict[str, Any] | None]  # the policy holder when not the patient
    practitioner: Mapped[dict[str, Any] | None]  # rendering provider: npi, family, given, taxonomy
    practitioner_npi: Mapped[str | None] = mapped_column(String(10))
    service_facility: Mapped[dict[str, Any] | None]  # the encounter's Location: name, address, npi (837P 2310C)
    date_of_service: Mapped[date | None]
    charges_cents: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
    sla_due_at: Mapped[datetime | None]
    overdue: Mapped[bool] = mapped_column(default=False)
    coded_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("encounter_id", "external_id", "sha256"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(256))
    version: Mapped[int] = mapped_column(default=1)
    type_code: Mapped[str | None] = mapped_column(String(64))
    type_display: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inbound_messages.id"))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TextBlob(Base):
    """Free text (evidence excerpts, notes) stored by content hash so workflows carry only the hash."""

    __tablename__ = "text_blobs"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    """Append-only, hash-chained per encounter; `seq` makes each write idempotent."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("encounter_id", "seq"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(index=True)
    seq: Mapped[int]
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    vendor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any]]
    after: Mapped[dict[str, Any]]
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any] | None]  # section digests of the rows this event left behind
    key_id: Mapped[str | None] = mapped_column(String(32))  # chain key of a keyed (HMAC) hash


class AuditLedgerEntry(Base):
    """Per-tenant chain of encounter chain heads: a deleted tail or a deleted chart is caught."""

    __tablename__ = "audit_ledger"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"), Index("ix_audit_ledger_encounter", "encounter_id", "seq"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    encounter_id: Mapped[uuid.UUID]
    event_count: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    chain: Mapped[str | None] = mapped_column(String(16))  # None: the encounter chain; "qa": its QA chain


class QaChainEvent(Base):
    """A chart's QA chain (findings, responses, reconciliation, audit close): keyed and ledgered like
    `audit_events`, apart from it because the workflow owns that chain's sequence numbers."""

    __tablename__ = "qa_chain_events"
    __table_args__ = (UniqueConstraint("encounter_id", "seq"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID]
    seq: Mapped[int]
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    vendor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any]]
    after: Mapped[dict[str, Any]]
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]]
    key_id: Mapped[str] = mapped_column(String(32))


class EvidenceReceipt(Base):
    """The keyed digest of a row as an activity wrote it, in the writing transaction: the next
    projection attests this digest, not whatever the row holds by then."""

    __tablename__ = "evidence_receipts"
    __table_args__ = (Index("ix_evidence_receipts_encounter", "encounter_id", "id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    encounter_id: Mapped[uuid.UUID]
    section: Mapped[str] = mapped_column(String(16))
    row_key: Mapped[str] = mapped_column(String(80))
    digest: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(32))
    mac: Mapped[str] = mapped_column(String(64))


class QueryRow(Base):
    """A physician documentation query; words live in text_blobs, referenced by hash."""

    __tablename__ = "queries"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open | answered | withdrawn | expired
    form: Mapped[str] = mapped_column(String(16))
    question_sha256: Mapped[str] = mapped_column(String(64))
    option_sha256s: Mapped[list[Any]] = mapped_column(default=list)
    indicators: Mapped[list[Any]] = mapped_column(default=list)
    yes_no_purpose: Mapped[str | None] = mapped_column(String(32))
    physician_npi: Mapped[str | None] = mapped_column(String(10), index=True)
    physician_user: Mapped[str | None] = mapped_column(String(128), index=True)
    asked_by: Mapped[str] = mapped_column(String(128))
    asked_role: Mapped[str] = mapped_column(String(32))
    vendor_id: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(128))
    option_index: Mapped[int | None]
    free_text_sha256: Mapped[str | None] = mapped_column(String(64))
    addendum_document_id: Mapped[uuid.UUID | None]
    confirmed_documented_option: Mapped[bool | None]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(128))


class HoldRow(Base):
    """Every hold ever placed, open or released: the history behind hold metrics."""

    __tablename__ = "holds"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    placed_at: Mapped[datetime]
    placed_by: Mapped[str] = mapped_column(String(128))
    query_id: Mapped[uuid.UUID | None]
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(128))


class NotificationRow(Base):
    """Outbound notices (email-shaped, no PHI in subject); `key` makes each send idempotent."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(String(256), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(256))
    subject: Mapped[str] = mapped_column(Text)
    query_id: Mapped[uuid.UUID | None]
    hold_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class QueryTemplateRow(Base):
    __tablename__ = "query_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(128))
    form: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[Any]] = mapped_column(default=list)
    yes_no_purpose: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
