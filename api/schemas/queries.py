"""HTTP shapes for physician queries and query templates."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
QueryForm = Literal["open_ended", "multiple_choice", "yes_no"]
YesNoPurpose = Literal["confirm_documented", "present_on_admission", "cause_and_effect"]


class IndicatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: str = Field(description="one of the encounter's documents")
    excerpt: Text = Field(description="quoted verbatim from that document")


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    physician_npi: str | None = Field(default=None, pattern=r"^\d{10}$")
    physician_user: str | None = None
    question: Text
    form: QueryForm = "open_ended"
    indicators: list[IndicatorIn] = Field(default_factory=list, max_length=20)
    options: list[Text] = Field(default_factory=list, max_length=12)
    yes_no_purpose: YesNoPurpose | None = None
    proposed_diagnosis: Text | None = Field(default=None, description="the documented condition a yes/no query is about")

    @model_validator(mode="after")
    def _addressed(self) -> "QueryIn":
        if not self.physician_npi and not self.physician_user:
            raise ValueError("address the query to a physician: give physician_npi or physician_user")
        return self


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    option_index: int | None = Field(default=None, ge=0, description="0-based index of the chosen option")
    free_text: Text | None = None
    addendum: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)] | None = Field(
        default=None, description="documentation addendum, stored as a new document of the encounter"
    )

    @model_validator(mode="after")
    def _something(self) -> "AnswerIn":
        if self.option_index is None and not self.free_text:
            raise ValueError("answer with option_index (for multiple choice and yes/no) or free_text")
        return self


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = ""


class IndicatorOut(BaseModel):
    document_id: str
    excerpt: str | None


class QueryOut(BaseModel):
    id: str
    encounter_id: str
    status: str
    form: str
    question: str | None
    options: list[str | None]
    indicators: list[IndicatorOut]
    yes_no_purpose: str | None
    physician_npi: str | None
    physician_user: str | None
    asked_by: str
    vendor_id: str | None
    opened_at: datetime
    age_days: int
    escalated_at: datetime | None
    expired_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
    answer_option: str | None
    answer_text: str | None
    addendum_document_id: str | None
    withdrawn_at: datetime | None


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    question: Text
    form: QueryForm = "open_ended"
    options: list[Text] = Field(default_factory=list, max_length=12)
    yes_no_purpose: YesNoPurpose | None = None


class TemplateOut(TemplateIn):
    id: str
    created_by: str
