from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from models.qa.findings import (
    ChartCoding,
    DxCode,
    Finding,
    FindingDraft,
    GuidelineReference,
    PxCode,
)
from models.qa.scores import (
    ChartResult,
    DoubleReview,
    EducationAssignment,
    coaching_summary,
    cohen_kappa,
    improvement,
    kappa_by_auditor_pair,
    per_code_judgements,
    repeat_findings,
    repeats_after_education,
    resolution_stats,
    score,
    score_by,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def finding(
    line: int = 0,
    category: str = "specificity",
    *,
    state: str = "final",
    outcome: str | None = None,
    hours: float | None = None,
    citation: str = "OCG I.B.2",
) -> Finding:
    return Finding(
        finding_id=f"f-{line}-{category}",
        encounter_id="enc",
        coder_id="c1",
        auditor_id="a1",
        draft=FindingDraft("changed", "dx", "E11.9", "E11.65", "unknown", line),
        category=category,  # type: ignore[arg-type]
        severity="medium",
        reference=GuidelineReference("official_guidelines", citation),
        rationale="Documented hyperglycemia supports E11.65.",
        opened_at=T0,
        state=state,  # type: ignore[arg-type]
        outcome=outcome,  # type: ignore[arg-type]
        resolved_at=None if hours is None else T0 + timedelta(hours=hours),
    )


def chart(
    enc: str, lines: int, *findings: Finding, coder: str = "c1", vendor: str = "acme"
) -> ChartResult:
    return ChartResult(enc, coder, vendor, "cardiology", "2025-03", lines, list(findings))


class TestScore:
    def test_code_level_and_chart_level_accuracy_are_different_numbers(self) -> None:
        charts = [
            chart("e1", 10),
            chart("e2", 10, finding(0), finding(0, "poa")),  # two findings, one line
            chart("e3", 5, finding(1), finding(3, "units")),
            chart("e4", 5),
        ]
        s = score(charts)
        assert (s.code_lines_reviewed, s.code_lines_correct) == (30, 27)
        assert s.code_level_accuracy == pytest.approx(0.9)
        assert (s.charts_accurate, s.chart_level_accuracy) == (2, 0.5)

    def test_pass_rate_counts_charts_at_or_above_the_threshold(self) -> None:
        charts = [chart("e1", 20, finding(0)), chart("e2", 10, finding(0)), chart("e3", 4)]
        s = score(charts)  # 95 %, 90 %, 100 %
        assert s.charts_passed == 2
        assert s.pass_rate == pytest.approx(2 / 3)
        assert score(charts, pass_threshold=0.9).charts_passed == 3

    def test_only_final_not_withdrawn_findings_count(self) -> None:
        charts = [
            chart(
                "e1",
                4,
                finding(0, state="disputed"),
                finding(1, state="final", outcome="withdrawn"),
                finding(2, state="reconciled", outcome="upheld"),
            )
        ]
        s = score(charts)
        assert (s.code_level_accuracy, s.chart_level_accuracy) == (1.0, 1.0)
        assert s.pending_findings == 2

    def test_a_chart_with_a_counted_finding_is_never_chart_accurate(self) -> None:
        assert score([chart("e1", 0, finding(0))]).charts_accurate == 0

    def test_nothing_reviewed_gives_no_rates_rather_than_zero(self) -> None:
        s = score([])
        assert (s.code_level_accuracy, s.chart_level_accuracy, s.pass_rate) == (None, None, None)


class TestScoreBy:
    def test_scores_split_per_coder_and_vendor(self) -> None:
        charts = [
            chart("e1", 10, finding(0), coder="c1", vendor="acme"),
            chart("e2", 10, coder="c2", vendor="acme"),
            chart("e3", 10, coder="c2", vendor="bolt"),
        ]
        by_coder = score_by(charts, "coder")
        assert list(by_coder) == ["c1", "c2"]
        assert by_coder["c1"].code_level_accuracy == pytest.approx(0.9)
        assert by_coder["c2"].chart_level_accuracy == 1.0
        assert score_by(charts, "vendor")["acme"].charts_reviewed == 2

    def test_period_gives_accuracy_over_time(self) -> None:
        charts = [chart("e1", 10), replace(chart("e2", 10, finding(0)), period="2025-04")]
        assert {k: v.chart_level_accuracy for k, v in score_by(charts, "period").items()} == {
            "2025-03": 1.0,
            "2025-04": 0.0,
        }


class TestRepeatFindings:
    def test_same_coder_and_category_in_a_later_cycle_is_a_repeat(self) -> None:
        cycles = [
            [chart("e1", 5, finding(0, "specificity"))],
            [chart("e2", 5, finding(0, "poa"))],
            [chart("e3", 5, finding(0, "specificity")), chart("e4", 5, finding(1, "specificity"))],
        ]
        repeats = repeat_findings(cycles)
        assert [(r.coder_id, r.category, r.first_cycle, r.cycle) for r in repeats] == [
            ("c1", "specificity", 0, 2)
        ]
        assert repeats[0].encounter_ids == ["e3", "e4"]

    def test_another_coder_or_a_withdrawn_finding_is_not_a_repeat(self) -> None:
        cycles = [
            [chart("e1", 5, finding(0, "poa"))],
            [
                chart("e2", 5, finding(0, "poa"), coder="c2"),
                chart("e3", 5, finding(0, "poa", outcome="withdrawn")),
            ],
        ]
        assert repeat_findings(cycles) == []


class TestRepeatsAfterEducation:
    def test_only_repeats_after_acknowledged_education_are_escalated(self) -> None:
        cycles = [
            [chart("e1", 5, finding(0, "poa"), finding(1, "units"))],
            [chart("e2", 5, finding(0, "poa"), finding(1, "units"))],
        ]
        education = [
            EducationAssignment("c1", "poa", 0, T0, acknowledged_at=T0 + timedelta(days=1)),
            EducationAssignment("c1", "units", 0, T0),  # assigned, never acknowledged
        ]
        escalate = repeats_after_education(repeat_findings(cycles), education)
        assert [(r.category, r.cycle) for r in escalate] == [("poa", 1)]


class TestImprovement:
    def test_change_is_last_minus_first_audited_cycle(self) -> None:
        cycles = [
            [chart("e1", 10, finding(0), finding(1))],
            [],
            [chart("e2", 10, finding(0))],
        ]
        trend = improvement(cycles)["c1"]
        assert trend.code_level_accuracy == [pytest.approx(0.8), None, pytest.approx(0.9)]
        assert trend.change == pytest.approx(0.1)

    def test_a_single_audited_cycle_has_no_change_yet(self) -> None:
        assert improvement([[chart("e1", 10)]])["c1"].change is None


class TestCoachingSummary:
    def test_top_categories_come_with_example_charts_and_references(self) -> None:
        charts = [
            chart("e1", 5, finding(0, "specificity"), finding(1, "poa", citation="OCG App. I")),
            chart("e2", 5, finding(0, "specificity", citation="Coding Clinic 3Q 2019")),
            chart("e3", 5, finding(0, "em_level", outcome="withdrawn")),
        ]
        items = coaching_summary(charts, top_n=2)["c1"]
        assert [(i.category, i.count) for i in items] == [("specificity", 2), ("poa", 1)]
        assert items[0].example_encounter_ids == ["e1", "e2"]
        assert items[0].references == [
            "official_guidelines: OCG I.B.2",
            "official_guidelines: Coding Clinic 3Q 2019",
        ]


class TestCohenKappa:
    def test_matches_the_textbook_worked_example(self) -> None:
        """Wikipedia, "Cohen's kappa", simple example: 50 proposals, 20 yes/yes, 15 no/no,
        5 yes/no, 10 no/yes → po = 0.70, pe = 0.50, kappa = 0.40."""
        pairs = (
            [("yes", "yes")] * 20 + [("no", "no")] * 15 + [("yes", "no")] * 5 + [("no", "yes")] * 10
        )
        result = cohen_kappa(pairs)
        assert result.n == 50
        assert result.percent_agreement == pytest.approx(0.70)
        assert result.expected_agreement == pytest.approx(0.50)
        assert result.kappa == pytest.approx(0.40)

    def test_agreement_no_better_than_chance_is_zero(self) -> None:
        pairs = [("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")]
        assert cohen_kappa(pairs).kappa == pytest.approx(0.0)

    def test_a_single_shared_category_leaves_kappa_undefined(self) -> None:
        result = cohen_kappa([("correct", "correct")] * 12)
        assert (result.percent_agreement, result.expected_agreement, result.kappa) == (
            1.0,
            1.0,
            None,
        )

    def test_no_items_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="at least one"):
            cohen_kappa([])


