"""HTTP shapes for scrubs, claims, X12 intake, denials and appeals."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


class ScrubEditOut(BaseModel):
    rule: str
    severity: str
    line_index: int | None
    code: str
    message: str


class ScrubOut(BaseModel):
    id: str
    run_no: int
    clean: bool
    edits: list[ScrubEditOut]
    checks_ran: list[str]
    checks_skipped: list[dict[str, Any]]
    table_versions: dict[str, Any]
    acknowledgments: list[dict[str, Any]]
    created_at: datetime


class EditAckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str
    line_index: int | None = None
    reason: Reason


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    acknowledgments: list[EditAckIn] = Field(min_length=1)


class ClaimOut(BaseModel):
    id: str
    encounter_id: str
    control_number: str
    status: str
    payer_id: str | None
    payer_name: str | None
    total_charge_cents: int
    expected_cents: int | None
    paid_cents: int | None
    lines: list[dict[str, Any]]
    submitted_at: datetime | None
    acknowledged_at: datetime | None
    rejection: str | None
    filed: bool
    # The batch (interchange) the claim goes out in, its ST02 there, and the 999's answer for it;
    # a submitted claim with no submission id is waiting for its batch.
    batch_id: str | None = None
    submission_id: str | None = None  # the clearinghouse's receipt for the batch: the claim is out
    transaction_control: str | None = None
    syntax_ack: str | None = None


class DenialOut(BaseModel):
    id: str
    encounter_id: str
    claim_id: str
    group_code: str
    carc: str
    rarcs: list[str]
    category: str
    amount_cents: int
    line_index: int | None
    appealable: bool
    not_appealable_reason: str | None
    notice_date: date
    appeal_deadline: date | None
    work_queue: str | None
    status: str


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Literal["redetermination", "reconsideration", "alj", "council", "judicial", "first_level", "second_level", "external"] = "redetermination"
    reason: Reason


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["overturned", "upheld", "partial"]
    recovered_cents: int = Field(default=0, ge=0)


class WriteOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class AppealOut(BaseModel):
    id: str
    encounter_id: str
    denial_id: str
    level: str
    reason: str | None
    deadline: date
    status: str
    filed_by: str
    filed_at: datetime
    decision: str | None
    recovered_cents: int | None
    decided_at: datetime | None
