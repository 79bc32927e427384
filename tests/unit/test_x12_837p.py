from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pytest

from integrations.billing.errors import X12BuildError, X12ParseError
from integrations.billing.segments import tokenize
from integrations.billing.x837p import ClaimEntry, build_837p
from integrations.billing.x837p_reader import read_837p
from tests.unit.x12_support import (
    AETNA,
    BILLING,
    INTERCHANGE,
    JANE,
    RECEIVER,
    SUBMITTER,
    claim,
    claims,
    line,
    pyx12_findings,
    sample,
)


def build(entries: Sequence[ClaimEntry] | None = None) -> str:
    return build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, entries or claims("ENC-1"))


class TestBuild837P:
    def test_single_claim_passes_pyx12_with_zero_errors(self) -> None:
        ok, errors, ack = pyx12_findings(build())
        assert errors == []
        assert ok
        assert "IK5*A~" in ack
        assert "AK9*A*1*1*1~" in ack

    def test_many_claims_patients_payers_modifiers_and_diagnoses_pass_pyx12(self) -> None:
        entries = [
            *claims("ENC-1", "ENC-2", "ENC-3"),
            (JANE, AETNA, claim("ENC-4", line("99213", 8000, "25", "XE", "LT", "76"),
                                diagnoses=["M54.50", "M79.604", "R51.9", "G44.209", "Z00.00",
                                           "E78.5", "I10", "E11.65", "N18.30", "K21.9",
                                           "F41.1", "J45.909"])),
        ]  # fmt: skip
        ok, errors, _ = pyx12_findings(build(entries))
        assert errors == []
        assert ok

    def test_envelope_counts_and_hierarchy(self) -> None:
        segments = tokenize(build(claims("ENC-1", "ENC-2", "ENC-3")))
        ids = [s.id for s in segments]
        assert segments[0].elements[12] == "000000042"
        assert len(build().splitlines()[0]) == 106
        assert ids[-3:] == ["SE", "GE", "IEA"]
        se = segments[-3]
        assert int(se.get(1)) == ids.index("SE") - ids.index("ST") + 1
        hls = [(s.get(1), s.get(2), s.get(3), s.get(4)) for s in segments if s.id == "HL"]
        # ENC-1 and ENC-3 share Jane/Aetna, so they share one subscriber HL.
        assert hls == [("1", "", "20", "1"), ("2", "1", "22", "0"), ("3", "1", "22", "0")]

    def test_diagnoses_lose_their_dot_and_use_abk_then_abf(self) -> None:
        hi = next(s for s in tokenize(build()) if s.id == "HI")
        assert hi.elements == ("ABK:E119", "ABF:I10", "ABF:Z794")

    def test_service_line_carries_modifiers_pointers_and_date(self) -> None:
        segments = tokenize(build())
        sv1 = [s for s in segments if s.id == "SV1"]
        assert sv1[0].elements == ("HC:99214:25", "150", "UN", "1", "", "", "1:2:3")
        assert sv1[1].elements == ("HC:20610:RT:59", "100.25", "UN", "1", "", "", "1")
        assert [s.get(3) for s in segments if s.id == "DTP"] == ["20250301", "20250301"]

    def test_pyx12_check_catches_a_broken_file(self) -> None:
        broken = build().replace("DMG*D8*19800517", "DMG*D8*19801317")
        ok, errors, _ = pyx12_findings(broken)
        assert not ok
        assert any("invalid date" in e for e in errors)


class TestBuildRefusals:
    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"claim_control_number": "X" * 21}, "1-20 characters"),
            ({"total_charge_cents": 1}, "sum of line charges"),
            ({"diagnoses": ["E11.9"] * 13}, "1-12 diagnoses"),
            ({"diagnoses": ["E11*9"]}, "reserved X12 delimiter"),
            ({"diagnoses": ["123"]}, "not an ICD-10-CM code"),
        ],
    )
    def test_bad_claim_is_refused_before_serializing(
        self, change: dict[str, object], message: str
    ) -> None:
        bad = replace(claim("ENC-1", line("99213", 100)), **change)  # type: ignore[arg-type]
        with pytest.raises(X12BuildError, match=message):
            build([(JANE, AETNA, bad)])

    def test_pointer_past_the_diagnoses_is_refused(self) -> None:
        bad = claim("ENC-1", line("99213", 100, pointers=[4]))
        with pytest.raises(X12BuildError, match="pointers"):
            build([(JANE, AETNA, bad)])

    def test_npi_with_bad_check_digit_is_refused(self) -> None:
        with pytest.raises(X12BuildError, match="check digit"):
            build_837p(INTERCHANGE, SUBMITTER, RECEIVER, replace(BILLING, npi="1234567890"),
                       claims("ENC-1"))  # fmt: skip


class TestRead837P:
    def test_reads_back_what_was_built(self) -> None:
        read = read_837p(build(claims("ENC-1", "ENC-2")))
        assert [c.claim_control_number for c in read] == ["ENC-1", "ENC-2"]
        assert read[0].charge_cents == 25025
        assert read[0].billing_npi == "1234567893"
        assert read[1].payer_name == "MEDICARE PART B"
        assert [(ln.procedure_code, ln.modifiers, ln.service_date) for ln in read[0].lines] == [
            ("99214", ["25"], date(2025, 3, 1)),
            ("20610", ["RT", "59"], date(2025, 3, 1)),
        ]

    def test_reads_the_moov_sample_with_its_angle_bracket_separator(self) -> None:
        read = read_837p(sample("837P-moov-io-sample.edi"))
        assert len(read) == 8
        assert read[0].charge_cents == 55396
        assert len(read[0].lines) == 4
        assert read[0].lines[1].units == 3
        assert read[0].lines[1].procedure_code == "97530"

    def test_garbage_raises_parse_error(self) -> None:
        with pytest.raises(X12ParseError):
            read_837p("hello")
