"""Parsing 999 implementation acknowledgments (005010X231A1).

A 999 answers "was the file syntactically acceptable?" per functional group (AK1/AK9) and per
transaction (AK2/IK5), with IK3 (segment) and IK4 (element) errors that point into the file
we sent. A rejected 999 means no claim in that transaction reached the payer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.billing.errors import X12ParseError
from integrations.billing.segments import Segment, read

ACCEPTED_CODES = frozenset({"A", "E"})  # E: accepted, but errors were noted


@dataclass(frozen=True)
class ElementError:
    """IK4: position (IK401-1), component (IK401-2), data element reference, error code, bad value."""

    position: str
    component: str
    element_reference: str
    code: str
    bad_value: str = ""


@dataclass(frozen=True)
class SegmentError:
    """IK3: segment id, its position in the transaction set, loop id and syntax error code."""

    segment_id: str
    position: str
    loop_id: str
    code: str
    element_errors: list[ElementError] = field(default_factory=list)


@dataclass(frozen=True)
class TransactionAck:
    transaction_set: str
    control_number: str
    status: str
    errors: list[SegmentError] = field(default_factory=list)
    syntax_codes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED_CODES


@dataclass(frozen=True)
class FunctionalAck:
    """One AK1..AK9: the answer for one functional group we sent (AK102 = our GS06)."""

    functional_id: str
    group_control_number: str
    version: str
    status: str
    transactions_included: int
    transactions_received: int
    transactions_accepted: int
    transactions: list[TransactionAck] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED_CODES


def parse_999(data: str | bytes) -> list[FunctionalAck]:
    return [_group(transaction) for transaction in read(data, "999")]


def _group(segments: list[Segment]) -> FunctionalAck:
    ak1: Segment | None = None
    ak9: Segment | None = None
    acks: list[TransactionAck] = []
    current: dict[str, str] = {}
    errors: list[SegmentError] = []
    for seg in segments[1:-1]:
        if seg.id == "AK1":
            ak1 = seg
        elif seg.id == "AK2":
            current, errors = {"set": seg.require(1, "transaction set id"), "ctl": seg.get(2)}, []
        elif seg.id == "IK3":
            errors.append(
                SegmentError(seg.require(1, "segment id"), seg.get(2), seg.get(3), seg.get(4))
            )
        elif seg.id == "IK4":
            if not errors:
                raise X12ParseError(f"{seg.where}: IK4 element error without a preceding IK3")
            position = seg.components(1) or [""]
            errors[-1].element_errors.append(
                ElementError(position[0], position[1] if len(position) > 1 else "", seg.get(2),
                             seg.require(3, "element syntax error code"), seg.get(4))
            )  # fmt: skip
        elif seg.id == "IK5":
            if not current:
                raise X12ParseError(f"{seg.where}: IK5 without a preceding AK2")
            codes = [seg.get(n) for n in range(2, 7) if seg.get(n)]
            acks.append(TransactionAck(current["set"], current["ctl"],
                                       seg.require(1, "acknowledgment code"), errors, codes))  # fmt: skip
            current = {}
        elif seg.id == "AK9":
            ak9 = seg
    if ak1 is None or ak9 is None:
        raise X12ParseError(f"{segments[0].where}: a 999 needs both AK1 and AK9")
    return FunctionalAck(
        functional_id=ak1.require(1, "functional identifier code"),
        group_control_number=ak1.require(2, "group control number"),
        version=ak1.get(3),
        status=ak9.require(1, "functional group acknowledge code"),
        transactions_included=_int(ak9, 2),
        transactions_received=_int(ak9, 3),
        transactions_accepted=_int(ak9, 4),
        transactions=acks,
    )


def _int(seg: Segment, n: int) -> int:
    value = seg.require(n, "transaction count")
    if not value.isdigit():
        raise X12ParseError(f"{seg.where}: {seg.id}{n:02d} {value!r} is not a count")
    return int(value)
