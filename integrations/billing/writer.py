"""Serializing segments and wrapping them in ISA/GS/ST envelopes.

Shared by the 837P and 835 builders so the fixed-width ISA, control numbers and SE/GE/IEA
counts are computed in exactly one place.
"""

from __future__ import annotations

from collections.abc import Sequence

from integrations.billing.errors import X12BuildError
from integrations.billing.schemas import Interchange

ELEMENT, COMPONENT, SEGMENT, REPETITION = "*", ":", "~", "^"
_RESERVED = frozenset(ELEMENT + COMPONENT + SEGMENT + REPETITION)


def clean(value: str, what: str) -> str:
    """Refuse delimiter characters: they would silently shift every following element."""
    if _RESERVED & set(value) or "\n" in value or "\r" in value:
        raise X12BuildError(f"{what} {value!r} contains a reserved X12 delimiter (* : ~ ^)")
    return value.strip()


def segment(seg_id: str, *elements: str | Sequence[str]) -> str:
    """One segment; a sequence element becomes a composite. Trailing empties are dropped."""
    parts = [COMPONENT.join(e).rstrip(COMPONENT) if not isinstance(e, str) else e for e in elements]
    while parts and not parts[-1]:
        parts.pop()
    return ELEMENT.join([seg_id, *parts]) + SEGMENT


def amount(cents: int) -> str:
    """X12 R-type decimal with no superfluous zeros (12.50 -> 12.5, 100.00 -> 100)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}" if frac == 0 else f"{sign}{whole}.{frac:02d}".rstrip("0")


def _pad(value: str, width: int, what: str) -> str:
    value = clean(value, what)
    if len(value) > width:
        raise X12BuildError(f"{what} {value!r} is longer than {width} characters")
    return value.ljust(width)


def envelope(
    interchange: Interchange,
    functional_id: str,
    version: str,
    transaction_set: str,
    bodies: Sequence[Sequence[str]],
) -> str:
    """ISA + GS + one ST..SE per body (ST02 = 0001, 0002, ...) + GE + IEA, one segment a line."""
    if not 0 < interchange.control_number <= 999_999_999:
        raise X12BuildError(f"control number {interchange.control_number} not in 1..999999999")
    at = interchange.created_at
    control = f"{interchange.control_number:09d}"
    isa = segment(
        "ISA", "00", " " * 10, "00", " " * 10,
        _pad(interchange.sender_qualifier, 2, "sender qualifier"),
        _pad(interchange.sender_id, 15, "sender id"),
        _pad(interchange.receiver_qualifier, 2, "receiver qualifier"),
        _pad(interchange.receiver_id, 15, "receiver id"),
        at.strftime("%y%m%d"), at.strftime("%H%M"), REPETITION, "00501", control, "0",
        interchange.usage, COMPONENT,
    )  # fmt: skip
    out = [
        isa,
        segment(
            "GS", functional_id, clean(interchange.sender_id, "sender id"),
            clean(interchange.receiver_id, "receiver id"), at.strftime("%Y%m%d"),
            at.strftime("%H%M"), str(interchange.control_number), "X", version,
        ),
    ]  # fmt: skip
    for number, segments in enumerate(bodies, start=1):
        st_control = f"{number:04d}"
        transaction = [segment("ST", transaction_set, st_control, version), *segments]
        out += [*transaction, segment("SE", str(len(transaction) + 1), st_control)]
    out += [segment("GE", str(len(bodies)), str(interchange.control_number))]
    out += [segment("IEA", "1", control)]
    return "\n".join(out) + "\n"
