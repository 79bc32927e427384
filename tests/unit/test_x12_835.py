from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import oxedi
import pytest

from integrations.billing.errors import X12BuildError, X12ParseError
from integrations.billing.remittance import (
    Adjustment,
    ClaimPayment,
    LinePayment,
    Payee,
    ProviderAdjustment,
    Remittance,
    claim_outcome,
    is_contractual,
)
from integrations.billing.schemas import Interchange
from integrations.billing.x835 import parse_835
from integrations.billing.x835_writer import build_835
from tests.unit.x12_support import sample


def adjustments(claim: ClaimPayment) -> list[tuple[str, str, str, int]]:
    """(level, group, CARC, cents) for the claim and each line, in file order."""
    out = [("claim", a.group, a.carc, a.amount_cents) for a in claim.adjustments]
    for line in claim.lines:
        out += [(line.procedure_code, a.group, a.carc, a.amount_cents) for a in line.adjustments]
    return out


class TestDenialAndPaidSample:
    remittance = parse_835(sample("835-denial-and-paid.edi"))[0]

    def test_payment_header(self) -> None:
        r = self.remittance
        assert (r.total_paid_cents, r.trace_number, r.payment_date) == (
            5744,
            "123456789",
            date(2011, 9, 30),
        )
        assert (r.payer_name, r.payer_id, r.payee) == (
            "PAYER NAME",
            "1123456789",
            Payee("PROVIDER NAME", "1122334455"),
        )
        assert r.payment_method == "CHK"
        assert r.provider_adjustments == []

    def test_denied_claim(self) -> None:
        denied = self.remittance.claims[0]
        assert (denied.claim_control_number, denied.status_code, denied.payer_claim_number) == (
            "EDI DENIAL",
            "1",
            "CLAIMNUMBER1",
        )
        assert (denied.charge_cents, denied.paid_cents, denied.patient_responsibility_cents) == (
            108800,
            0,
            108800,
        )
        assert adjustments(denied) == [("00220", "PR", "29", 108800)]
        assert denied.lines[0].modifiers == ["P2"]
        assert denied.lines[0].units == Decimal(8)
        assert denied.lines[0].service_date == date(2009, 1, 13)
        assert claim_outcome(denied) == "denied"

    def test_paid_claim_with_copay_and_contractual(self) -> None:
        paid = self.remittance.claims[1]
        assert (paid.charge_cents, paid.paid_cents, paid.patient_responsibility_cents) == (
            10000,
            5744,
            3000,
        )
        assert adjustments(paid) == [("97110", "PR", "3", 3000), ("97110", "CO", "45", 1256)]
        assert claim_outcome(paid) == "paid"
        assert sum(c.paid_cents for c in self.remittance.claims) == self.remittance.total_paid_cents


class TestEmednySample:
    remittance = parse_835(sample("835-emedny-denials.edi"))[0]

    def test_payment_header(self) -> None:
        r = self.remittance
        assert (r.total_paid_cents, r.trace_number, r.payer_name, r.payment_method) == (
            4575,
            "10100000000",
            "NYSDOH",
            "ACH",
        )
        assert [c.paid_cents for c in r.claims] == [3425, 0, 1150]

    def test_primary_claim_paid_in_full_without_adjustments(self) -> None:
        c = self.remittance.claims[0]
        assert (c.status_code, c.charge_cents, c.payer_claim_number) == (
            "1",
            3425,
            "1000210000000030",
        )
        assert adjustments(c) == []
        assert [(ln.procedure_code, ln.modifiers, ln.paid_cents) for ln in c.lines] == [
            ("V2020", ["RB"], 600), ("V2700", ["RB"], 275), ("V2103", ["RB"], 550), ("S0580", [], 2000)
        ]  # fmt: skip
        assert claim_outcome(c) == "paid"

    def test_secondary_claim_denied_for_timely_filing(self) -> None:
        c = self.remittance.claims[1]
        assert (c.status_code, c.charge_cents, c.paid_cents) == ("2", 3400, 0)
        assert adjustments(c) == [("V2020", "CO", "29", 1200), ("V2103", "CO", "29", 2200)]
        assert [ln.units for ln in c.lines] == [Decimal(0), Decimal(0)]
        assert claim_outcome(c) == "denied"

    def test_secondary_claim_partially_paid_with_remarks(self) -> None:
        c = self.remittance.claims[2]
        assert (c.charge_cents, c.paid_cents) == (3425, 1150)
        assert adjustments(c) == [("V2700", "CO", "251", 275), ("S0580", "CO", "251", 2000)]
        assert [ln.remarks for ln in c.lines] == [[], [], ["N206"], ["N206"]]
        assert c.lines[1].service_date == date(2013, 9, 17)
        assert claim_outcome(c) == "partial"


class TestContractualSample:
    remittance = parse_835(sample("835-single-line-paid-contractual.edi"))[0]

    def test_five_lines_with_contractual_adjustments(self) -> None:
        r = self.remittance
        assert (r.total_paid_cents, r.trace_number, r.payment_date) == (
            30056,
            "234098193482",
            date(2015, 7, 4),
        )
        (c,) = r.claims
        assert (c.claim_control_number, c.charge_cents, c.paid_cents, c.payer_claim_number) == (
            "PAYEECLAIMID",
            48300,
            30056,
            "PAYERCLAIMID",
        )
        assert [(ln.procedure_code, ln.charge_cents, ln.paid_cents, int(ln.units)) for ln in c.lines] == [
            ("90460", 10500, 5502, 3), ("90461", 5000, 1924, 2), ("90648", 5400, 3130, 1),
            ("90670", 22200, 16400, 1), ("90700", 5200, 3100, 1),
        ]  # fmt: skip
        assert adjustments(c) == [
            ("90460", "CO", "45", 4998), ("90461", "CO", "45", 3076), ("90648", "CO", "45", 2270),
            ("90670", "CO", "45", 5800), ("90700", "CO", "45", 2100),
        ]  # fmt: skip
        assert all(is_contractual(a) for ln in c.lines for a in ln.adjustments)
        assert claim_outcome(c) == "paid"
        assert all(
            ln.charge_cents - ln.paid_cents == sum(a.amount_cents for a in ln.adjustments)
            for ln in c.lines
        )