class TestKappaByAuditorPair:
    def test_pairs_pool_regardless_of_who_reviewed_first(self) -> None:
        reviews = [
            DoubleReview("e1", "ann", "bob", [("error", "error"), ("correct", "error")]),
            DoubleReview("e2", "bob", "ann", [("correct", "correct"), ("error", "correct")]),
        ]
        result = kappa_by_auditor_pair(reviews)
        assert list(result) == ["ann|bob"]
        assert result["ann|bob"].n == 4
        assert (
            result["ann|bob"].percent_agreement == 0.5
        )  # both disagreements are ann: correct/error


class TestPerCodeJudgements:
    def test_each_coder_code_is_judged_correct_or_error(self) -> None:
        coder = ChartCoding([DxCode("I10"), DxCode("E78.5")], [PxCode("99214")])
        auditor = ChartCoding([DxCode("I10")], [PxCode("99213")])
        assert per_code_judgements(coder, auditor) == ["correct", "error", "error"]


class TestResolutionStats:
    def test_summarises_hours_from_open_to_final(self) -> None:
        findings = [finding(hours=h) for h in (1, 2, 3, 4, 10)] + [finding(state="open")]
        stats = resolution_stats(findings)
        assert (stats.count, stats.mean_hours, stats.median_hours) == (5, 4.0, 3.0)
        assert (stats.p90_hours, stats.max_hours) == (10.0, 10.0)

    def test_no_resolved_findings_gives_empty_stats(self) -> None:
        assert resolution_stats([finding(state="open")]).count == 0
