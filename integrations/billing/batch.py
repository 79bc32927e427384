"""One 837P interchange for many claims: each claim keeps its own transaction set (ST..SE).

Clearinghouses take an interchange (ISA/GS) holding many ST/SE transaction sets, and most
recommend one claim per set for professional claims: the 999 then answers each claim on its
own (AK2/IK5 per set), so one bad claim does not hold back the others. Each claim is built and
stored alone (`x837p.build_837p`, one interchange each, which is also what `GET …/837p` shows);
a batch lifts the transaction sets out of those files and wraps them in a new envelope.
"""

from __future__ import annotations

from collections.abc import Sequence

from integrations.billing.errors import X12BuildError
from integrations.billing.schemas import Interchange
from integrations.billing.segments import tokenize
from integrations.billing.writer import COMPONENT, ELEMENT, SEGMENT, envelope

IMPLEMENTATION = "005010X222A1"


def transaction_body(x12: str) -> list[str]:
    """The segments of a one-claim 837P between its ST and its SE, as written."""
    segments = tokenize(x12)
    ids = [s.id for s in segments]
    if ids.count("ST") != 1 or ids.count("SE") != 1:
        raise X12BuildError("a stored claim must hold exactly one transaction set")
    start, end = ids.index("ST"), ids.index("SE")
    if any(s.delimiters.element != ELEMENT or s.delimiters.component != COMPONENT for s in segments):
        raise X12BuildError("a stored claim must use the writer's delimiters (* and :)")
    return [ELEMENT.join((s.id, *s.elements)) + SEGMENT for s in segments[start + 1 : end]]


def batch_837p(interchange: Interchange, claims: Sequence[str]) -> tuple[str, list[str]]:
    """The batch file and, in claim order, the ST02 control number each claim was given."""
    if not claims:
        raise X12BuildError("a batch needs at least one claim")
    bodies = [transaction_body(x12) for x12 in claims]
    text = envelope(interchange, "HC", IMPLEMENTATION, "837", bodies)
    return text, [f"{n:04d}" for n in range(1, len(bodies) + 1)]
