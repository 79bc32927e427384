from datetime import UTC, datetime, timedelta

import pytest

from models.queries.metrics import (
    HoldFact,
    QueryFact,
    QueryStats,
    hold_metrics,
    percentile,
    query_metrics,
    query_stats,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def q(
    physician: str,
    service_line: str,
    vendor: str,
    *,
    opened_at: datetime = T0,
    answered: timedelta | None = None,
    withdrawn: timedelta | None = None,
    confirmed: bool | None = None,
) -> QueryFact:
    return QueryFact(
        opened_at=opened_at,
        answered_at=opened_at + answered if answered is not None else None,
        withdrawn_at=opened_at + withdrawn if withdrawn is not None else None,
        physician=physician,
        service_line=service_line,
        vendor=vendor,
        confirmed_documented_option=confirmed,
    )


QUERIES = [
    q("A", "cardiology", "V1", answered=2 * H, confirmed=True),
    q("A", "cardiology", "V1", answered=10 * H, confirmed=False),
    q("B", "surgery", "V2", answered=30 * H, confirmed=True),
    q("B", "surgery", "V1", answered=50 * H),  # open-ended answer: agreement not applicable
    q("A", "cardiology", "V2", withdrawn=5 * H),
    q("B", "surgery", "V2", opened_at=NOW - 1 * D),
    q("A", "cardiology", "V1", opened_at=NOW - 5 * D),
    q("A", "surgery", "V1", opened_at=NOW - 20 * D),
]


class TestPercentile:
    @pytest.mark.parametrize(("p", "expected"), [(5, 15), (30, 20), (40, 20), (50, 35), (100, 50)])
    def test_nearest_rank(self, p: float, expected: float) -> None:
        assert percentile([50, 15, 40, 20, 35], p) == expected

    def test_rank_is_not_pushed_up_by_float_error(self) -> None:
        assert percentile(list(range(1, 11)), 70) == 7

    def test_median_of_an_even_count_is_the_lower_middle(self) -> None:
        assert percentile([1, 2, 3, 4], 50) == 2

    def test_no_values_gives_none(self) -> None:
        assert percentile([], 90) is None

    @pytest.mark.parametrize("p", [0, -1, 101])
    def test_p_out_of_range_is_refused(self, p: float) -> None:
        with pytest.raises(ValueError, match="percentile"):
            percentile([1.0], p)


class TestQueryMetrics:
    def test_overall(self) -> None:
        m = query_metrics(QUERIES, now=NOW, charts=200)
        assert m.overall == QueryStats(
            volume=8,
            answered=4,
            withdrawn=1,
            open=3,
            response_rate=pytest.approx(4 / 7),  # type: ignore[arg-type]
            median_hours_to_answer=10.0,
            p90_hours_to_answer=50.0,
            open_by_age={"0-2d": 1, "3-7d": 1, "8-14d": 0, "15+d": 1},
            agreement_rate=pytest.approx(2 / 3),  # type: ignore[arg-type]
            queries_per_100_charts=4.0,
        )

    def test_by_physician(self) -> None:
        m = query_metrics(QUERIES, now=NOW, charts=200, charts_by={"physician": {"A": 50}})
        a, b = m.by_physician["A"], m.by_physician["B"]
        assert (a.volume, a.answered, a.withdrawn, a.open) == (5, 2, 1, 2)
        assert a.response_rate == 0.5
        assert (a.median_hours_to_answer, a.p90_hours_to_answer) == (2.0, 10.0)
        assert a.open_by_age == {"0-2d": 0, "3-7d": 1, "8-14d": 0, "15+d": 1}
        assert a.agreement_rate == 0.5
        assert a.queries_per_100_charts == 10.0
        assert (b.volume, b.median_hours_to_answer, b.p90_hours_to_answer) == (3, 30.0, 50.0)
        assert b.agreement_rate == 1.0
        assert b.queries_per_100_charts is None  # chart count unknown for B

    def test_by_service_line_and_vendor(self) -> None:
        m = query_metrics(QUERIES, now=NOW)
        assert {k: s.volume for k, s in m.by_service_line.items()} == {
            "cardiology": 4,
            "surgery": 4,
        }
        assert {k: s.volume for k, s in m.by_vendor.items()} == {"V1": 5, "V2": 3}
        assert m.by_vendor["V2"].response_rate == 0.5  # 1 answered of 2 answerable

    def test_answer_wins_over_a_later_withdrawal(self) -> None:
        stats = query_stats([q("A", "s", "v", answered=H, withdrawn=2 * H)], now=NOW)
        assert (stats.answered, stats.withdrawn, stats.response_rate) == (1, 0, 1.0)

    def test_no_queries_gives_empty_rates(self) -> None:
        m = query_metrics([], now=NOW, charts=10)
        assert m.overall.volume == 0
        assert m.overall.response_rate is None
        assert m.overall.median_hours_to_answer is None
        assert m.overall.queries_per_100_charts == 0.0
        assert m.by_physician == {}


def h(
    reason: str, encounter: str, cents: int, *, placed_at: datetime, held: timedelta | None = None
) -> HoldFact:
    released = placed_at + held if held is not None else None
    return HoldFact(reason, placed_at, released, cents, encounter)


HOLDS = [
    h("missing_documentation", "E1", 10_000, placed_at=NOW - 1 * D),
    h("charge_missing", "E1", 10_000, placed_at=NOW - 4 * D),
    h("registration_error", "E2", 25_000, placed_at=NOW - 10 * D),
    h("other", "E3", 4_000, placed_at=NOW - H),
    h("missing_documentation", "E2", 25_000, placed_at=T0, held=6 * H),
    h("charge_missing", "E4", 7_500, placed_at=T0, held=18 * H),
    h("missing_documentation", "E4", 7_500, placed_at=T0, held=3 * H),
]


class TestHoldMetrics:
    def test_open_holds_by_reason_and_age(self) -> None:
        m = hold_metrics(HOLDS, now=NOW)
        assert m.open_total == 4
        nonzero = {
            (reason, bucket): n
            for reason, buckets in m.open_by_reason_age.items()
            for bucket, n in buckets.items()
            if n
        }
        assert nonzero == {
            ("missing_documentation", "0-2d"): 1,
            ("charge_missing", "3-7d"): 1,
            ("registration_error", "8-14d"): 1,
            ("other", "0-2d"): 1,
        }
        assert m.open_by_reason_age["payer_instruction"] == {
            "0-2d": 0,
            "3-7d": 0,
            "8-14d": 0,
            "15+d": 0,
        }

    def test_overdue_uses_the_reason_thresholds(self) -> None:
        m = hold_metrics(HOLDS, now=NOW)
        assert {r: n for r, n in m.overdue_by_reason.items() if n} == {
            "charge_missing": 1,
            "registration_error": 1,
        }
        relaxed = hold_metrics(HOLDS, now=NOW, alert_after={"charge_missing": 7 * D})
        assert relaxed.overdue_by_reason["charge_missing"] == 0

    def test_dollars_at_hold_count_each_chart_once(self) -> None:
        m = hold_metrics(HOLDS, now=NOW)
        assert m.cents_at_hold == 10_000 + 25_000 + 4_000
        assert m.cents_at_hold_by_reason["missing_documentation"] == 10_000
        assert m.cents_at_hold_by_reason["charge_missing"] == 10_000
        assert m.cents_at_hold_by_reason["payer_instruction"] == 0

    def test_mean_time_to_release(self) -> None:
        m = hold_metrics(HOLDS, now=NOW)
        assert m.mean_hours_to_release == 9.0
        assert m.mean_hours_to_release_by_reason["missing_documentation"] == 4.5
        assert m.mean_hours_to_release_by_reason["charge_missing"] == 18.0
        assert m.mean_hours_to_release_by_reason["registration_error"] is None

    def test_repeat_holds_per_chart(self) -> None:
        m = hold_metrics(HOLDS, now=NOW)
        assert (m.charts_with_holds, m.charts_with_repeat_holds) == (4, 3)
        assert m.repeat_holds_per_chart == 0.75

    def test_unknown_reason_is_reported_not_dropped(self) -> None:
        m = hold_metrics([h("legacy_reason", "E9", 1, placed_at=NOW)], now=NOW)
        assert m.open_by_reason_age["legacy_reason"]["0-2d"] == 1

    def test_no_holds(self) -> None:
        m = hold_metrics([], now=NOW)
        assert (m.open_total, m.cents_at_hold, m.charts_with_holds) == (0, 0, 0)
        assert m.mean_hours_to_release is None
        assert m.repeat_holds_per_chart is None
