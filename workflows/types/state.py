"""The encounter workflow's own state, carried across continue-as-new."""

from dataclasses import dataclass, field
from datetime import datetime

from models.coding.rules import CodingSubmission
from workflows.types.claims import EditRef
from workflows.types.common import Policy


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
