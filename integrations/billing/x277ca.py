"""Parsing 277CA claim acknowledgments (005010X214).

The claim is the patient-level HL (HL03=PT). Our CLM01 comes back in its TRN*2 (the
"claim status tracking number"); REF*1K is the payer's own claim number, and REF*D9 the
clearinghouse trace. A claim is accepted when its STC categories are acknowledgement or
acceptance (A0/A1/A2/A5) and none is a rejection (A3/A4/A6/A7/A8); other categories such as
E0-E4 (response not possible) or pending are not acceptance, so `accepted` is False.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from integrations.billing.errors import X12ParseError
from integrations.billing.segments import Segment, read

VERSION = "005010X214"
ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})


@dataclass(frozen=True)
class ClaimStatus:
    """One STC composite: category (STC01-1), status code (STC01-2), entity (STC01-3)."""

    category: str
    code: str
    entity: str = ""


@dataclass(frozen=True)
class ClaimAck:
    claim_control_number: str
    accepted: bool
    status_category: str
    status_code: str
    entity: str
    status_date: date | None
    free_text: str = ""
    payer_claim_number: str = ""
    clearinghouse_trace: str = ""
    charge_cents: int = 0
    service_date: date | None = None
    statuses: list[ClaimStatus] = field(default_factory=list)


def parse_277ca(data: str | bytes) -> list[ClaimAck]:
    """Every claim acknowledged in the file, in file order."""
    acks: list[ClaimAck] = []
    for transaction in read(data, "277", VERSION):
        claim: list[Segment] = []
        in_claim = False
        for seg in transaction[1:-1]:
            if seg.id == "HL":
                if claim:
                    acks.append(_ack(claim))
                claim, in_claim = [], seg.get(3) == "PT"
            if in_claim and seg.id != "HL":
                claim.append(seg)
        if claim:
            acks.append(_ack(claim))
    return acks


def _ack(segments: list[Segment]) -> ClaimAck:
    first = segments[0]
    trn = next((s for s in segments if s.id == "TRN" and s.get(1) == "2"), None)
    if trn is None:
        raise X12ParseError(f"{first.where}: patient-level HL has no TRN*2 claim tracking number")
    stcs = [s for s in segments if s.id == "STC" and not _after_service_line(segments, s)]
    if not stcs:
        raise X12ParseError(f"{trn.where}: claim {trn.get(2)!r} has no STC status")
    statuses = [status for stc in stcs for status in _statuses(stc)]
    categories = {s.category for s in statuses}
    refs = {s.get(1): s.get(2) for s in segments if s.id == "REF"}
    dtp = next((s for s in segments if s.id == "DTP" and s.get(1) == "472"), None)
    head = stcs[0]
    return ClaimAck(
        claim_control_number=trn.require(2, "claim tracking number"),
        accepted=bool(categories & ACCEPTED_CATEGORIES) and not categories & REJECTED_CATEGORIES,
        status_category=statuses[0].category,
        status_code=statuses[0].code,
        entity=statuses[0].entity,
        status_date=head.date(2, "status effective date") if head.get(2) else None,
        free_text=head.get(12),
        payer_claim_number=refs.get("1K", ""),
        clearinghouse_trace=refs.get("D9", ""),
        charge_cents=head.cents(4, "total claim charge", required=False),
        service_date=_service_date(dtp),
        statuses=statuses,
    )


def _after_service_line(segments: list[Segment], seg: Segment) -> bool:
    """STC inside a service line loop (after an SVC) describes the line, not the claim."""
    return any(s.id == "SVC" and s.position < seg.position for s in segments)


def _service_date(dtp: Segment | None) -> date | None:
    if dtp is None or not dtp.get(3):
        return None
    return dtp.date(3, "service date")


def _statuses(stc: Segment) -> list[ClaimStatus]:
    """STC01 plus the optional additional composites STC10 and STC11."""
    out = []
    for n in (1, 10, 11):
        parts = stc.components(n)
        if not parts:
            if n == 1:
                raise X12ParseError(f"{stc.where}: STC01 (claim status) is required but empty")
            continue
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise X12ParseError(
                f"{stc.where}: STC{n:02d} {stc.get(n)!r} needs category and status code "
                f"separated by {stc.delimiters.component!r}"
            )
        out.append(ClaimStatus(parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    return out
