"""The evidence packet for one encounter, assembled from plain facts with no I/O.

The packet answers "why was this claim coded this way". Assembly is pure so the judgement calls
(who counts as the first coder, how long a hold lasted, which documents preceded the final
coding) are unit-tested without a database, and the claims stage can plug its history in
through `ClaimHistory` without this module knowing its tables.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from models.coding.quotation import Span, in_context, quoted_at
from models.coding.suggestions import code_source

NO_CLAIM_ACTIVITY = "no claim activity yet"


@dataclass(frozen=True)
class EncounterFact:
    id: str
    external_id: str
    status: str
    received_at: datetime
    encounter_class: str | None = None
    specialty: str | None = None
    payer: str | None = None
    rendering_npi: str | None = None
    date_of_service: date | None = None
    coded_at: datetime | None = None


@dataclass(frozen=True)
class DocumentFact:
    id: str
    external_id: str
    version: int
    sha256: str
    received_at: datetime
    type_code: str | None = None
    type_display: str | None = None


@dataclass(frozen=True)
class EventFact:
    seq: int
    at: datetime
    action: str
    actor: str
    role: str
    hash: str
    vendor: str | None = None
    reason: str | None = None
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HoldFact:
    id: str
    reason: str
    placed_at: datetime
    placed_by: str
    released_at: datetime | None = None
    released_by: str | None = None
    query_id: str | None = None


@dataclass(frozen=True)
class IndicatorFact:
    document_id: str
    excerpt: str | None


@dataclass(frozen=True)
class QueryFact:
    """A query with its words already resolved from text_blobs."""

    id: str
    status: str
    form: str
    question: str | None
    indicators: Sequence[IndicatorFact]
    asked_by: str
    opened_at: datetime
    physician_npi: str | None = None
    physician_user: str | None = None
    options: Sequence[str | None] = ()
    answered_at: datetime | None = None
    answered_by: str | None = None
    answer_option: str | None = None
    answer_text: str | None = None
    addendum_document_id: str | None = None
    escalated_at: datetime | None = None
    expired_at: datetime | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None


@dataclass(frozen=True)
class FindingFact:
    """A QA auditor's finding on this chart and what came of it (each step is a QA chain event)."""

    id: str
    audit_id: str
    audit_name: str
    auditor: str
    coder: str
    kind: str
    code_type: str
    coder_code: str | None
    auditor_code: str | None
    category: str
    severity: str
    reference: str
    rationale: str
    state: str
    outcome: str | None
    opened_at: datetime
    resolved_at: datetime | None
    steps: Sequence[Mapping[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ChainFact:
    verified: bool
    events_checked: int
    head: str | None
    first_break: Mapping[str, Any] | None = None


# ---- the claims stage fills these (scrubber, 837P/277CA, 835 denials, appeals) --------------


@dataclass(frozen=True)
class ScrubEditEntry:
    run_no: int
    rule: str
    message: str
    at: datetime
    severity: str = "hard"  # hard | soft
    code: str | None = None
    resolution: str | None = None  # e.g. "recoded", "modifier 25 added", "acknowledged"
    resolved_by: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class ClaimEntry:
    claim_id: str
    control_number: str
    status: str
    submitted_at: datetime | None = None
    submitted_by: str | None = None
    total_charge_cents: int | None = None
    paid_cents: int | None = None
    acknowledgment: str | None = None  # 999/277CA outcome
    rejection: str | None = None


@dataclass(frozen=True)
class DenialEntry:
    denial_id: str
    claim_id: str
    group_code: str
    carc: str
    category: str
    notice_date: date
    rarcs: Sequence[str] = ()
    line_index: int | None = None
    amount_cents: int | None = None
    appeal_deadline: date | None = None
    status: str | None = None


@dataclass(frozen=True)
class AppealEntry:
    appeal_id: str
    denial_id: str
    level: str
    filed_at: datetime
    filed_by: str
    deadline: date | None = None
    status: str | None = None
    decision: str | None = None  # overturned | upheld | partial
    decided_at: datetime | None = None
    recovered_cents: int | None = None


@dataclass(frozen=True)
class ClaimHistory:
    scrubs: Sequence[ScrubEditEntry] = ()
    claims: Sequence[ClaimEntry] = ()
    denials: Sequence[DenialEntry] = ()
    appeals: Sequence[AppealEntry] = ()

    @property
    def empty(self) -> bool:
        return not (self.scrubs or self.claims or self.denials or self.appeals)


# ---- assembly ----------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    """Make dataclass output JSON-ready: datetimes and dates as ISO strings, tuples as lists."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso(v) for v in value]
    return value


def _quote(ev: Mapping[str, Any], excerpt: str | None, document: str | None) -> dict[str, Any]:
    """Offsets, the quote in its context, and whether the document still holds it there."""
    start, end = ev.get("start"), ev.get("end")
    if not (isinstance(start, int) and isinstance(end, int)):
        return {"start": None, "end": None, "context": None, "quote_verified": False}
    span = Span(start, end)
    held = excerpt is not None and document is not None and quoted_at(excerpt, document, span)
    return {
        "start": start,
        "end": end,
        "context": in_context(document, span) if held and document is not None else None,
        "quote_verified": held,
    }


def _code_lines(
    items: Sequence[Mapping[str, Any]],
    texts: Mapping[str, str],
    documents: Mapping[str, DocumentFact],
    document_texts: Mapping[str, str | None],
    *,
    diagnoses: bool = False,
) -> list[dict[str, Any]]:
    lines = []
    for position, item in enumerate(items, start=1):
        support = []
        for ev in item.get("evidence", []):
            doc = documents.get(str(ev.get("document_id")))
            excerpt = texts.get(ev.get("excerpt_sha256", ""))
            support.append(
                {
                    "document_id": ev.get("document_id"),
                    "document_external_id": doc.external_id if doc else None,
                    "document_version": doc.version if doc else None,
                    "document_sha256": doc.sha256 if doc else None,
                    "excerpt_sha256": ev.get("excerpt_sha256"),
                    "excerpt": excerpt,
                    **_quote(ev, excerpt, document_texts.get(str(ev.get("document_id")))),
                }
            )
        extra = {k: item[k] for k in ("modifiers", "units", "pointers") if k in item}
        if diagnoses:  # whether the code came from an accepted code suggestion or was entered by hand
            extra["source"] = code_source(item.get("suggestion_id"))
            extra["suggestion_id"] = item.get("suggestion_id") or None
        lines.append({"position": position, "code": item.get("code"), **extra, "support": support})
    return lines


def _actors(events: Sequence[EventFact], queries: Sequence[QueryFact], claims: ClaimHistory | None) -> dict[str, Any]:
    """First coder = who submitted the first coding (with the claim that led to it); last saver =
    the last coding submission; physicians = query answerers; auditors = any auditor event."""
    submits = [e for e in events if e.action == "submit_coding"]
    first_coder = None
    if submits:
        first = submits[0]
        claim = next((e for e in reversed(events) if e.action == "claim" and e.actor == first.actor and e.seq < first.seq), None)
        first_coder = {"user": first.actor, "vendor": first.vendor, "claimed_at": claim.at if claim else None, "coded_at": first.at}
    last = submits[-1] if submits else None
    coders: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.action in ("claim", "submit_coding"):
            c = coders.setdefault(e.actor, {"user": e.actor, "vendor": e.vendor, "first_at": e.at, "last_at": e.at})
            c["last_at"] = e.at
    auditors: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.role == "auditor":
            a = auditors.setdefault(e.actor, {"user": e.actor, "first_at": e.at, "last_at": e.at, "actions": []})
            a["last_at"] = e.at
            if e.action not in a["actions"]:
                a["actions"].append(e.action)
    submitted = [c for c in (claims.claims if claims else ()) if c.submitted_by]
    return {
        "first_coder": first_coder,
        "last_saver": {"user": last.actor, "vendor": last.vendor, "at": last.at} if last else None,
        "submitter": {"user": submitted[-1].submitted_by, "at": submitted[-1].submitted_at} if submitted else None,
        "coders": list(coders.values()),
        "auditors": list(auditors.values()),
        "physicians": [
            {"user": q.answered_by, "npi": q.physician_npi, "query_id": q.id, "answered_at": q.answered_at}
            for q in queries
            if q.answered_by
        ],
    }


def _holds(holds: Sequence[HoldFact], now: datetime) -> list[dict[str, Any]]:
    out = []
    for h in sorted(holds, key=lambda h: h.placed_at):
        ended = h.released_at or now
        out.append(
            {
                **dataclasses.asdict(h),
                "open": h.released_at is None,
                "duration_seconds": max(int((ended - h.placed_at).total_seconds()), 0),
            }
        )
    return out


def _claims(history: ClaimHistory | None) -> dict[str, Any]:
    if history is None or history.empty:
        return {"activity": False, "note": NO_CLAIM_ACTIVITY, "scrubs": [], "claims": [], "denials": [], "appeals": []}
    return {"activity": True, "note": None, **dataclasses.asdict(history)}


def build_packet(
    *,
    encounter: EncounterFact,
    documents: Sequence[DocumentFact],
    codes: Mapping[str, Any] | None,
    texts: Mapping[str, str],
    queries: Sequence[QueryFact],
    holds: Sequence[HoldFact],
    events: Sequence[EventFact],
    chain: ChainFact,
    now: datetime,
    claims: ClaimHistory | None = None,
    access_reason: str | None = None,
    document_texts: Mapping[str, str | None] | None = None,
    findings: Sequence[FindingFact] = (),
    qa_events: Sequence[EventFact] = (),
) -> dict[str, Any]:
    """The JSON-ready packet. Never carries whole documents: only the excerpts that support codes
    (each with a little context either side, to judge the quote in place) and the indicators
    queries cite, which were quoted from the record on purpose."""
    by_id = {d.id: d for d in documents}
    submits = [e.at for e in events if e.action == "submit_coding"]
    final_coding = submits[-1] if submits else None
    codes = codes or {}
    packet: dict[str, Any] = _iso(
        {
            "generated_at": now,
            "access_reason": access_reason,
            "encounter": dataclasses.asdict(encounter),
            "documents": [
                {**dataclasses.asdict(d), "before_final_coding": None if final_coding is None else d.received_at <= final_coding}
                for d in documents
            ],
            "codes": {
                "diagnoses": _code_lines(codes.get("diagnoses", []), texts, by_id, document_texts or {}, diagnoses=True),
                "procedures": _code_lines(codes.get("procedures", []), texts, by_id, document_texts or {}),
            },
            "queries": [dataclasses.asdict(q) for q in sorted(queries, key=lambda q: q.opened_at)],
            "holds": _holds(holds, now),
            "claim_history": _claims(claims),
            "actors": _actors(events, queries, claims),
            "events": [dataclasses.asdict(e) for e in events],
            "qa": {
                "findings": [dataclasses.asdict(f) for f in sorted(findings, key=lambda f: f.opened_at)],
                "events": [dataclasses.asdict(e) for e in qa_events],
            },
            "chain": dataclasses.asdict(chain),
        }
    )
    return packet
