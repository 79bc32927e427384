import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.qa.sampling import (
    SAMPLING_ALGORITHM,
    FrameItem,
    SamplingPlan,
    UniverseFilter,
    allocate,
    apply_filter,
    attribute_sample_size,
    draw_sample,
    frame_fingerprint,
    risk_flags,
    select_double_review,
    stratum_of,
    verify_sample,
)

VENDORS = ("acme", "bolt", "core")
SPECIALTIES = ("cardiology", "ortho", "primary_care", "ed")


def make_frame(n: int = 1000) -> list[FrameItem]:
    flags: tuple[list[str], ...] = (
        [],
        ["99215"],
        ["mod25"],
        ["99215", "mod25"],
        ["high_dollar"],
        ["mod59"],
    )
    return [
        FrameItem(
            encounter_id=f"enc-{i:05d}",
            vendor=VENDORS[i % 3],
            coder=f"coder-{i % 7}",
            specialty=SPECIALTIES[i % 4],
            payer="medicare" if i % 2 else "aetna",
            service_date=f"2025-{1 + i % 12:02d}-15",
            risk_flags=list(flags[i % len(flags)]),
            charge_cents=10_000 * (1 + i % 13),
        )
        for i in range(n)
    ]


# Krejcie & Morgan (1970), Table 1: population N -> sample s (95 %, ±5 %, P = .50).
KREJCIE_MORGAN_1970 = {
    10: 10, 15: 14, 20: 19, 25: 24, 30: 28, 35: 32, 40: 36, 45: 40, 50: 44, 55: 48,
    60: 52, 65: 56, 70: 59, 75: 63, 80: 66, 85: 70, 90: 73, 95: 76, 100: 80, 110: 86,
    120: 92, 130: 97, 140: 103, 220: 140, 230: 144, 240: 148, 250: 152, 500: 217,
    1200: 291, 1300: 297, 1400: 302, 1500: 306, 9000: 368,
}  # fmt: skip


class TestAttributeSampleSize:
    """Cochran's formula with the finite population correction.

    Reference: Krejcie, R.V. & Morgan, D.W. (1970), "Determining sample size for research
    activities", Educational and Psychological Measurement 30, 607–610, Table 1 (95 %
    confidence, ±5 % precision, P = .50). The table rounds to the nearest whole chart; our
    default rounds up, so that the precision target is always met.
    """

    @pytest.mark.parametrize(("population", "expected"), sorted(KREJCIE_MORGAN_1970.items()))
    def test_nearest_rounding_reproduces_the_krejcie_morgan_table(
        self, population: int, expected: int
    ) -> None:
        assert attribute_sample_size(population, 0.95, 0.05, 0.5, rounding="nearest") == expected

    @pytest.mark.parametrize(("population", "expected"), sorted(KREJCIE_MORGAN_1970.items()))
    def test_rounding_up_is_never_below_the_table_and_at_most_one_above(
        self, population: int, expected: int
    ) -> None:
        assert expected <= attribute_sample_size(population) <= expected + 1

    @pytest.mark.parametrize(
        ("population", "expected"),
        [(100, 80), (1000, 278), (10_000, 370), (100_000, 383), (10**9, 385)],
    )
    def test_default_is_95_percent_confidence_5_percent_precision_p_half(
        self, population: int, expected: int
    ) -> None:
        assert attribute_sample_size(population) == expected

    @pytest.mark.parametrize(
        ("rate", "expected"), [(0.5, 385), (0.10, 139), (0.05, 73), (0.02, 31)]
    )
    def test_expected_error_rate_shrinks_the_sample_for_a_large_population(
        self, rate: float, expected: int
    ) -> None:
        # n0 = 1.96² p(1−p) / .05²: 384.1, 138.3, 73.0 (72.99), 30.1 → rounded up
        assert attribute_sample_size(10**9, 0.95, 0.05, rate) == expected

    def test_none_expected_error_rate_means_the_conservative_half(self) -> None:
        assert attribute_sample_size(5000, expected_error_rate=None) == attribute_sample_size(
            5000, expected_error_rate=0.5
        )

    def test_higher_confidence_needs_more_charts(self) -> None:
        assert attribute_sample_size(10**6, 0.99) == 664  # 2.5758² × .25 / .0025 = 663.5

    def test_empty_population_needs_no_charts(self) -> None:
        assert attribute_sample_size(0) == 0

    def test_sample_never_exceeds_population(self) -> None:
        assert attribute_sample_size(3) == 3

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"population": -1},
            {"population": 10, "confidence": 1.0},
            {"population": 10, "precision": 0.0},
            {"population": 10, "expected_error_rate": 1.5},
        ],
    )
    def test_rejects_out_of_range_inputs(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError):  # noqa: PT011
            attribute_sample_size(**kwargs)  # type: ignore[arg-type]


