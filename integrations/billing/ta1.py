"""Reading TA1 interchange acknowledgments.

A TA1 answers for a whole interchange (ISA..IEA) before any functional group is looked at:
TA101 is the ISA13 we sent, TA104 says A (accepted), E (accepted with errors) or R (rejected),
and TA105 is the note code naming the envelope problem. A rejected interchange reached nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.billing.errors import X12ParseError
from integrations.billing.segments import tokenize

NOTE_CODES = {
    "000": "no error",
    "001": "the interchange control number in the header and trailer do not match",
    "002": "this standard as noted in the control standards identifier is not supported",
    "003": "this version of the controls is not supported",
    "004": "the segment terminator is invalid",
    "005": "invalid interchange ID qualifier for sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for receiver",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier value",
    "011": "invalid authorization information value",
    "012": "invalid security information qualifier value",
    "013": "invalid security information value",
    "014": "invalid interchange date value",
    "015": "invalid interchange time value",
    "016": "invalid interchange standards identifier value",
    "017": "invalid interchange version ID value",
    "018": "invalid interchange control number value",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end-of-file (transmission)",
    "024": "invalid interchange content (e.g. invalid GS segment)",
    "025": "duplicate interchange control number",
    "026": "invalid data element separator",
    "027": "invalid component element separator",
    "028": "invalid delivery date in deferred delivery request",
    "029": "invalid delivery time in deferred delivery request",
    "030": "invalid delivery time code in deferred delivery request",
    "031": "invalid grade of service code",
}


@dataclass(frozen=True)
class InterchangeAck:
    control_number: str
    date: str
    time: str
    status: str  # A | E | R
    note_code: str

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")

    @property
    def reason(self) -> str:
        return f"TA1 {self.status} {self.note_code}: {NOTE_CODES.get(self.note_code, 'unknown note code')}"


def parse_ta1(data: str | bytes) -> list[InterchangeAck]:
    """Every TA1 in the file (an interchange may carry several, one per interchange answered)."""
    out = []
    for seg in tokenize(data):
        if seg.id == "TA1":
            status = seg.require(4, "interchange acknowledgment code")
            if status not in ("A", "E", "R"):
                raise X12ParseError(f"{seg.where}: TA104 {status!r} is not A, E or R")
            out.append(InterchangeAck(seg.require(1, "interchange control number").strip(), seg.get(2), seg.get(3), status, seg.get(5)))
    if not out:
        raise X12ParseError("segment 2: no TA1 segment in the interchange")
    return out
