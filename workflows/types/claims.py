"""Payloads of the claim stage: scrub, bill, payer answers, denials and appeals."""

from dataclasses import dataclass, field
from typing import Any

from models.coding.rules import CodingSubmission
from models.encounters.projection import DenialFacts as DenialFacts
from workflows.types.common import Actor


@dataclass(frozen=True)
class EditRef:
    rule: str
    severity: str
    code: str
    line_index: int | None = None


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
class SubmitResult:
    accepted: bool
    detail: str = ""


@dataclass(frozen=True)
class BillResult:
    claim_id: str
    control_number: str
    total_charge_cents: int
    held_for_qa: bool = False
    # Set by `claims.bill` (built and queued in one activity); None from `claims.create` alone.
    sent: SubmitResult | None = None


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
    """A denial read from an 835.

    `facts` is what is written with the state change; `values` is the untyped form requests
    carried before `facts` existed, still read from requests recorded in older histories."""

    id: str
    category: str
    appealable: bool
    deadline: str | None = None  # ISO date
    values: dict[str, Any] = field(default_factory=dict)
    facts: DenialFacts | None = None

    def written(self) -> DenialFacts | None:
        """The facts to write: typed ones, else those of an older request, else none."""
        if self.facts is not None:
            return self.facts
        return DenialFacts(**self.values) if self.values else None


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