class TestRiskFlags:
    def test_flags_come_out_in_precedence_order(self) -> None:
        flags = risk_flags(["99215", "12001"], ["25", "xs"], 800_000, high_dollar_threshold=500_000)
        assert flags == ["high_dollar", "99215", "mod25", "mod59"]

    def test_a_plain_chart_has_no_flags(self) -> None:
        assert risk_flags(["99213"], ["LT"], 10_000) == []

    def test_multi_flag_chart_lands_in_its_highest_risk_stratum(self) -> None:
        item = make_frame(4)[3]  # 99215 + mod25
        assert stratum_of(item, "risk") == "99215"
        assert stratum_of(make_frame(1)[0], "risk") == "none"


class TestApplyFilter:
    def test_each_dimension_narrows_the_universe(self) -> None:
        f = UniverseFilter(
            date_from="2025-03-01", date_to="2025-03-31", vendors=["core"], risk_flags=["mod25"]
        )
        kept = apply_filter(make_frame(), f)
        assert kept
        assert all(i.vendor == "core" and i.service_date.startswith("2025-03") for i in kept)
        assert all("mod25" in i.risk_flags for i in kept)

    def test_an_empty_filter_keeps_everything(self) -> None:
        assert len(apply_filter(make_frame(50), UniverseFilter())) == 50


class TestFrameFingerprint:
    def test_order_of_items_and_flags_does_not_matter(self) -> None:
        frame = make_frame(30)
        shuffled = frame[::-1]
        shuffled[3] = replace(shuffled[3], risk_flags=list(reversed(shuffled[3].risk_flags)))
        assert frame_fingerprint(frame) == frame_fingerprint(shuffled)

    def test_any_change_to_the_frame_changes_it(self) -> None:
        frame = make_frame(30)
        changed = [*frame[:-1], replace(frame[-1], charge_cents=1)]
        assert frame_fingerprint(frame) != frame_fingerprint(changed)


class TestAllocate:
    def test_proportional_split_is_exact_when_quotas_are_whole(self) -> None:
        assert allocate({"a": 50, "b": 30, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}

    def test_largest_remainder_breaks_fractions(self) -> None:
        # quotas 4.2, 3.5, 2.3 → floors 4, 3, 2; the one spare chart goes to b (.5)
        assert allocate({"a": 42, "b": 35, "c": 23}, 10) == {"a": 4, "b": 4, "c": 2}

    def test_every_non_empty_stratum_gets_at_least_one(self) -> None:
        assert allocate({"a": 97, "b": 2, "c": 1}, 5) == {"a": 3, "b": 1, "c": 1}

    def test_no_stratum_gets_more_than_it_holds(self) -> None:
        assert allocate({"a": 2, "b": 100}, 20, "equal") == {"a": 2, "b": 18}

    def test_neyman_favours_the_more_variable_stratum(self) -> None:
        alloc = allocate({"a": 100, "b": 100}, 20, "neyman", {"a": 1.0, "b": 3.0})
        assert alloc == {"a": 5, "b": 15}

    def test_size_beyond_population_takes_everything(self) -> None:
        assert allocate({"a": 3, "b": 4, "empty": 0}, 50) == {"a": 3, "b": 4}

    @given(
        sizes=st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 60), max_size=8),
        size=st.integers(0, 300),
        method=st.sampled_from(["proportional", "equal", "neyman"]),
    )
    def test_allocation_always_sums_to_the_size_within_caps(
        self, sizes: dict[str, int], size: int, method: str
    ) -> None:
        alloc = allocate(sizes, size, method, {k: len(k) / 2 for k in sizes})  # type: ignore[arg-type]
        non_empty = [k for k, n in sizes.items() if n > 0]
        assert sum(alloc.values()) == min(size, sum(sizes.values()))
        assert all(0 <= alloc[k] <= sizes[k] for k in alloc)
        if size >= len(non_empty):
            assert all(alloc[k] >= 1 for k in non_empty)


