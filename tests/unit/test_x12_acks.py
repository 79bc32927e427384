"""999 and TA1: real public acknowledgments read back, and the sandbox's own written ones
checked by pyx12 and read back by our parsers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.billing.errors import X12ParseError
from integrations.billing.schemas import Interchange
from integrations.billing.ta1 import parse_ta1
from integrations.billing.x999 import FunctionalAck, SegmentError, TransactionAck, parse_999
from integrations.billing.x999_writer import build_999, build_ta1
from services.claim_acks import describe
from tests.unit.x12_support import pyx12_findings

PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "x12-public"
AT = datetime(2026, 12, 5, 5, 30, tzinfo=UTC)
SANDBOX = Interchange("SANDBOXCH", "CLEARCHART", 77, AT)


def public(name: str) -> str:
    return (PUBLIC / name).read_text()


def test_a_public_interchange_with_a_ta1_and_a_rejecting_999_reads_as_both() -> None:
    text = public("999_TA1_imsweb_rejected.txt")
    (ta1,) = parse_ta1(text)
    assert (ta1.control_number, ta1.status, ta1.note_code, ta1.accepted) == ("101", "A", "000", True)
    (group,) = parse_999(text)
    assert (group.group_control_number, group.status, group.transactions_accepted) == ("101", "R", 0)
    (ack,) = group.transactions
    assert ack.control_number == "101"
    assert not ack.accepted
    reason = describe(ack, group)
    assert reason.startswith("999 rejected transaction set 101 (IK5 R 5)")
    assert "IK3 CLM at position 289 in loop 2010 code 6" in reason
    assert "position 381" in reason


def test_a_public_999_whose_trailer_does_not_match_its_header_is_refused_naming_both() -> None:
    """Its IEA02 is not its ISA13: the very envelope error a TA1 001 reports."""
    text = public("999_imsweb_accepted.txt")
    with pytest.raises(X12ParseError, match=r"IEA01/IEA02 \(1/000000001\) do not match .* ISA13 '000000286'"):
        parse_999(text)
    (group,) = parse_999(text.replace("IEA*1*000000001", "IEA*1*000000286"))
    assert group.accepted
    assert [t.control_number for t in group.transactions if t.accepted] == ["0001"]
    with pytest.raises(X12ParseError, match="no TA1"):
        parse_ta1(text)


def test_the_sandbox_999_with_a_scripted_rejection_passes_pyx12_and_reads_back() -> None:
    accepted = TransactionAck("837", "0001", "A")
    rejected = TransactionAck("837", "0002", "R", [SegmentError("CLM", "1", "", "8")], ["5"])
    answer = FunctionalAck("HC", "17456", "005010X222A1", "P", 2, 2, 1, [accepted, rejected])
    text = build_999(SANDBOX, [answer])
    ok, errors, _ = pyx12_findings(text)
    assert ok
    assert errors == []
    (back,) = parse_999(text)
    assert back.status == "P"
    assert back.group_control_number == "17456"
    assert [(t.control_number, t.status) for t in back.transactions] == [("0001", "A"), ("0002", "R")]
    assert back.transactions[1].errors[0].segment_id == "CLM"


def test_the_sandbox_ta1_reads_back_with_its_reason() -> None:
    text = build_ta1(SANDBOX, "123", AT, "R", "024")
    assert "\nIEA*0*000000077~" in text
    (ack,) = parse_ta1(text)
    assert (ack.control_number, ack.status, ack.accepted) == ("000000123", "R", False)
    assert ack.reason == "TA1 R 024: invalid interchange content (e.g. invalid GS segment)"
