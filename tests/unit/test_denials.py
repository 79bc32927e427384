from datetime import date
from pathlib import Path

import pytest

from integrations.codesets.scrub_files import read_csv_dicts
from models.claims.denials import (
    DEFAULT_CARC_TABLE,
    CarcTable,
    DenialCategory,
    FeeSchedule,
    categorize,
    claim_variance,
    expected_amount,
    is_denial,
    payment_variance,
)

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "scrub-tables"


class TestCategorize:
    @pytest.mark.parametrize(
        ("group", "carc", "expected"),
        [
            ("CO", "4", DenialCategory.CODING),
            ("CO", "11", DenialCategory.CODING),
            ("CO", "18", DenialCategory.DUPLICATE),
            ("CO", "27", DenialCategory.ELIGIBILITY_REGISTRATION),
            ("CO", "29", DenialCategory.TIMELY_FILING),
            ("CO", "50", DenialCategory.MEDICAL_NECESSITY),
            ("CO", "97", DenialCategory.BUNDLING),
            ("CO", "197", DenialCategory.AUTHORIZATION),
            ("CO", "252", DenialCategory.DOCUMENTATION),
            ("PR", "204", DenialCategory.ELIGIBILITY_REGISTRATION),
        ],
    )
    def test_common_carcs(self, group: str, carc: str, expected: DenialCategory) -> None:
        assert categorize(group, carc) == expected

    @pytest.mark.parametrize(
        ("group", "carc"), [("CO", "45"), ("CO", "253"), ("PR", "1"), ("PR", "2"), ("PR", "3")]
    )
    def test_contractual_and_cost_sharing_are_not_denials(self, group: str, carc: str) -> None:
        assert categorize(group, carc) is None
        assert not is_denial(group, carc)

    def test_reversal_group_is_not_a_denial(self) -> None:
        assert categorize("CR", "50") is None

    def test_rarc_refines_generic_carc_16(self) -> None:
        assert categorize("CO", "16") == DenialCategory.OTHER
        assert categorize("CO", "16", ["N290"]) == DenialCategory.ELIGIBILITY_REGISTRATION
        assert categorize("CO", "16", ["XX1", "M51"]) == DenialCategory.CODING

    def test_rarc_does_not_override_a_specific_carc(self) -> None:
        assert categorize("CO", "29", ["N56"]) == DenialCategory.TIMELY_FILING

    def test_unknown_carc_is_still_a_denial(self) -> None:
        assert categorize("CO", "999") == DenialCategory.OTHER


class TestCarcTable:
    def test_operator_rows_replace_the_builtin_map(self) -> None:
        rows = [
            {"kind": "carc", "code": "16", "category": "documentation", "refinable": "y"},
            {"kind": "carc", "code": "45", "category": ""},
            {"kind": "rarc", "code": "M127", "category": "documentation"},
        ]
        table = CarcTable.from_rows("2025-07", rows)
        assert table.version == "2025-07"
        assert categorize("CO", "16", table=table) == DenialCategory.DOCUMENTATION
        assert categorize("CO", "45", table=table) is None

    def test_typo_in_category_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="row 1"):
            CarcTable.from_rows("x", [{"code": "4", "category": "codin"}])

    def test_builtin_table_covers_listed_codes(self) -> None:
        listed = [
            "4", "5", "6", "11", "16", "18", "22", "23", "26", "27", "29", "31", "45", "50", "55",
            "96", "97", "109", "119", "151", "167", "170", "181", "182", "183", "185", "197",
            "198", "204", "222", "234", "236", "242", "251", "252",
        ]  # fmt: skip
        assert [c for c in listed if DEFAULT_CARC_TABLE.carc(c) is None] == []


class TestPaymentVariance:
    def test_underpaid_line(self) -> None:
        v = payment_variance(10_000, 7_000, 2_000)
        assert v.variance_cents == 1_000
        assert v.status == "underpaid"

    def test_exact_and_overpaid(self) -> None:
        assert payment_variance(5_000, 5_000).status == "exact"
        assert payment_variance(5_000, 5_500).variance_cents == -500

    def test_claim_is_sum_of_lines(self) -> None:
        claim = claim_variance([payment_variance(10_000, 9_000), payment_variance(2_000, 2_500)])
        assert (claim.expected_cents, claim.paid_cents, claim.variance_cents) == (
            12_000,
            11_500,
            500,
        )


class TestExpectedAmount:
    @pytest.fixture
    def schedule(self) -> FeeSchedule:
        return FeeSchedule.from_rows(
            "synthetic", read_csv_dicts(FIXTURES / "fee_schedule_synthetic.csv")
        )

    def test_payer_rate_by_date(self, schedule: FeeSchedule) -> None:
        assert expected_amount(schedule, "PAYER-A", "99213", on=date(2024, 6, 1)) == 10_000
        assert expected_amount(schedule, "PAYER-A", "99213", on=date(2025, 6, 1)) == 10_500

    def test_tenant_default_when_payer_has_no_rate(self, schedule: FeeSchedule) -> None:
        assert expected_amount(schedule, "PAYER-B", "99213", on=date(2025, 6, 1)) == 9_000

    def test_pricing_modifier_rate_and_units(self, schedule: FeeSchedule) -> None:
        assert expected_amount(schedule, "PAYER-A", "93000", ["26"]) == 900
        assert expected_amount(schedule, "PAYER-A", "96372", units=3) == 5_400

    def test_no_rate_is_none_not_zero(self, schedule: FeeSchedule) -> None:
        assert expected_amount(schedule, "PAYER-B", "96372") is None
