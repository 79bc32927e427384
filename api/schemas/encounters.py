"""HTTP shapes for encounters, coding, holds and queues: pydantic at the untrusted edge."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.claims import ScrubOut
from models.encounters.holds import HoldReason

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: str = Field(description="id of one of the encounter's documents")
    excerpt: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)] = Field(
        description="quoted from that document (whitespace may differ; words, case and punctuation may not)"
    )
    near: int | None = Field(
        default=None, ge=0, description="character offset of the selection, to pick among repeated occurrences"
    )


class DiagnosisIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    evidence: list[EvidenceIn] = Field(default_factory=list)
    suggestion_id: uuid.UUID | None = Field(default=None, description="the code suggestion this code accepts, if any")


class ProcedureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    modifiers: list[Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)]] = Field(default_factory=list)
    units: int = 1
    pointers: list[int] = Field(default_factory=list, description="1-based indexes into diagnoses")
    evidence: list[EvidenceIn] = Field(default_factory=list)


class CodingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    diagnoses: list[DiagnosisIn] = Field(max_length=12)
    procedures: list[ProcedureIn] = Field(default_factory=list, max_length=50)


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: HoldReason
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class HoldReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_user: str | None = Field(default=None, description="coder to lease the chart to; null returns it to its queue")
    to_vendor: str | None = None


class HoldOut(BaseModel):
    id: str
    reason: str
    placed_at: datetime | None = None
    placed_by: str | None = None
    # What to do about it, where the reason alone does not say (e.g. the code set to load).
    detail: str | None = None


class EncounterSummary(BaseModel):
    id: str
    external_id: str
    status: str
    queue: str | None
    priority: int
    assignee: str | None
    assignee_vendor: str | None
    lease_expires_at: datetime | None
    encounter_class: str | None
    specialty: str | None
    payer: str | None
    date_of_service: date | None
    received_at: datetime
    sla_due_at: datetime | None
    overdue: bool
    holds: list[HoldOut]


class DocumentOut(BaseModel):
    id: str
    external_id: str
    version: int
    type_code: str | None
    type_display: str | None
    content_type: str | None
    sha256: str
    received_at: datetime
    text: str | None = Field(
        default=None,
        description="the note's text, for callers entitled to read it (operations, auditors, the coder holding the lease); "
        "the first 100,000 characters when longer",
    )
    text_length: int | None = Field(default=None, description="characters in the whole text")
    text_truncated: bool = False
    content_url: str | None = Field(default=None, description="the whole text as a download (text/plain)")


class TimelineEvent(BaseModel):
    seq: int
    at: datetime
    action: str
    actor: str
    role: str
    vendor: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str | None
    hash: str


class PatientOut(BaseModel):
    mrn: str | None
    family: str | None
    given: str | None
    birth_date: date | None
    sex: str | None


class SpanOut(BaseModel):
    document_id: str
    start: int
    end: int
    excerpt: str


class SuggestionOut(BaseModel):
    id: str
    code: str
    description: str
    confidence: float
    rank: int
    reason: str = Field(description="description | inclusion_term | category_description | index_term | personal_history | family_history | drug_therapy")
    matched_term: str
    spans: list[SpanOut]
    engine_version: str
    status: str = Field(description="open | accepted | rejected")
    decided_by: str | None
    decided_at: datetime | None


class SuggestionDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["accepted", "rejected"]


class EncounterDetail(EncounterSummary):
    allowed_actions: list[str]
    scrub: ScrubOut | None = Field(default=None, description="the latest scrub, on the coding answer")
    patient: PatientOut | None
    codes: dict[str, Any] | None
    coded_at: datetime | None
    documents: list[DocumentOut]
    timeline: list[TimelineEvent]
    suggestions: list[SuggestionOut] | None = Field(
        default=None, description="ICD-10-CM code suggestions with their supporting spans (GET only)"
    )


class EncounterPage(BaseModel):
    items: list[EncounterSummary]
    next_cursor: str | None


class QueueOut(BaseModel):
    id: str
    name: str
    vendors: list[str]
    depth: int
    in_coding: int
    on_hold: int
    overdue: int
    oldest_received_at: datetime | None
    oldest_age_seconds: int | None


class CodingIssueOut(BaseModel):
    path: str
    code: str
    rule: str
    message: str
