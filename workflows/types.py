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
    npi: str | None = None


SYSTEM = Actor(user_id="system", role="system")


@dataclass(frozen=True)
class Policy:
    """Tenant durations, read by the intake activity so the workflow stays deterministic."""

    lease_minutes: int = 30
    coding_sla_hours: int = 72
    query_reminder_hours: float = 24
    query_escalate_hours: float = 48
    query_expire_hours: float = 168
    # After an answer the chart goes back to the coder who asked (True) or to the front of its
    # queue (False).
    query_keeps_assignee: bool = True
    query_escalate_to: str = "physician-advisor"
    hold_alert_hours: dict[str, float] = field(default_factory=dict)
    claim_follow_up_days: int = 30
    # Clean claims wait this long before billing, so prospective QA audits can sample them.
    prebill_review_hours: float = 0
    appeal_warning_days: list[int] = field(default_factory=lambda: [30, 14, 7, 1])


@dataclass
class Hold:
    id: str
    reason: str
    placed_at: datetime
    placed_by: str
    note_sha256: str | None = None
    query_id: str | None = None
    alerted: bool = False


@dataclass
class OpenQuery:
    """A physician query still waiting for an answer (or withdrawal); its timers run from opened_at."""

    id: str
    hold_id: str
    asked_by: str
    opened_at: datetime
    physician_npi: str | None = None
    physician_user: str | None = None
    fired: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EditRef:
    rule: str
    severity: str
    code: str
    line_index: int | None = None


@dataclass
class OpenDenial:
    id: str
    appealable: bool
    deadline: datetime | None = None
    fired: list[int] = field(default_factory=list)  # warning offsets (days) already sent


@dataclass
class ClaimState:
    """The claim in flight for this encounter (a rework produces a new one)."""

    scrub_id: str | None = None
    scrub_runs: int = 0
    pending_soft: list[EditRef] = field(default_factory=list)
    ready_to_bill: bool = False
    bill_after: datetime | None = None
    qa_held: bool = False
    claim_id: str | None = None
    control_number: str | None = None
    submitted_at: datetime | None = None
    follow_up_sent: bool = False
    denials: list[OpenDenial] = field(default_factory=list)
    appeal_id: str | None = None
    appeal_denial_id: str | None = None


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
    # The state a chart returns to when its last hold is released, if not the coder's desk or
    # the queue (a chart held after coding goes back to coded).
    resume_status: str | None = None
    queries: list[OpenQuery] = field(default_factory=list)
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
    claim: ClaimState = field(default_factory=ClaimState)


@dataclass(frozen=True)
class EncounterInput:
    tenant_id: str
    encounter_id: str
    snapshot: Snapshot | None = None
    # Continue-as-new past this many history events keeps replay cheap for long-lived charts.
    history_limit: int = 2000
    # Claim building and submission run on this task queue (its own worker), so a burst of
    # billing never waits in line with a coder's submit; None keeps them on the workflow's queue.
    billing_task_queue: str | None = None


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
    # Why no ICD-10-CM release serves the date of service (the release and the command to load
    # it), or None. Histories recorded before it existed carry no such field: None.
    codeset_missing: str | None = None


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
class IndicatorRef:
    document_id: str
    excerpt_sha256: str


@dataclass(frozen=True)
class RaiseQueryRequest:
    """The query's words live in PostgreSQL (text_blobs); the workflow sees their hashes."""

    actor: Actor
    query_id: str
    form: str
    question_sha256: str
    indicators: list[IndicatorRef]
    physician_npi: str | None = None
    physician_user: str | None = None
    option_sha256s: list[str] = field(default_factory=list)
    yes_no_purpose: str | None = None


@dataclass(frozen=True)
class AnswerQueryRequest:
    actor: Actor
    query_id: str
    option_index: int | None = None
    free_text_sha256: str | None = None
    addendum_sha256: str | None = None
    confirmed_documented_option: bool | None = None
    delegate_of: str | None = None  # the addressed physician (user id or NPI) a delegate answers for


@dataclass(frozen=True)
class WithdrawQueryRequest:
    actor: Actor
    query_id: str
    reason_sha256: str | None = None


@dataclass(frozen=True)
class QueryEvent:
    """What the projection writes to the queries table for one query change."""

    query_id: str
    status: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    tenant_id: str
    encounter_id: str
    key: str
    kind: str
    recipient: str
    subject: str
    query_id: str | None = None
    hold_id: str | None = None


@dataclass(frozen=True)
class AddendumInput:
    tenant_id: str
    encounter_id: str
    query_id: str
    text_sha256: str


@dataclass(frozen=True)
class Record:
    """A row the projection writes beside the encounter (claims, denials, appeals, scrubs)."""

    table: str
    id: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScrubRequest:
    tenant_id: str
    encounter_id: str
    run_no: int
    coding: CodingSubmission


@dataclass(frozen=True)
class ScrubOutcome:
    scrub_id: str
    hard: list[EditRef] = field(default_factory=list)
    soft: list[EditRef] = field(default_factory=list)


@dataclass(frozen=True)
class BillRequest:
    tenant_id: str
    encounter_id: str
    scrub_id: str
    coding: CodingSubmission


@dataclass(frozen=True)
class BillResult:
    claim_id: str
    control_number: str
    total_charge_cents: int
    held_for_qa: bool = False


@dataclass(frozen=True)
class SubmitResult:
    accepted: bool
    detail: str = ""


@dataclass(frozen=True)
class EditAck:
    rule: str
    line_index: int | None
    reason_sha256: str


@dataclass(frozen=True)
class AcknowledgeEditsRequest:
    actor: Actor
    scrub_id: str
    acknowledgments: list[EditAck]


@dataclass(frozen=True)
class ClaimAckRequest:
    """A 277CA answer for our claim (matched by the API on CLM01)."""

    claim_id: str
    accepted: bool
    status: str
    message: str = ""
    file_id: str | None = None


@dataclass(frozen=True)
class DenialRef:
    """A denial read from an 835; `values` is its row, written with the state change."""

    id: str
    category: str
    appealable: bool
    deadline: str | None = None  # ISO date
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RemitRequest:
    claim_id: str
    payment_id: str
    outcome: str  # paid | partial | denied | reversed
    paid_cents: int
    denials: list[DenialRef] = field(default_factory=list)


@dataclass(frozen=True)
class AppealRequest:
    actor: Actor
    appeal_id: str
    denial_id: str
    level: str
    reason_sha256: str
    deadline: str  # ISO date


@dataclass(frozen=True)
class WriteOffRequest:
    actor: Actor
    reason: str = "written off"


@dataclass(frozen=True)
class AppealDecisionRequest:
    actor: Actor
    appeal_id: str
    decision: str  # overturned | upheld | partial
    recovered_cents: int = 0


@dataclass(frozen=True)
class Outcome:
    """What every update answers: the state the caller can now read back from the API."""

    encounter_id: str
    status: str
    seq: int
    hold_id: str | None = None
    query_id: str | None = None
    scrub_id: str | None = None
    claim_id: str | None = None


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
    query: QueryEvent | None = None
    records: list[Record] = field(default_factory=list)