class TestDrawSample:
    def test_same_plan_and_seed_draw_the_same_sample(self) -> None:
        plan = SamplingPlan(method="simple_random", seed=20250301, size=40)
        assert draw_sample(make_frame(), plan) == draw_sample(make_frame(), plan)

    def test_a_different_seed_draws_a_different_sample(self) -> None:
        frame = make_frame()
        first = draw_sample(frame, SamplingPlan(method="simple_random", seed=1, size=40))
        second = draw_sample(frame, SamplingPlan(method="simple_random", seed=2, size=40))
        assert first.encounter_ids != second.encounter_ids

    def test_frame_order_does_not_change_the_sample(self) -> None:
        frame = make_frame()
        shuffled = frame[:]
        random.Random(5).shuffle(shuffled)
        plan = SamplingPlan(method="stratified", seed=9, size=60, strata_key="vendor")
        assert draw_sample(frame, plan) == draw_sample(shuffled, plan)

    def test_v1_draw_is_pinned(self) -> None:
        """Guards SAMPLING_ALGORITHM v1: if this changes, bump the version, don't edit."""
        sample = draw_sample(make_frame(20), SamplingPlan(method="simple_random", seed=7, size=5))
        assert sample.algorithm == SAMPLING_ALGORITHM == "v1"
        assert sample.encounter_ids == PINNED_V1

    def test_stratified_allocation_sums_to_the_size(self) -> None:
        plan = SamplingPlan(method="stratified", seed=3, size=100, strata_key="specialty")
        sample = draw_sample(make_frame(), plan)
        assert sum(sample.per_stratum.values()) == len(sample.encounter_ids) == 100
        assert sample.per_stratum == {"cardiology": 25, "ed": 25, "ortho": 25, "primary_care": 25}

    def test_risk_strata_come_from_flags(self) -> None:
        plan = SamplingPlan(method="stratified", seed=3, size=30, strata_key="risk")
        sample = draw_sample(make_frame(600), plan)
        assert set(sample.per_stratum) == {"99215", "high_dollar", "mod25", "mod59", "none"}
        assert sum(sample.per_stratum.values()) == 30

    def test_size_is_computed_from_confidence_precision_and_error_rate(self) -> None:
        plan = SamplingPlan(method="simple_random", seed=1, expected_error_rate=0.05)
        sample = draw_sample(make_frame(), plan)
        # n0 = 72.99; with N = 1000: 72.99 / (1 + 71.99 / 1000) = 68.09 → 69
        assert len(sample.encounter_ids) == attribute_sample_size(1000, 0.95, 0.05, 0.05) == 69

    def test_census_takes_the_whole_filtered_universe(self) -> None:
        plan = SamplingPlan(method="census", seed=0, universe=UniverseFilter(vendors=["bolt"]))
        sample = draw_sample(make_frame(90), plan)
        assert sample.frame_size == len(sample.encounter_ids) == 30
        assert sample.per_stratum == {"all": 30}

    def test_stratified_without_a_key_is_refused(self) -> None:
        with pytest.raises(ValueError, match="strata_key"):
            draw_sample(make_frame(10), SamplingPlan(method="stratified", seed=1, size=3))

    def test_a_frame_with_duplicate_encounters_is_refused(self) -> None:
        frame = make_frame(5)
        with pytest.raises(ValueError, match="more than once"):
            draw_sample([*frame, frame[0]], SamplingPlan(method="census", seed=1))

    @given(
        n=st.integers(0, 120),
        size=st.integers(0, 150),
        seed=st.integers(0, 2**32),
        key=st.sampled_from([None, "vendor", "coder", "risk"]),
    )
    def test_sample_is_a_duplicate_free_subset_of_the_frame(
        self, n: int, size: int, seed: int, key: str | None
    ) -> None:
        frame = make_frame(n)
        method = "simple_random" if key is None else "stratified"
        plan = SamplingPlan(method=method, seed=seed, size=size, strata_key=key)  # type: ignore[arg-type]
        sample = draw_sample(frame, plan)
        ids = {i.encounter_id for i in frame}
        assert set(sample.encounter_ids) <= ids
        assert len(set(sample.encounter_ids)) == len(sample.encounter_ids) == min(size, n)
        assert sum(sample.per_stratum.values()) == len(sample.encounter_ids)
        assert draw_sample(frame, plan) == sample


PINNED_V1 = ["enc-00001", "enc-00002", "enc-00004", "enc-00010", "enc-00012"]


class TestVerifySample:
    def test_a_redraw_proves_the_sample(self) -> None:
        frame, plan = make_frame(), SamplingPlan(method="simple_random", seed=11, size=25)
        assert verify_sample(frame, plan, draw_sample(frame, plan)) == []

    def test_a_changed_frame_is_reported(self) -> None:
        frame, plan = make_frame(), SamplingPlan(method="simple_random", seed=11, size=25)
        sample = draw_sample(frame, plan)
        problems = verify_sample(frame[1:], plan, sample)
        assert "the frame differs from the one the sample was drawn from" in problems

    def test_another_algorithm_version_is_reported(self) -> None:
        frame, plan = make_frame(10), SamplingPlan(method="census", seed=0)
        sample = replace(draw_sample(frame, plan), algorithm="v0")
        assert verify_sample(frame, plan, sample) == [
            "sample used algorithm v0, this code draws v1"
        ]


class TestSelectDoubleReview:
    def test_takes_the_configured_share_rounded_up_and_reproducibly(self) -> None:
        ids = [f"enc-{i}" for i in range(47)]
        chosen = select_double_review(ids, 0.10, seed=4)
        assert len(chosen) == 5
        assert set(chosen) <= set(ids)
        assert chosen == select_double_review(list(reversed(ids)), 0.10, seed=4)

    def test_rejects_a_share_outside_zero_to_one(self) -> None:
        with pytest.raises(ValueError, match="share"):
            select_double_review(["a"], 1.5, seed=1)
