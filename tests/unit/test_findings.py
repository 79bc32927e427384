from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from models.qa.findings import (
    ChartCoding,
    DxCode,
    Finding,
    FindingDraft,
    FindingEvent,
    FindingTransitionError,
    GuidelineReference,
    InvalidFinding,
    PxCode,
    allowed_actions,
    apply_event,
    compare_coding,
    counts_as_error,
    default_category,
    diff_coding,
    open_finding,
    time_to_resolution,
    validate_finding,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
REF = GuidelineReference("official_guidelines", "ICD-10-CM OCG Section I.B.1")


def dx(*codes: str) -> ChartCoding:
    return ChartCoding(diagnoses=[DxCode(c) for c in codes])


def px(*lines: PxCode) -> ChartCoding:
    return ChartCoding(procedures=list(lines))


def kinds(drafts: list[FindingDraft]) -> list[tuple[str, str | None, str | None, str]]:
    return [(d.kind, d.coder_code, d.auditor_code, d.financial_direction) for d in drafts]


def make_finding(**overrides: object) -> Finding:
    base = Finding(
        finding_id="f-1",
        encounter_id="enc-1",
        coder_id="coder-1",
        auditor_id="aud-1",
        draft=FindingDraft("deleted", "dx", "E78.5", None, "over", 1),
        category="unsupported_code",
        severity="medium",
        reference=REF,
        rationale="No provider documentation of hyperlipidemia in the visit note.",
        opened_at=T0,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def event(action: str, role: str, hours: int, **kw: object) -> FindingEvent:
    actor = {"coder": "coder-1", "auditor": "aud-1", "system": "system"}[role]
    return FindingEvent(action, actor, role, T0 + timedelta(hours=hours), **kw)  # type: ignore[arg-type]


class TestCompareCoding:
    def test_identical_coding_has_no_findings(self) -> None:
        coding = ChartCoding([DxCode("I10", "Y")], [PxCode("99214", ["25"])])
        diff = compare_coding(coding, coding)
        assert diff.drafts == []
        assert diff.lines_reviewed == 2

    def test_dotted_and_undotted_icd_codes_are_the_same_code(self) -> None:
        assert diff_coding(dx("e11.9"), dx("E119")) == []

    def test_a_code_only_the_coder_reported_is_deleted_and_overcoded(self) -> None:
        assert kinds(diff_coding(dx("I10", "E78.5"), dx("I10"))) == [
            ("deleted", "E78.5", None, "over")
        ]

    def test_a_code_only_the_auditor_reported_is_added_and_undercoded(self) -> None:
        assert kinds(diff_coding(dx("I10"), dx("I10", "N18.3"))) == [
            ("added", None, "N18.3", "under")
        ]

    def test_same_category_different_code_is_one_changed_line(self) -> None:
        diff = compare_coding(dx("E11.9", "I10"), dx("E11.65", "I10"))
        assert kinds(diff.drafts) == [("changed", "E11.9", "E11.65", "unknown")]
        assert diff.lines_reviewed == 2

    def test_swapped_principal_diagnosis_is_sequencing_only(self) -> None:
        drafts = diff_coding(dx("I10", "J18.9"), dx("J18.9", "I10"))
        assert kinds(drafts) == [("sequencing", "I10", "J18.9", "unknown")]
        assert drafts[0].line == 0

    def test_poa_disagreement_is_a_poa_finding(self) -> None:
        coder = ChartCoding([DxCode("J18.9", "Y"), DxCode("L89.152", "Y")])
        auditor = ChartCoding([DxCode("J18.9", "Y"), DxCode("L89.152", "N")])
        assert kinds(diff_coding(coder, auditor)) == [("poa", "L89.152", "L89.152", "unknown")]

    @pytest.mark.parametrize(
        ("coder", "auditor", "direction"),
        [
            ("99215", "99214", "over"),
            ("99213", "99214", "under"),
            ("99204", "99214", "over"),  # new patient pays more at the same level
            ("99283", "99285", "under"),
        ],
    )
    def test_em_level_difference_has_a_direction(
        self, coder: str, auditor: str, direction: str
    ) -> None:
        drafts = diff_coding(px(PxCode(coder)), px(PxCode(auditor)))
        assert kinds(drafts) == [("em_level", coder, auditor, direction)]

    def test_em_codes_of_different_settings_are_not_paired(self) -> None:
        drafts = diff_coding(px(PxCode("99284")), px(PxCode("99214")))
        assert [d.kind for d in drafts] == ["deleted", "added"]

    @pytest.mark.parametrize(
        ("coder_mods", "auditor_mods", "direction"),
        [
            (["25"], [], "over"),  # unsupported 25 unbundles the E/M
            ([], ["59"], "under"),
            ([], ["26"], "over"),  # global billed where only the professional part applies
            (["LT"], ["RT"], "none"),
        ],
    )
    def test_modifier_difference_has_a_direction(
        self, coder_mods: list[str], auditor_mods: list[str], direction: str
    ) -> None:
        drafts = diff_coding(px(PxCode("20610", coder_mods)), px(PxCode("20610", auditor_mods)))
        assert kinds(drafts) == [("modifier", "20610", "20610", direction)]

    def test_units_difference_is_over_or_under(self) -> None:
        drafts = diff_coding(px(PxCode("96372", units=3)), px(PxCode("96372", units=2)))
        assert kinds(drafts) == [("units", "96372", "96372", "over")]

    def test_em_level_and_modifier_errors_on_one_line_share_the_line(self) -> None:
        drafts = diff_coding(px(PxCode("99215", ["25"])), px(PxCode("99214")))
        assert [d.kind for d in drafts] == ["em_level", "modifier"]
        assert {d.line for d in drafts} == {0}

    def test_procedure_in_the_same_code_range_is_changed(self) -> None:
        drafts = diff_coding(px(PxCode("11043")), px(PxCode("11042")))
        assert kinds(drafts) == [("changed", "11043", "11042", "unknown")]

    def test_px_lines_are_numbered_after_dx_lines(self) -> None:
        coder = ChartCoding([DxCode("I10")], [PxCode("93000")])
        diff = compare_coding(coder, ChartCoding([DxCode("I10")], []))
        assert [(d.kind, d.line) for d in diff.drafts] == [("deleted", 1)]
        assert diff.lines_reviewed == 2


class TestDefaultCategory:
    def test_a_different_principal_diagnosis_suggests_principal_selection(self) -> None:
        drafts = diff_coding(dx("J18.9", "I10"), dx("J15.1", "I10"))
        assert kinds(drafts) == [("changed", "J18.9", "J15.1", "unknown")]
        assert default_category(drafts[0]) == "principal_dx_selection"

    def test_a_changed_secondary_diagnosis_suggests_specificity(self) -> None:
        drafts = diff_coding(dx("I10", "E11.9"), dx("I10", "E11.65"))
        assert default_category(drafts[0]) == "specificity"

    def test_each_kind_maps_to_a_coaching_category(self) -> None:
        assert default_category(FindingDraft("added", "dx", None, "N18.3", "under", 2)) == (
            "missed_secondary_dx"
        )
        assert default_category(FindingDraft("modifier", "px", "1", "1", "over", 0)) == (
            "modifier_usage"
        )


class TestValidateFinding:
    def test_a_referenced_and_explained_finding_is_valid(self) -> None:
        assert validate_finding(make_finding()) == []
        assert open_finding(make_finding()).state == "open"

    def test_a_finding_without_reference_or_rationale_cannot_be_created(self) -> None:
        with pytest.raises(InvalidFinding) as err:
            open_finding(make_finding(reference=None, rationale="  "))
        assert err.value.errors == ["a guideline reference is required", "a rationale is required"]

    def test_the_reference_must_be_a_known_kind_with_a_citation(self) -> None:
        bad = GuidelineReference("blog_post", "")  # type: ignore[arg-type]
        errors = validate_finding(make_finding(reference=bad))
        assert errors[0].startswith("reference kind must be one of coding_clinic, cpt_assistant")
        assert "the reference needs a citation (section, issue or policy number)" in errors

    def test_naive_timestamps_are_refused(self) -> None:
        naive = make_finding(opened_at=datetime(2025, 3, 3, 9, 0))  # noqa: DTZ001
        assert validate_finding(naive) == ["opened_at must carry a time zone"]


class TestApplyEvent:
    def test_agreed_finding_becomes_final_and_counts(self) -> None:
        f = apply_event(make_finding(), event("agree", "coder", 2))
        f = apply_event(f, event("finalize", "auditor", 5))
        assert (f.state, f.outcome, f.resolved_at) == ("final", None, T0 + timedelta(hours=5))
        assert counts_as_error(f)
        assert time_to_resolution(f) == timedelta(hours=5)

    def test_disputed_then_withdrawn_finding_does_not_count(self) -> None:
        f = apply_event(make_finding(), event("dispute", "coder", 1, comment="See addendum."))
        f = apply_event(f, event("reconcile", "auditor", 3, comment="Agreed.", outcome="withdrawn"))
        assert f.state == "reconciled"
        assert not counts_as_error(f)  # not final yet, and withdrawn
        f = apply_event(f, event("finalize", "auditor", 4))
        assert f.state == "final"
        assert not counts_as_error(f)
        assert [e.action for e in f.events] == ["dispute", "reconcile", "finalize"]

    def test_a_revision_can_correct_category_and_severity(self) -> None:
        f = apply_event(make_finding(), event("dispute", "coder", 1, comment="Specificity only."))
        f = apply_event(
            f,
            event("reconcile", "auditor", 2, comment="Ok.", outcome="revised", severity="low"),
        )
        assert (f.outcome, f.category, f.severity) == ("revised", "unsupported_code", "low")

    def test_a_revision_that_changes_nothing_is_refused(self) -> None:
        f = apply_event(make_finding(), event("dispute", "coder", 1, comment="No."))
        with pytest.raises(FindingTransitionError, match="must change the category or severity"):
            apply_event(f, event("reconcile", "auditor", 2, comment="x", outcome="revised"))

    def test_a_dispute_needs_a_comment(self) -> None:
        with pytest.raises(FindingTransitionError, match="a comment is required to dispute"):
            apply_event(make_finding(), event("dispute", "coder", 1))

    def test_reconcile_needs_an_outcome(self) -> None:
        f = apply_event(make_finding(), event("dispute", "coder", 1, comment="No."))
        with pytest.raises(FindingTransitionError, match="needs an outcome"):
            apply_event(f, event("reconcile", "auditor", 2, comment="x"))

    def test_only_the_charts_coder_may_respond(self) -> None:
        other = FindingEvent("agree", "coder-9", "coder", T0 + timedelta(hours=1))
        with pytest.raises(FindingTransitionError, match="only the coder who coded the chart"):
            apply_event(make_finding(), other)

    def test_an_auditor_cannot_agree_on_the_coders_behalf(self) -> None:
        with pytest.raises(FindingTransitionError, match="only coder may agree"):
            apply_event(make_finding(), event("agree", "auditor", 1))

    def test_an_open_finding_cannot_be_finalized_before_the_rebuttal(self) -> None:
        with pytest.raises(FindingTransitionError) as err:
            apply_event(make_finding(), event("finalize", "auditor", 1))
        assert str(err.value) == (
            "cannot finalize a finding in state 'open'; allowed: agree, dispute, lapse"
        )

    def test_an_unanswered_finding_lapses_to_final(self) -> None:
        f = apply_event(make_finding(), event("lapse", "system", 24 * 7))
        assert f.state == "final"
        assert counts_as_error(f)

    def test_a_final_finding_accepts_nothing(self) -> None:
        f = apply_event(make_finding(), event("lapse", "system", 1))
        assert allowed_actions(f.state) == []
        with pytest.raises(FindingTransitionError, match=r"none \(the finding is final\)"):
            apply_event(f, event("agree", "coder", 2))

    def test_events_cannot_go_back_in_time(self) -> None:
        f = apply_event(make_finding(), event("agree", "coder", 5))
        with pytest.raises(FindingTransitionError, match="not before the last"):
            apply_event(f, event("finalize", "auditor", 4))
