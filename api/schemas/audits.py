"""HTTP shapes for QA audits: sampling plans, re-coding, findings, rebuttals and education."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.fields import Day
from models.qa.rules import FindingInput
from models.qa.sampling import SamplingPlan, UniverseFilter
from models.repositories.qa_audits import AuditOptions

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
RiskFlag = Literal["high_dollar", "99215", "mod25", "mod59"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UniverseIn(Strict):
    date_from: Day | None = None
    date_to: Day | None = Field(default=None, description="inclusive")
    vendors: list[str] = Field(default_factory=list)
    coders: list[str] = Field(default_factory=list)
    specialties: list[str] = Field(default_factory=list)
    payers: list[str] = Field(default_factory=list)
    risk_flags: list[RiskFlag] = Field(default_factory=list, description="keep charts carrying any")


class AuditIn(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    timing: Literal["prospective", "retrospective"] = Field(
        default="retrospective", description="prospective: sampled charts are held pre-bill"
    )
    method: Literal["simple_random", "stratified", "census"]
    seed: int = Field(ge=0, le=2**63 - 1, description="same frame + plan + seed → same sample")
    size: int | None = Field(default=None, ge=1, description="omit to compute it (attribute sampling)")
    confidence: float = Field(default=0.95, ge=0.5, le=0.999)
    precision: float = Field(default=0.05, ge=0.001, lt=1, description="half-width of the interval")
    expected_error_rate: float | None = Field(default=None, ge=0, le=1)
    strata_key: Literal["vendor", "coder", "specialty", "payer", "risk"] | None = None
    allocation: Literal["proportional", "equal", "neyman"] = "proportional"
    universe: UniverseIn = Field(default_factory=UniverseIn)
    blind: bool = Field(default=True, description="hide the coder's codes until the auditor submits")
    double_review_share: float = Field(default=0.10, ge=0, le=1)
    auditors: list[str] = Field(
        default_factory=list, description="optional rotation; with two or more, second reviews are assigned"
    )
    pass_threshold: float = Field(default=0.95, gt=0, le=1)
    high_dollar_cents: int = Field(default=500_000, ge=0)

    def plan(self) -> SamplingPlan:
        u = self.universe
        universe = UniverseFilter(
            u.date_from.isoformat() if u.date_from else None, u.date_to.isoformat() if u.date_to else None,
            list(u.vendors), list(u.coders), list(u.specialties), list(u.payers), list(u.risk_flags),
        )  # fmt: skip
        return SamplingPlan(
            self.method, self.seed, self.size, self.confidence, self.precision, self.expected_error_rate,
            self.strata_key, self.allocation, universe,
        )  # fmt: skip

    def options(self) -> AuditOptions:
        return AuditOptions(
            self.name, self.timing, self.blind, self.double_review_share, list(dict.fromkeys(self.auditors)),
            self.pass_threshold, self.high_dollar_cents,
        )  # fmt: skip


class DxIn(Strict):
    code: Code
    poa: Literal["Y", "N", "U", "W", "1"] | None = None


class PxIn(Strict):
    code: Code
    modifiers: list[Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)]] = Field(
        default_factory=list
    )
    units: int = Field(default=1, ge=1, le=999)


class ReviewIn(Strict):
    diagnoses: list[DxIn] = Field(max_length=25)
    procedures: list[PxIn] = Field(default_factory=list, max_length=50)


class ReferenceIn(Strict):
    kind: str = Field(description="official_guidelines, coding_clinic, payer_policy, ncci_manual or cpt_assistant")
    citation: Text = ""
    url: Text = ""


class FindingIn(Strict):
    draft: int = Field(ge=0, description="index into the drafts the review returned")
    category: str | None = None
    severity: Literal["low", "medium", "high"] = "medium"
    reference: ReferenceIn | None = None
    rationale: Text = ""


class FindingsIn(Strict):
    findings: list[FindingIn]

    def inputs(self) -> list[FindingInput]:
        return [
            FindingInput(f.draft, f.category, f.severity, f.reference.kind if f.reference else None,
                         f.reference.citation if f.reference else "", f.reference.url if f.reference else "", f.rationale)
            for f in self.findings
        ]  # fmt: skip


class RespondIn(Strict):
    action: Literal["agree", "dispute"]
    comment: Text = ""


class ReconcileIn(Strict):
    outcome: Literal["upheld", "revised", "withdrawn"]
    comment: Text
    category: str | None = None
    severity: Literal["low", "medium", "high"] | None = None


class EducationIn(Strict):
    coder_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    category: str
    note: Text = ""
    audit_id: str | None = None


class DraftOut(BaseModel):
    index: int
    kind: str
    code_type: str
    coder_code: str | None
    auditor_code: str | None
    financial_direction: str
    line: int
    suggested_category: str


class FindingOut(BaseModel):
    id: str
    audit_id: str
    encounter_id: str
    coder_id: str
    vendor_id: str | None
    auditor_id: str
    kind: str
    code_type: str
    coder_code: str | None
    auditor_code: str | None
    financial_direction: str
    category: str
    severity: str
    reference: dict[str, str]
    rationale: str
    state: str
    outcome: str | None
    allowed_actions: list[str]
    opened_at: datetime
    resolved_at: datetime | None
    time_to_resolution_hours: float | None
    events: list[dict[str, Any]]


class EducationOut(BaseModel):
    id: str
    coder_id: str
    category: str
    note: str
    audit_id: str | None
    cycle: int
    assigned_by: str
    assigned_at: datetime
    acknowledged_at: datetime | None
