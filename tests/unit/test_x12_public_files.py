"""Real public 835/277 files (tests/fixtures/x12-public) read, or refused with a reason naming
the fault; formatting that real senders produce (BOM, spaces, missing final terminator) is read."""

from pathlib import Path

import pytest

from integrations.billing.errors import UnsupportedVersion, X12ParseError
from integrations.billing.remittance import CLAIM_STATUS_CODES, ClaimPayment, claim_outcome
from integrations.billing.x277ca import parse_277ca
from integrations.billing.x835 import parse_835

PUBLIC = Path(__file__).parent.parent / "fixtures" / "x12-public"


def public(name: str) -> str:
    return (PUBLIC / name).read_text()


def test_the_public_835_reads_two_payments_that_balance() -> None:
    remittances = parse_835(public("835_edi835parser_sample.txt"))
    assert [r.total_paid_cents for r in remittances] == [178, 14113]
    for r in remittances:
        assert r.total_paid_cents == sum(c.paid_cents for c in r.claims) - sum(a.amount_cents for a in r.provider_adjustments)
    claims = [c for r in remittances for c in r.claims]
    assert [c.status_code for c in claims] == ["2", "2", "1", "2", "2", "2"]
    assert claims[2].lines[0].procedure_code == "99214"
    assert [(a.group, a.carc, a.amount_cents) for a in claims[1].lines[0].adjustments] == [("PR", "2", 2100), ("PR", "23", -1365), ("OA", "23", 9765)]


def test_the_public_277cas_read_with_either_layout() -> None:
    accepted = parse_277ca(public("277CA_imsweb_accepted.txt"))
    rejected = parse_277ca(public("277CA_imsweb_rejected.txt"))  # one line, "|" component separator
    assert [(a.claim_control_number, a.accepted) for a in accepted] == [("5781", True)]
    assert [(a.claim_control_number, a.accepted, a.status_category, a.status_code, a.entity) for a in rejected] == [
        ("3920394930203", False, "A7", "562", "85")
    ]


def test_a_277_status_response_is_refused_naming_its_version() -> None:
    with pytest.raises(UnsupportedVersion, match="005010X212"):
        parse_277ca(public("277_imsweb_x212.txt"))


def test_a_4010_835_is_refused_naming_its_version() -> None:
    text = public("835_edi835parser_sample.txt").replace("005010X221A1", "004010X091A1").replace("*00501*", "*00401*")
    with pytest.raises(UnsupportedVersion, match="004010X091A1"):
        parse_835(text)


def test_an_837_posted_as_an_835_is_refused_naming_the_transaction_set() -> None:
    text = public("835_edi835parser_sample.txt").replace("ST*835*", "ST*837*").replace("005010X221A1", "005010X222A1")
    with pytest.raises(X12ParseError, match="'837'"):
        parse_835(text)


@pytest.mark.parametrize(
    "reshape",
    [
        pytest.param(lambda t: "\ufeff" + t, id="utf-8 BOM"),
        pytest.param(lambda t: t.replace("~\n", "~\n   "), id="spaces before segments"),
        pytest.param(lambda t: t.replace("~\n", "~\r\n\r\n"), id="blank CRLF lines"),
        pytest.param(lambda t: t.rstrip().removesuffix("~"), id="no terminator after IEA"),
        pytest.param(lambda t: t.replace("*", "|").replace(">", "^").replace("|^|", "|>|"), id="pipe elements"),
    ],
)
def test_harmless_formatting_is_read(reshape: object) -> None:
    text = public("835_edi835parser_sample.txt")
    assert callable(reshape)
    assert parse_835(reshape(text)) == parse_835(text)


def test_several_interchanges_in_one_file_are_all_read() -> None:
    text = public("277CA_imsweb_accepted.txt")
    assert len(parse_277ca(text + public("277CA_imsweb_rejected.txt"))) == 2


def test_a_truncated_file_is_still_refused() -> None:
    text = public("835_edi835parser_sample.txt")
    with pytest.raises(X12ParseError, match="truncated"):
        parse_835(text[: text.index("SE*96")])


def test_an_unknown_claim_status_is_refused() -> None:
    text = public("835_edi835parser_sample.txt").replace("CLP*patient_control_number2*1*", "CLP*patient_control_number2*99*")
    with pytest.raises(X12ParseError, match="CLP02 claim status '99'"):
        parse_835(text)


@pytest.mark.parametrize(
    ("code", "paid", "outcome"),
    [("1", 100, "paid"), ("2", 100, "paid"), ("3", 100, "paid"), ("19", 100, "paid"), ("20", 100, "paid"), ("21", 100, "paid"),
     ("4", 0, "denied"), ("22", -100, "reversed"), ("23", 0, "forwarded"), ("25", 0, "predetermination")],
)
def test_every_claim_status_is_classified(code: str, paid: int, outcome: str) -> None:
    assert code in CLAIM_STATUS_CODES
    assert claim_outcome(ClaimPayment("C1", code, 100, paid, 0, "P1")) == outcome
