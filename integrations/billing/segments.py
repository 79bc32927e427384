"""Reading X12 interchanges into segments, with the envelope checks every parser needs.

Delimiters are taken from the ISA (element separator at ISA's fourth byte, component
separator ISA16, repetition separator ISA11, segment terminator after ISA16), never assumed:
payer files differ (`:` vs `|` vs `<`). Line breaks around terminators are tolerated.
Every problem becomes an `X12ParseError` naming the 1-based segment position, so a
support person can open the file and go straight to the fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from integrations.billing.errors import UnsupportedVersion, X12ParseError

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)")
_ISA_ELEMENTS = 16


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    segment: str
    repetition: str | None


@dataclass(frozen=True)
class Segment:
    """One segment; `elements[0]` is XX01. Accessors are 1-based like the X12 guides."""

    position: int
    id: str
    elements: tuple[str, ...]
    delimiters: Delimiters

    @property
    def where(self) -> str:
        return f"segment {self.position} ({self.id})"

    def get(self, n: int) -> str:
        return self.elements[n - 1] if 0 < n <= len(self.elements) else ""

    def require(self, n: int, what: str) -> str:
        value = self.get(n)
        if not value:
            raise X12ParseError(f"{self.where}: {self.id}{n:02d} ({what}) is required but empty")
        return value

    def components(self, n: int) -> list[str]:
        value = self.get(n)
        return value.split(self.delimiters.component) if value else []

    def cents(self, n: int, what: str, *, required: bool = True) -> int:
        value = self.require(n, what) if required else self.get(n)
        return parse_cents(value, f"{self.where} {self.id}{n:02d} ({what})") if value else 0

    def decimal(self, n: int, what: str) -> Decimal | None:
        value = self.get(n)
        return parse_decimal(value, f"{self.where} {self.id}{n:02d} ({what})") if value else None

    def date(self, n: int, what: str) -> date:
        return parse_date(self.require(n, what), f"{self.where} {self.id}{n:02d} ({what})")


def parse_decimal(value: str, where: str) -> Decimal:
    """X12 R type: at most 18 characters, digits with an optional sign and decimal point."""
    if len(value) > 18 or not _NUMBER.fullmatch(value):
        raise X12ParseError(f"{where}: {value[:20]!r} is not a decimal number")
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
        raise X12ParseError(f"{where}: {value[:20]!r} is not a decimal number") from exc


def parse_cents(value: str, where: str) -> int:
    """Monetary amount to integer cents; sub-cent precision is refused rather than rounded."""
    amount = parse_decimal(value, where) * 100
    if amount != amount.to_integral_value():
        raise X12ParseError(f"{where}: amount {value!r} has more than two decimal places")
    return int(amount)


def parse_date(value: str, where: str) -> date:
    """CCYYMMDD, or the start of an RD8 range (CCYYMMDD-CCYYMMDD)."""
    text = value.split("-", 1)[0]
    if not re.fullmatch(r"\d{8}", text):
        raise X12ParseError(f"{where}: {value[:20]!r} is not a CCYYMMDD date")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise X12ParseError(f"{where}: {value!r} is not a calendar date") from exc


def _delimiters(text: str) -> tuple[Delimiters, int]:
    """Delimiters from the ISA and the offset just past its terminator."""
    if not text.startswith("ISA") or len(text) < 106:
        raise X12ParseError(
            "segment 1: the interchange must start with a 106-character ISA segment "
            f"(found {text[:10]!r}, {len(text)} characters in total)"
        )
    element = text[3]
    offset = 3
    for count in range(1, _ISA_ELEMENTS):
        offset = text.find(element, offset + 1)
        if offset == -1:
            raise X12ParseError(f"segment 1 (ISA): found only {count} of 16 elements")
    component, terminator = text[offset + 1 : offset + 2], text[offset + 2 : offset + 3]
    if len(terminator) != 1 or len({element, component, terminator}) != 3:
        raise X12ParseError(
            "segment 1 (ISA): element separator, component separator (ISA16) and segment "
            f"terminator must be three different characters, got {element!r}, {component!r}, "
            f"{terminator!r}"
        )
    if terminator.isalnum() or component.isalnum() or element.isalnum():
        raise X12ParseError("segment 1 (ISA): delimiters must not be letters or digits")
    isa = text[: offset + 2].split(element)
    repetition = isa[11] if len(isa[11]) == 1 and not isa[11].isalnum() else None
    return Delimiters(element, component, terminator, repetition), offset + 3


def tokenize(data: str | bytes) -> list[Segment]:
    """All segments of every interchange in the file, ISA first. Each interchange brings its own
    delimiters (two senders' files concatenated differ). Raises `X12ParseError` on any malformation."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = text.lstrip("\ufeff \t\r\n")
    segments: list[Segment] = []
    while text:
        text = _interchange(text, segments)
    return segments


def _interchange(text: str, segments: list[Segment]) -> str:
    """Append one interchange's segments; return the text after its IEA."""
    delimiters, _ = _delimiters(text)
    pieces = text.split(delimiters.segment)
    if pieces[-1].strip().startswith("IEA"):  # a missing terminator after the final IEA is harmless
        pieces.append("")
    if pieces[-1].strip():
        raise X12ParseError(
            f"segment {len(segments) + len(pieces)}: {pieces[-1].strip()[:20]!r} is not followed by "
            f"the segment terminator {delimiters.segment!r}; the file looks truncated"
        )
    for n, piece in enumerate(pieces[:-1]):
        # Spaces and line breaks between segments are formatting, not data.
        body = piece.lstrip(" \t\r\n").rstrip("\r\n")
        if not body.strip():
            continue
        parts = body.split(delimiters.element)
        position = len(segments) + 1
        if not _SEGMENT_ID.fullmatch(parts[0]):
            raise X12ParseError(
                f"segment {position}: {parts[0][:20]!r} is not a segment id (2-3 upper-case "
                f"letters or digits); check the terminator {delimiters.segment!r} and the data"
            )
        segments.append(Segment(position, parts[0], tuple(parts[1:]), delimiters))
        if parts[0] == "IEA":
            rest = delimiters.segment.join(pieces[n + 1 :]).lstrip(" \t\r\n")
            if rest.startswith("ISA"):
                return rest
    return ""


def _count(segment: Segment, n: int, what: str) -> int:
    value = segment.require(n, what)
    if not value.isdigit():
        raise X12ParseError(f"{segment.where}: {what} {value!r} is not a number")
    return int(value)


def _expect_end(opening: Segment, closing: Segment | None, trailer: str) -> Segment:
    if closing is None or closing.id != trailer:
        found = f"found {closing.where}" if closing else "the file ended"
        raise X12ParseError(
            f"{opening.where} is not closed by {trailer}: {found}; the file looks truncated "
            "or segments are missing"
        )
    return closing


def transactions(segments: list[Segment], transaction_set: str, version: str | None = None) -> list[list[Segment]]:
    """The ST..SE bodies of `transaction_set`, after checking every envelope count and id and,
    when given, the implementation guide `version` (GS08/ST03): a 4010 file is not a 5010 one.

    Counts are checked strictly: a dropped segment changes SE01, and for remittances a silently
    missing CAS is money that no one notices.
    """
    found: list[list[Segment]] = []
    i = 0
    while i < len(segments):
        isa = segments[i]
        if isa.id != "ISA":
            raise X12ParseError(f"{isa.where}: expected ISA to open an interchange")
        i, groups = i + 1, 0
        while i < len(segments) and segments[i].id == "TA1":  # interchange acknowledgments precede any group
            i += 1
        while i < len(segments) and segments[i].id == "GS":
            gs, i, sets = segments[i], i + 1, 0
            while i < len(segments) and segments[i].id == "ST":
                st = segments[i]
                if st.get(1) != transaction_set:
                    raise X12ParseError(
                        f"{st.where}: transaction set {st.get(1)!r} (version "
                        f"{st.get(3) or gs.get(8)!r}), expected {transaction_set}"
                        + (f" ({version})" if version else "")
                    )
                found_version = st.get(3) or gs.get(8)
                if version and found_version != version:
                    raise UnsupportedVersion(
                        f"{st.where}: {transaction_set} version {found_version!r} is not supported; "
                        f"this endpoint reads {version} only"
                    )
                end = next((j for j in range(i + 1, len(segments)) if segments[j].id == "SE"), None)
                stop = next(
                    (j for j in range(i + 1, len(segments)) if segments[j].id in ("ST", "GE")),
                    len(segments),
                )
                if end is None or end > stop:
                    _expect_end(st, segments[stop] if stop < len(segments) else None, "SE")
                assert end is not None
                se = segments[end]
                if _count(se, 1, "SE01 segment count") != end - i + 1:
                    raise X12ParseError(
                        f"{se.where}: SE01 says {se.get(1)} segments but the transaction has "
                        f"{end - i + 1} (ST through SE); a segment was added or dropped"
                    )
                if se.get(2) != st.get(2):
                    raise X12ParseError(f"{se.where}: SE02 {se.get(2)!r} != ST02 {st.get(2)!r}")
                found.append(segments[i : end + 1])
                i, sets = end + 1, sets + 1
            ge = _expect_end(gs, segments[i] if i < len(segments) else None, "GE")
            if _count(ge, 1, "GE01 transaction count") != sets or ge.get(2) != gs.get(6):
                raise X12ParseError(
                    f"{ge.where}: GE01/GE02 ({ge.get(1)}/{ge.get(2)}) do not match the group "
                    f"({sets} transactions, GS06 {gs.get(6)!r})"
                )
            i, groups = i + 1, groups + 1
        iea = _expect_end(isa, segments[i] if i < len(segments) else None, "IEA")
        if _count(iea, 1, "IEA01 group count") != groups or iea.get(2) != isa.get(13):
            raise X12ParseError(
                f"{iea.where}: IEA01/IEA02 ({iea.get(1)}/{iea.get(2)}) do not match the "
                f"interchange ({groups} groups, ISA13 {isa.get(13)!r})"
            )
        i += 1
    if not found:
        raise X12ParseError(f"no {transaction_set} transaction set found in the interchange")
    return found


def read(data: str | bytes, transaction_set: str, version: str | None = None) -> list[list[Segment]]:
    """Tokenize and check envelopes in one step: the entry point for every parser."""
    return transactions(tokenize(data), transaction_set, version)
