"""Payloads of physician queries; the words live in PostgreSQL, the workflow sees hashes."""

from dataclasses import dataclass, field

from models.encounters.projection import QueryEvent as QueryEvent
from workflows.types.common import Actor


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
class AddendumInput:
    tenant_id: str
    encounter_id: str
    query_id: str
    text_sha256: str
