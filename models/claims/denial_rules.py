"""From one 835 claim payment to the denials it carries: root cause, appealability, deadline.

Pure: the API computes these rows and the workflow writes them with the state change, so an
accepted remittance is never half-applied. The 835's shapes are described here as protocols
(the parser's dataclasses satisfy them), and ids come from the caller.
"""

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol

from models.claims.appeals import (
    COMMERCIAL_LEVELS,
    MEDICARE_LEVELS,
    PayerKind,
    appeal_deadline,
    appealable,
)
from models.claims.denials import DEFAULT_CARC_TABLE, CarcTable, DenialCategory, categorize

# Coding and documentation denials go to the coding team's denial queue with the evidence.
CODING_QUEUE = "denials-coding"
GENERAL_QUEUE = "denials"


class AdjustmentLike(Protocol):
    """One CARC triplet of a CAS segment (group CO, PR, OA, PI or CR)."""

    @property
    def group(self) -> str: ...
    @property
    def carc(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...


class LineLike(Protocol):
    @property
    def adjustments(self) -> Sequence[AdjustmentLike]: ...
    @property
    def remarks(self) -> Sequence[str]: ...


class ClaimPaymentLike(Protocol):
    """What the rules read of an 835 claim payment (loop 2100 and its service lines)."""

    @property
    def adjustments(self) -> Sequence[AdjustmentLike]: ...
    @property
    def remarks(self) -> Sequence[str]: ...
    @property
    def lines(self) -> Sequence[LineLike]: ...


class ClaimLike(Protocol):
    id: uuid.UUID
    encounter_id: uuid.UUID
    payer_id: str | None


def payer_kind(payer_id: str | None) -> PayerKind:
    key = (payer_id or "").upper()
    if key.startswith("MEDICARE") or key in {"CMS", "MCR"}:
        return "medicare"
    if key.startswith("MEDICAID") or key in {"MCD"}:
        return "medicaid"
    return "commercial"


def first_level(kind: PayerKind) -> str:
    return MEDICARE_LEVELS[0] if kind == "medicare" else COMMERCIAL_LEVELS[0]


def denial_values(
    cp: ClaimPaymentLike,
    *,
    claim: ClaimLike,
    payment_id: uuid.UUID,
    notice_date: date,
    new_id: Callable[[], uuid.UUID],
    table: CarcTable = DEFAULT_CARC_TABLE,
) -> list[dict[str, Any]]:
    """Every claim- and line-level adjustment that is a denial (not contractual, not patient share);
    `new_id` names each denial."""
    found: list[tuple[AdjustmentLike, int | None, list[str]]] = [(a, None, list(cp.remarks)) for a in cp.adjustments]
    for index, line in enumerate(cp.lines):
        found += [(a, index, list(line.remarks) + list(cp.remarks)) for a in line.adjustments]
    kind = payer_kind(claim.payer_id)
    out: list[dict[str, Any]] = []
    for adj, line_index, rarcs in found:
        category = categorize(adj.group, adj.carc, rarcs, table)
        if category is None:
            continue
        can_appeal, why = appealable([adj.carc], rarcs)
        deadline = appeal_deadline(notice_date, kind, first_level(kind), payer_id=claim.payer_id) if can_appeal else None
        denial_id = new_id()
        coding = category in (DenialCategory.CODING, DenialCategory.DOCUMENTATION)
        values = {
            "encounter_id": str(claim.encounter_id),
            "claim_id": str(claim.id),
            "payment_id": str(payment_id),
            "group_code": adj.group,
            "carc": adj.carc,
            "rarcs": rarcs,
            "category": str(category),
            "amount_cents": adj.amount_cents,
            "line_index": line_index,
            "payer_id": claim.payer_id,
            "appealable": can_appeal,
            "not_appealable_reason": None if can_appeal else why,
            "notice_date": notice_date.isoformat(),
            "appeal_deadline": deadline.isoformat() if deadline else None,
            "work_queue": CODING_QUEUE if coding else GENERAL_QUEUE,
            "cause_table_version": table.version,
            "status": "open",
        }
        out.append({"id": denial_id, "category": str(category), "appealable": can_appeal,
                    "appeal_deadline": values["appeal_deadline"], "values": values})
    return out
