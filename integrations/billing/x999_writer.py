"""Writing 999 implementation acknowledgments (005010X231A1) and TA1 interchange answers.

The sandbox clearinghouse answers each batch with one: pyx12's own verdict, re-written after
any per-claim script (a syntax rejection asked for by a test or a demo), so a 999 always lists
every transaction set of the group with its IK5 and the group's AK9 counts add up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from integrations.billing.schemas import Interchange
from integrations.billing.writer import COMPONENT, REPETITION, _pad, envelope, segment
from integrations.billing.x999 import FunctionalAck

IMPLEMENTATION = "005010X231A1"


def build_999(interchange: Interchange, groups: Sequence[FunctionalAck]) -> str:
    """One 999 transaction set per functional group answered."""
    bodies = []
    for group in groups:
        body = [segment("AK1", group.functional_id, group.group_control_number, group.version)]
        for ack in group.transactions:
            body.append(segment("AK2", ack.transaction_set, ack.control_number, group.version))
            for error in ack.errors:
                body.append(segment("IK3", error.segment_id, error.position, error.loop_id, error.code))
                for element in error.element_errors:
                    body.append(segment("IK4", [element.position, element.component], element.element_reference,
                                        element.code, element.bad_value))  # fmt: skip
            body.append(segment("IK5", ack.status, *ack.syntax_codes))
        body.append(segment("AK9", group.status, str(group.transactions_included), str(group.transactions_received),
                            str(group.transactions_accepted)))  # fmt: skip
        bodies.append(body)
    return envelope(interchange, "FA", IMPLEMENTATION, "999", bodies)


def build_ta1(interchange: Interchange, answered: str, answered_at: datetime, status: str, note_code: str) -> str:
    """An interchange holding only a TA1 for the interchange `answered` (its ISA13)."""
    at = interchange.created_at
    control = f"{interchange.control_number:09d}"
    isa = segment(
        "ISA", "00", " " * 10, "00", " " * 10,
        _pad(interchange.sender_qualifier, 2, "sender qualifier"), _pad(interchange.sender_id, 15, "sender id"),
        _pad(interchange.receiver_qualifier, 2, "receiver qualifier"), _pad(interchange.receiver_id, 15, "receiver id"),
        at.strftime("%y%m%d"), at.strftime("%H%M"), REPETITION, "00501", control, "0", interchange.usage, COMPONENT,
    )  # fmt: skip
    ta1 = segment("TA1", answered.rjust(9, "0")[:9], answered_at.strftime("%y%m%d"), answered_at.strftime("%H%M"), status, note_code)
    return "\n".join([isa, ta1, segment("IEA", "0", control)]) + "\n"