def _rich_remittance() -> Remittance:
    """Balanced (oxedi checks SNIP 3): six CARC triplets on one line, a reversal, PLB both ways."""
    six = [Adjustment("CO", carc, 100 * n, Decimal(n) if n == 2 else None) for n, carc in enumerate(["45", "97", "16", "253", "59", "42"], 1)]  # fmt: skip
    line = LinePayment(
        "99214", 5000, 2900, Decimal("1.5"), date(2025, 3, 1), ["25", "XE"], six, ["N20"]
    )
    claims = [
        ClaimPayment(
            "ENC-1", "1", 5000, 2900, 0, "PCN1", "12", "M1", "DOE", "JANE", [], ["MA01"], [line]
        ),
        ClaimPayment(
            "ENC-2",
            "22",
            -1000,
            -800,
            0,
            "PCN2",
            "MB",
            "M2",
            "ROE",
            "RAY",
            adjustments=[Adjustment("CO", "45", -200)],
        ),
        ClaimPayment(
            "ENC-3",
            "4",
            800,
            0,
            0,
            "PCN3",
            "HM",
            "M3",
            "POE",
            "EDGAR",
            adjustments=[Adjustment("CO", "16", 800)],
        ),
    ]
    plb = [ProviderAdjustment("WO", "PCN9", 500), ProviderAdjustment("L6", "", -25)]
    return Remittance("SANDBOX HEALTH PLAN", "1999999999", Payee("NORTHWIND CLINIC", "1234567893"),
                      "EFT000123", date(2025, 3, 10), 2900 - 800 - 475, claims, plb, "ACH")  # fmt: skip


INTERCHANGE = Interchange("SANDBOXCH", "CLEARCHART", 7, datetime(2025, 3, 10, 8, 0, tzinfo=UTC))


class TestBuild835:
    def test_parse_of_build_is_identity_with_six_cas_triplets_and_plb(self) -> None:
        remittance = _rich_remittance()
        text = build_835(remittance, INTERCHANGE)
        assert "CAS*CO*45*1**97*2*2*16*3**253*4**59*5**42*6~" in text
        assert parse_835(text) == [remittance]

    def test_oxedi_reads_the_written_835_without_diagnostics(self) -> None:
        remittance = _rich_remittance()
        result = oxedi.parse(build_835(remittance, INTERCHANGE).encode())
        assert [str(d) for d in result.diagnostics] == []
        assert result.count_claims() == 3
        assert result.sum_payments() == Decimal(remittance.total_paid_cents) / 100

    def test_unbalanced_total_is_refused(self) -> None:
        with pytest.raises(X12BuildError, match="total paid"):
            build_835(Remittance("P", "1", Payee("X"), "T", date(2025, 1, 1), 1), INTERCHANGE)

    def test_outcomes(self) -> None:
        partial, reversed_, denied = _rich_remittance().claims
        assert [claim_outcome(c) for c in (partial, reversed_, denied)] == [
            "partial",
            "reversed",
            "denied",
        ]
        deductible = ClaimPayment(
            "D", "1", 100, 0, 100, "P", adjustments=[Adjustment("PR", "1", 100)]
        )
        assert claim_outcome(deductible) == "paid"


class TestMalformed835:
    text = sample("835-denial-and-paid.edi")

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            ("CAS*CO*45*12.56", "CAS*CO*45*12.5X", r"segment 45 \(CAS\) CAS03.*not a decimal"),
            ("CAS*CO*45*12.56", "CAS*CO*45*12.567", "more than two decimal places"),
            ("CAS*CO*45*12.56", "CAS*ZZ*45*12.56", "group code 'ZZ'"),
            ("SE*45*0001", "SE*44*0001", "SE01 says 44"),
            ("BPR*I*57.44*C*CHK************20110930", "BPR*I*57.44", "BPR16 \\(payment date\\)"),
            ("CLP*EDI PAID*1*100*", "CLP*EDI PAID**100*", "CLP02 \\(claim status code\\)"),
            ("DTM*150*20090113", "DTM*150*20091313", "not a calendar date"),
        ],
    )
    def test_error_names_segment_and_problem(self, old: str, new: str, message: str) -> None:
        assert old in self.text
        with pytest.raises(X12ParseError, match=message):
            parse_835(self.text.replace(old, new, 1))

    def test_truncated_file(self) -> None:
        with pytest.raises(X12ParseError, match="truncated"):
            parse_835(self.text[: self.text.index("CAS*CO*45") + 5])

    def test_wrong_transaction_set(self) -> None:
        with pytest.raises(X12ParseError, match="expected 835"):
            parse_835(sample("277CA-accepted-emedny.edi"))

    def test_bytes_and_crlf_are_accepted(self) -> None:
        raw = self.text.replace("~\n", "~\r\n").encode()
        assert parse_835(raw)[0].total_paid_cents == 5744
