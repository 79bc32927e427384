import pytest

from models.claims.revenue_metrics import (
    AppealFact,
    ClaimFact,
    DenialFact,
    RevenueMetrics,
    ScrubFact,
    VarianceFact,
    revenue_metrics,
)


@pytest.fixture
def metrics() -> RevenueMetrics:
    """Four claims; the expected figures in the tests below are worked out by hand."""
    claims = [
        ClaimFact("C1", "PAYER-A", submitted=True, remitted=True),
        ClaimFact("C2", "PAYER-A", submitted=True, remitted=True, rejections_277ca=1),
        ClaimFact("C3", "PAYER-B", submitted=True, remitted=True),
        ClaimFact("C4", "PAYER-B"),  # still in rework
    ]
    scrubs = [
        ScrubFact("C1"),
        ScrubFact("C2", 1, ["pointer.duplicate"]),
        ScrubFact("C3", 1, ["ptp.modifier_required", "mue.exceeded"], hard=True),
        ScrubFact("C3", 2),
        ScrubFact("C4", 1, ["code.invalid"], hard=True),
    ]
    denials = [
        DenialFact("D1", "C1", "PAYER-A", "coding", 3_000),
        DenialFact("D2", "C1", "PAYER-A", "bundling", 1_000),
        DenialFact("D3", "C3", "PAYER-B", "authorization", 5_000),
    ]
    appeals = [
        AppealFact("A1", "D1", "overturned", 3_000),
        AppealFact("A2", "D3", "partial", 2_000),
        AppealFact("A3", "D2", "upheld"),
        AppealFact("A4", "D9"),
    ]
    variances = [
        VarianceFact("C1", 0, "PAYER-A", 10_000, 8_000, 2_000),
        VarianceFact("C2", 0, "PAYER-A", 10_000, 7_000, 1_000),
        VarianceFact("C3", 0, "PAYER-B", 5_000, 5_500),
    ]
    return revenue_metrics(scrubs, claims, denials, appeals, variances)


class TestScrubMetrics:
    def test_edit_rate_counts_first_scrub_per_claim(self, metrics: RevenueMetrics) -> None:
        assert metrics.claims_scrubbed == 4
        assert metrics.claim_edit_rate == 0.75
        assert metrics.edit_rate_by_rule == {
            "code.invalid": 0.25,
            "mue.exceeded": 0.25,
            "pointer.duplicate": 0.25,
            "ptp.modifier_required": 0.25,
        }

    def test_first_pass_clean_excludes_hard_edits_and_277ca_rejections(
        self, metrics: RevenueMetrics
    ) -> None:
        assert metrics.claims_submitted == 3
        assert metrics.first_pass_clean_claim_rate == pytest.approx(1 / 3)

    def test_rework_counts_each_return_to_the_coder(self, metrics: RevenueMetrics) -> None:
        assert metrics.rework_volume == 3
        assert metrics.reworked_claims == 3


class TestDenialMetrics:
    def test_denial_rate_is_per_remitted_claim(self, metrics: RevenueMetrics) -> None:
        assert metrics.denial_rate == pytest.approx(2 / 3)
        assert metrics.denial_rate_by_payer == {"PAYER-A": 0.5, "PAYER-B": 1.0}

    def test_coding_attributable_includes_bundling(self, metrics: RevenueMetrics) -> None:
        assert metrics.coding_denial_rate == pytest.approx(1 / 3)
        assert metrics.denial_rate_by_root_cause["bundling"] == pytest.approx(1 / 3)

    def test_volumes(self, metrics: RevenueMetrics) -> None:
        assert metrics.denial_volume == 3
        assert metrics.denial_volume_by_root_cause == {
            "authorization": 1,
            "bundling": 1,
            "coding": 1,
        }
        assert metrics.denial_volume_by_payer == {"PAYER-A": 2, "PAYER-B": 1}
        assert metrics.denial_volume_by_payer_and_root_cause == {
            "PAYER-A": {"bundling": 1, "coding": 1},
            "PAYER-B": {"authorization": 1},
        }


class TestAppealMetrics:
    def test_overturn_rate_counts_partial_wins(self, metrics: RevenueMetrics) -> None:
        assert metrics.appeal_volume == 4
        assert metrics.appeals_decided == 3
        assert metrics.overturn_rate == pytest.approx(2 / 3)
        assert metrics.recovered_cents == 5_000


class TestPaymentVarianceMetrics:
    def test_under_and_over_payments_kept_apart(self, metrics: RevenueMetrics) -> None:
        assert metrics.payment_variance_cents == 1_500
        assert metrics.underpaid_cents == 2_000
        assert metrics.overpaid_cents == 500
        assert metrics.payment_variance_by_payer == {"PAYER-A": 2_000, "PAYER-B": -500}


class TestEmptyData:
    def test_rates_without_data_are_none_not_zero(self) -> None:
        empty = revenue_metrics()
        assert empty.claim_edit_rate is None
        assert empty.first_pass_clean_claim_rate is None
        assert empty.denial_rate is None
        assert empty.overturn_rate is None
