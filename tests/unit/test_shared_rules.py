"""Rules that the API, the pages and the workflows share: each answers the same in every caller."""

from datetime import date
from typing import get_args

from models.claims.appeals import appeal_refusal
from models.encounters.holds import HOLD_REASONS, HoldReason
from models.queries.rules import (
    YES_NO_OPTIONS,
    ClinicalIndicator,
    QueryDraft,
    excerpt_issues,
    offered_options,
    review_draft,
)

NOTE = "Patient reports fatigue. Hemoglobin 7.9 g/dL on admission. Transfused two units."


def test_an_appealable_denial_within_its_deadline_may_be_appealed() -> None:
    assert appeal_refusal(appealable=True, appeal_open=False, deadline=date(2026, 6, 1), today=date(2026, 5, 1)) is None


def test_appeal_refusals_name_their_kind_in_order_of_precedence() -> None:
    not_appealable = appeal_refusal(appealable=False, appeal_open=True, not_appealable_reason="timely filing (CARC 29)")
    assert not_appealable is not None
    assert (not_appealable.kind, not_appealable.message) == ("not_appealable", "this denial is not appealable: timely filing (CARC 29)")
    already = appeal_refusal(appealable=True, appeal_open=True)
    assert already is not None
    assert already.kind == "already_open"
    late = appeal_refusal(appealable=True, appeal_open=False, deadline=date(2026, 4, 30), today=date(2026, 5, 1))
    assert late is not None
    assert late.kind == "deadline_passed"
    assert "2026-04-30" in late.message
    missing = appeal_refusal(appealable=True, appeal_open=False, deadline=None, today=date(2026, 5, 1))
    assert missing is not None
    assert missing.kind == "deadline_passed"


def test_without_a_clock_the_deadline_is_not_checked() -> None:
    """The workflow validator has no clock: only appealability and the open appeal count."""
    assert appeal_refusal(appealable=True, appeal_open=False, deadline=date(2000, 1, 1)) is None


def test_an_excerpt_must_be_quoted_from_its_document() -> None:
    documents = {"d1": NOTE}
    quoted = [ClinicalIndicator("d1", "Hemoglobin  7.9 g/dL")]  # whitespace may differ
    invented = [ClinicalIndicator("d1", "Hemoglobin 6.1 g/dL")]
    assert excerpt_issues(quoted, documents) == []
    assert [i.rule for i in excerpt_issues(invented, documents)] == ["indicators.excerpt_not_in_document"]
    assert [i.field for i in excerpt_issues([*quoted, *invented], documents)] == ["indicators[1].excerpt"]


def test_the_draft_review_adds_the_excerpt_check_to_the_compliance_rules() -> None:
    draft = QueryDraft(
        "Based on the indicators, can the anemia be further specified?",
        indicators=[ClinicalIndicator("d1", "Hemoglobin 6.1 g/dL")],
    )
    rules = [i.rule for i in review_draft(draft, {"d1": NOTE})]
    assert "indicators.excerpt_not_in_document" in rules


def test_offered_options_follow_the_form() -> None:
    assert offered_options("multiple_choice", ["Acute blood loss anemia", None]) == ["Acute blood loss anemia", None]
    assert offered_options("yes_no", ["ignored"]) == YES_NO_OPTIONS
    assert offered_options("open_ended", ["ignored"]) == []


def test_hold_reasons_are_the_reason_type_in_its_order() -> None:
    assert HOLD_REASONS[0] == "missing_documentation"
    assert HOLD_REASONS[-1] == "other"
    assert set(HOLD_REASONS) == set(get_args(HoldReason))
