from datetime import date

import pytest

from models.claims.appeals import (
    AppealDeadlinePolicy,
    AppealDeadlineRule,
    AppealDecision,
    AppealRecord,
    appeal_deadline,
    appealable,
    decide,
    next_level,
    one_open_appeal,
    warning_dates,
)


class TestAppealDeadline:
    def test_medicare_redetermination_presumes_receipt_5_days_after_notice(self) -> None:
        # notice 2025-01-10 → presumed received 2025-01-15 → +120 days = 2025-05-15
        assert appeal_deadline(date(2025, 1, 10), "medicare", "redetermination") == date(
            2025, 5, 15
        )

    def test_medicare_reconsideration_is_180_days_from_receipt(self) -> None:
        assert appeal_deadline(date(2025, 1, 10), "medicare", "reconsideration") == date(
            2025, 7, 14
        )

    def test_medicare_alj_is_60_days_from_receipt(self) -> None:
        assert appeal_deadline(date(2025, 1, 10), "medicare", "alj") == date(2025, 3, 16)

    def test_commercial_default_is_configurable(self) -> None:
        notice = date(2025, 1, 10)
        assert appeal_deadline(notice, "commercial", "first_level") == date(2025, 7, 9)
        policy = AppealDeadlinePolicy(default_days=90)
        assert appeal_deadline(notice, "commercial", "first_level", policy) == date(2025, 4, 10)

    def test_payer_specific_rule_beats_payer_kind(self) -> None:
        policy = AppealDeadlinePolicy(
            [
                AppealDeadlineRule("commercial", "first_level", 60),
                AppealDeadlineRule("commercial", "first_level", 30, payer_id="P-9"),
            ]
        )
        notice = date(2025, 1, 1)
        assert appeal_deadline(notice, "commercial", "first_level", policy) == date(2025, 3, 2)
        assert appeal_deadline(notice, "commercial", "first_level", policy, payer_id="P-9") == date(
            2025, 1, 31
        )


class TestWarningDates:
    def test_default_offsets_earliest_first(self) -> None:
        assert warning_dates(date(2025, 5, 15)) == [
            date(2025, 4, 15),
            date(2025, 5, 1),
            date(2025, 5, 8),
            date(2025, 5, 14),
        ]

    def test_past_warnings_are_dropped(self) -> None:
        assert warning_dates(date(2025, 5, 15), today=date(2025, 5, 10)) == [date(2025, 5, 14)]


class TestAppealable:
    def test_timely_filing_is_not_appealable(self) -> None:
        ok, reason = appealable(["29"])
        assert not ok
        assert "timely filing" in reason

    def test_ma130_unprocessable_is_not_appealable(self) -> None:
        assert appealable(["16"], ["MA130"])[0] is False

    def test_medical_necessity_is_appealable(self) -> None:
        assert appealable(["50"], ["N115"]) == (True, "appealable")


class TestOneOpenAppeal:
    def test_second_open_appeal_refused(self) -> None:
        open_one = AppealRecord("a1", "d1", "redetermination")
        ok, reason = one_open_appeal("d1", [open_one])
        assert not ok
        assert "a1" in reason

    def test_other_denials_do_not_block(self) -> None:
        assert one_open_appeal("d2", [AppealRecord("a1", "d1")])[0]

    def test_next_level_after_upheld(self) -> None:
        upheld = AppealRecord("a1", "d1", "redetermination", "decided", AppealDecision.UPHELD)
        assert one_open_appeal("d1", [upheld])[0]
        assert next_level("medicare", [upheld]) == "reconsideration"
        assert next_level("commercial", []) == "first_level"

    def test_overturned_denial_cannot_be_appealed_again(self) -> None:
        won = AppealRecord("a1", "d1", "first_level", "decided", AppealDecision.OVERTURNED)
        assert not one_open_appeal("d1", [won])[0]


class TestDecide:
    def test_partial_recovers_part(self) -> None:
        outcome = decide(AppealDecision.PARTIAL, 4_000, 10_000)
        assert outcome.recovered_cents == 4_000

    def test_upheld_recovers_nothing(self) -> None:
        with pytest.raises(ValueError, match="upheld"):
            decide(AppealDecision.UPHELD, 100, 10_000)

    def test_partial_cannot_be_full_amount(self) -> None:
        with pytest.raises(ValueError, match="partial"):
            decide(AppealDecision.PARTIAL, 10_000, 10_000)

    def test_recovery_cannot_exceed_disputed(self) -> None:
        with pytest.raises(ValueError, match="between"):
            decide(AppealDecision.OVERTURNED, 10_001, 10_000)
