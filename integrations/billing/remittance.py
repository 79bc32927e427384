"""What an 835 says, as plain frozen dataclasses, plus the rules that read it.

Amounts are integer cents. The same types feed the parser (`x835.parse_835`) and the writer
(`x835_writer.build_835`), so a round trip is an equality check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

Outcome = Literal["paid", "partial", "denied", "reversed", "predetermination", "forwarded"]

# Every CLP02 claim status code of 005010X221A1, with what it means for the claim.
CLAIM_STATUS_CODES: dict[str, str] = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}
# Outcomes that record what the payer said but move no money and refuse nothing.
INFORMATIONAL = frozenset({"predetermination", "forwarded"})

# CO reasons that are the contract working as agreed, not a refusal to pay.
CONTRACTUAL_CARCS = frozenset({"45", "42", "59", "94", "131", "144", "237", "253"})
# PR reasons that move the balance to the patient's cost sharing (deductible, coinsurance, copay).
COST_SHARING_CARCS = frozenset({"1", "2", "3", "66", "241"})


@dataclass(frozen=True)
class Adjustment:
    """One CARC triplet of a CAS segment. `group` is CO, PR, OA, PI or CR."""

    group: str
    carc: str
    amount_cents: int
    quantity: Decimal | None = None


@dataclass(frozen=True)
class LinePayment:
    """Loop 2110 (SVC). `remarks` are the RARCs of LQ*HE."""

    procedure_code: str
    charge_cents: int
    paid_cents: int
    units: Decimal
    service_date: date | None = None
    modifiers: list[str] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    qualifier: str = "HC"


@dataclass(frozen=True)
class ClaimPayment:
    """Loop 2100 (CLP). `claim_control_number` is our CLM01 echoed back."""

    claim_control_number: str
    status_code: str
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    payer_claim_number: str
    filing_indicator: str = ""
    patient_member_id: str = ""
    patient_last_name: str = ""
    patient_first_name: str = ""
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    lines: list[LinePayment] = field(default_factory=list)


@dataclass(frozen=True)
class ProviderAdjustment:
    """One PLB pair. Positive amounts reduce the payment (e.g. WO overpayment recovery)."""

    reason_code: str
    reference: str
    amount_cents: int


@dataclass(frozen=True)
class Payee:
    name: str
    npi: str = ""


@dataclass(frozen=True)
class Remittance:
    """One 835 transaction: one payment (check/EFT) and the claims it settles.

    `payer_id` is TRN03 (the payer's originating company id); `trace_number` is TRN02, the
    check or EFT number used to reconcile with the bank deposit.
    """

    payer_name: str
    payer_id: str
    payee: Payee
    trace_number: str
    payment_date: date
    total_paid_cents: int
    claims: list[ClaimPayment] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    payment_method: str = "CHK"


def is_contractual(adj: Adjustment) -> bool:
    """CO-45 and friends: the fee schedule at work. Not a denial and not appealable."""
    return adj.group == "CO" and adj.carc in CONTRACTUAL_CARCS


def is_cost_sharing(adj: Adjustment) -> bool:
    """Deductible, coinsurance, copay: billed to the patient, not a denial."""
    return adj.group == "PR" and adj.carc in COST_SHARING_CARCS


def all_adjustments(claim: ClaimPayment) -> list[Adjustment]:
    """Claim-level adjustments followed by every line's, in file order."""
    return [*claim.adjustments, *(a for line in claim.lines for a in line.adjustments)]


def denial_adjustments(claim: ClaimPayment) -> list[Adjustment]:
    """Adjustments that refuse money: neither contractual nor patient cost sharing."""
    return [
        a
        for a in all_adjustments(claim)
        if a.amount_cents > 0 and not is_contractual(a) and not is_cost_sharing(a)
    ]


def claim_outcome(claim: ClaimPayment) -> Outcome:
    """Classify a claim payment for the workflow: paid, partial, denied or reversed.

    Status 22 (or a negative payment) is a reversal and status 4 a denial; 25 (predetermination)
    and 23 (not this payer's claim, forwarded) are informational, never denials. A zero payment
    that went entirely to the deductible is still "paid": the payer accepted and priced the
    claim, the patient owes the rest. Any denial reason next to a payment makes it partial.
    """
    if claim.status_code == "22" or claim.paid_cents < 0:
        return "reversed"
    if claim.status_code == "25":
        return "predetermination"
    if claim.status_code == "23":
        return "forwarded"
    if claim.status_code == "4":
        return "denied"
    denials = denial_adjustments(claim)
    if claim.paid_cents == 0:
        if denials:
            return "denied"
        return "paid" if any(is_cost_sharing(a) for a in all_adjustments(claim)) else "denied"
    return "partial" if denials else "paid"
