"""Code suggestions (computer-assisted coding): what an engine proposes and the one interface.

Every suggestion names the engine version that produced it, so a stored result can be
reproduced; every span points at the document and the character offsets of its excerpt, so the
workspace can highlight it and an accepted suggestion cites it as evidence. Engines are
replaceable: anything that satisfies `SuggestionEngine` (today the lexical engine in
`integrations.cac`) can be handed to the activity, the bench and the tests.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

# Why the engine chose a code: the text matched the code's own description, one of its
# inclusion terms, the description of its category (resolved to the unspecified billable code),
# or an everyday wording the engine's index maps to the code; or a status code for a mention that
# is not a current diagnosis: a past condition (personal history), a relative's (family history),
# a medicine the patient is on (long-term drug therapy).
Reason = Literal[
    "description",
    "inclusion_term",
    "category_description",
    "index_term",
    "personal_history",
    "family_history",
    "drug_therapy",
]
SuggestionStatus = Literal["open", "accepted", "rejected"]
CodeSource = Literal["suggestion", "manual"]


@dataclass(frozen=True)
class NoteDocument:
    """One document's text as the engine reads it (PHI: never a Temporal payload)."""

    document_id: str
    text: str


@dataclass(frozen=True)
class SupportSpan:
    document_id: str
    start: int  # character offsets into the document text, end exclusive
    end: int
    excerpt: str  # == text[start:end]


@dataclass(frozen=True)
class Suggestion:
    code: str  # billable ICD-10-CM, with the dot
    description: str
    confidence: float  # 0..1, higher first; comparable within one engine version only
    reason: Reason
    matched_term: str  # the description or inclusion term that matched
    spans: list[SupportSpan] = field(default_factory=list)
    engine_version: str = ""


class SuggestionEngine(Protocol):
    """Proposes billable diagnosis codes for a chart's documents, best first."""

    @property
    def version(self) -> str: ...

    def suggest(
        self, documents: Sequence[NoteDocument], *, date_of_service: date | None = None, limit: int = 20
    ) -> list[Suggestion]: ...


def code_source(suggestion_id: str | None) -> CodeSource:
    """A coded diagnosis came from an accepted suggestion when it carries that suggestion's id."""
    return "suggestion" if suggestion_id else "manual"


@dataclass(frozen=True)
class SuggestCodesInput:
    """The workflow asks for suggestions by ids only: note text never enters Temporal."""

    tenant_id: str
    encounter_id: str
