"""Payloads of the encounter workflow: ids, codes and states only — no names, no note text."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models.coding import CodingSubmission


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str
    vendor_id: str | None = None


SYSTEM = Actor(user_id="system", role="system")


@dataclass(frozen=True)
class Policy:
    """Tenant durations, read by the intake activity so the workflow stays deterministic."""

    lease_minutes: int = 30
    coding_sla_hours: int = 72


@dataclass
class Hold:
    id: str
    reason: str
    placed_at: datetime
    placed_by: str
    note_sha256: str | None = None


@dataclass
class Snapshot:
    """Everything the workflow knows; also what continue-as-new carries forward."""

    status: str = "received"
    seq: int = 0
    queue_id: str | None = None
    priority: int = 0
    assignee_user: str | None = None
    assignee_vendor: str | None = None
    lease_token: str | None = None
    lease_expires_at: datetime | None = None
    holds: list[Hold] = field(default_factory=list)
    coding: CodingSubmission | None = None
    coded_at: datetime | None = None
    worked_by: list[str] = field(default_factory=list)
    doc_types: list[str] = field(default_factory=list)
    required_doc_types: list[str] = field(default_factory=list)
    received_at: datetime | None = None
    sla_due_at: datetime | None = None
    overdue: bool = False
    policy: Policy = field(default_factory=Policy)
    ingested: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EncounterInput:
    tenant_id: str
    encounter_id: str
    snapshot: Snapshot | None = None
    # Continue-as-new past this many history events keeps replay cheap for long-lived charts.
    history_limit: int = 2000


@dataclass(frozen=True)
class IngestRequest:
    message_id: str
    bundle_index: int = 0


@dataclass(frozen=True)
class IntakeInput:
    tenant_id: str
    encounter_id: str
    workflow_id: str
    message_id: str
    bundle_index: int


@dataclass(frozen=True)
class IntakeFacts:
    external_id: str
    doc_types: list[str]
    new_document_ids: list[str]
    required_doc_types: list[str]
    queue_id: str | None
    priority: int
    policy: Policy


@dataclass(frozen=True)
class ClaimRequest:
    actor: Actor
    lease_token: str


@dataclass(frozen=True)
class ReleaseRequest:
    actor: Actor


@dataclass(frozen=True)
class ReassignRequest:
    actor: Actor
    to_user: str | None = None
    to_vendor: str | None = None


@dataclass(frozen=True)
class SubmitCodingRequest:
    actor: Actor
    coding: CodingSubmission


@dataclass(frozen=True)
class PlaceHoldRequest:
    actor: Actor
    reason: str
    note_sha256: str | None = None


@dataclass(frozen=True)
class ReleaseHoldRequest:
    actor: Actor
    hold_id: str
    resolution_sha256: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What every update answers: the state the caller can now read back from the API."""

    encounter_id: str
    status: str
    seq: int
    hold_id: str | None = None


@dataclass(frozen=True)
class ProjectInput:
    tenant_id: str
    encounter_id: str
    seq: int
    action: str
    actor: Actor
    before: dict[str, Any]
    after: dict[str, Any]
    occurred_at: datetime
    row: dict[str, Any]
    reason: str | None = None
