"""Reading back the claims of an 837P: just enough for the sandbox clearinghouse to answer.

Not a full X222A1 reader; it takes CLM, SV1/DTP*472 and the subscriber and payer names that
an 835 echoes, and raises `X12ParseError` for anything it cannot trust.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from integrations.billing.errors import X12ParseError
from integrations.billing.segments import Segment, read


@dataclass(frozen=True)
class SubmittedLine:
    procedure_code: str
    modifiers: list[str]
    charge_cents: int
    units: int
    service_date: date | None


@dataclass(frozen=True)
class SubmittedClaim:
    claim_control_number: str
    charge_cents: int
    member_id: str
    last_name: str
    first_name: str
    payer_id: str
    payer_name: str
    billing_npi: str = ""
    billing_name: str = ""
    lines: list[SubmittedLine] = field(default_factory=list)
    transaction_control: str = ""  # ST02 of the transaction set carrying the claim


def read_837p(data: str | bytes) -> list[SubmittedClaim]:
    claims: list[SubmittedClaim] = []
    for transaction in read(data, "837"):
        subscriber: Segment | None = None
        payer: Segment | None = None
        billing: Segment | None = None
        for seg in transaction:
            if seg.id == "NM1" and seg.get(1) == "85":
                billing = seg
            elif seg.id == "NM1" and seg.get(1) == "IL":
                subscriber = seg
            elif seg.id == "NM1" and seg.get(1) == "PR":
                payer = seg
            elif seg.id == "CLM":
                if subscriber is None or payer is None:
                    raise X12ParseError(f"{seg.where}: CLM before subscriber (NM1*IL) and payer")
                claims.append(
                    SubmittedClaim(seg.require(1, "claim control number"),
                                   seg.cents(2, "total claim charge"), subscriber.get(9),
                                   subscriber.get(3), subscriber.get(4), payer.get(9), payer.get(3),
                                   billing.get(9) if billing else "",
                                   billing.get(3) if billing else "",
                                   transaction_control=transaction[0].get(2))
                )  # fmt: skip
            elif seg.id == "SV1":
                if not claims:
                    raise X12ParseError(f"{seg.where}: SV1 before any CLM")
                claims[-1].lines.append(_line(seg))
            elif seg.id == "DTP" and seg.get(1) == "472" and claims and claims[-1].lines:
                last = claims[-1].lines[-1]
                claims[-1].lines[-1] = SubmittedLine(last.procedure_code, last.modifiers,
                                                     last.charge_cents, last.units,
                                                     seg.date(3, "service date"))  # fmt: skip
    return claims


def _line(seg: Segment) -> SubmittedLine:
    procedure = seg.components(1)
    if len(procedure) < 2:
        raise X12ParseError(f"{seg.where}: SV101 needs qualifier and procedure code")
    units = seg.decimal(4, "units") or 1
    return SubmittedLine(procedure[1], [m for m in procedure[2:] if m],
                         seg.cents(2, "line charge"), int(units), None)  # fmt: skip
