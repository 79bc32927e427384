from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from models.queries.rules import (
    QUERY_RULES,
    ClinicalIndicator,
    LintIssue,
    QueryDraft,
    QueryTemplate,
    QueryTimers,
    YesNoPurpose,
    lint_query,
    lint_template,
    next_query_timer,
)

LACTATE = ClinicalIndicator("doc-labs", "Lactate 4.1 mmol/L at 02:10")
VITALS = ClinicalIndicator("doc-ed", "T 39.2 C, HR 124, BP 84/50; blood cultures drawn")
DOCS = {"doc-labs", "doc-ed", "doc-hp"}
MC_OPTIONS = [
    "Sepsis",
    "Bacteremia without sepsis",
    "SIRS of non-infectious origin",
    "Other (please specify)",
    "Clinically undetermined",
]


OPEN_ENDED = QueryDraft(
    "Lactate and vital signs are noted below. Based on your clinical judgment, please clarify "
    "the condition being monitored and treated.",
    "open_ended",
    [LACTATE, VITALS],
)
MULTIPLE_CHOICE = QueryDraft(
    "Based on the indicators below, please clarify the diagnosis being treated.",
    "multiple_choice",
    [LACTATE, VITALS],
    MC_OPTIONS,
)
YES_NO = QueryDraft(
    "Was the stage 3 sacral pressure ulcer present on admission?",
    "yes_no",
    [ClinicalIndicator("doc-hp", "Skin: stage 3 sacral pressure ulcer noted on HD 2")],
    yes_no_purpose="present_on_admission",
    proposed_diagnosis="Pressure ulcer of sacrum, stage 3",
)


def open_ended(question: str) -> QueryDraft:
    return replace(OPEN_ENDED, question=question)


def multiple_choice(options: list[str]) -> QueryDraft:
    return replace(MULTIPLE_CHOICE, options=options)


def rules(issues: list[LintIssue]) -> list[str]:
    return [i.rule for i in issues]


def lint(draft: QueryDraft) -> list[LintIssue]:
    return lint_query(
        draft, documented_conditions=["pressure ulcer of sacrum, stage 3"], document_ids=DOCS
    )


class TestCompliantQueries:
    def test_open_ended_passes(self) -> None:
        assert lint(OPEN_ENDED) == []

    def test_multiple_choice_passes(self) -> None:
        assert lint(MULTIPLE_CHOICE) == []

    @pytest.mark.parametrize("purpose", get_args(YesNoPurpose))
    def test_yes_no_about_a_documented_condition_passes(self, purpose: YesNoPurpose) -> None:
        assert lint(replace(YES_NO, yes_no_purpose=purpose)) == []

    def test_yes_no_may_ask_to_confirm(self) -> None:
        draft = replace(YES_NO, question="Can you confirm the sacral ulcer is stage 3?")
        assert lint(replace(draft, yes_no_purpose="confirm_documented")) == []

    def test_documented_condition_match_ignores_case_and_spacing(self) -> None:
        draft = replace(YES_NO, proposed_diagnosis="  Pressure  ulcer of SACRUM, stage 3 ")
        assert lint(draft) == []

    def test_without_document_ids_unknown_documents_are_not_checked(self) -> None:
        draft = QueryDraft(
            "Please clarify the type of anemia.", "open_ended", [ClinicalIndicator("x", "Hgb 7.1")]
        )
        assert lint_query(draft) == []


class TestEachRuleHasAFailingCase:
    @pytest.mark.parametrize(
        ("draft", "rule"),
        [
            (open_ended("   "), "question.empty"),
            (
                QueryDraft("Please clarify the type of anemia.", "open_ended", []),
                "indicators.required",
            ),
            (
                QueryDraft(
                    "Please clarify the anemia.",
                    "open_ended",
                    [ClinicalIndicator("doc-other", "Hgb 7")],
                ),
                "indicators.unknown_document",
            ),
            (
                QueryDraft(
                    "Please clarify the anemia.", "open_ended", [ClinicalIndicator("doc-labs", " ")]
                ),
                "indicators.excerpt_required",
            ),
            (replace(OPEN_ENDED, options=["Sepsis"]), "options.not_allowed"),
            (multiple_choice([*MC_OPTIONS, "  "]), "options.blank"),
            (multiple_choice([*MC_OPTIONS, "sepsis"]), "options.duplicate"),
            (
                multiple_choice(["Sepsis", "Other", "Clinically undetermined"]),
                "multiple_choice.too_few_options",
            ),
            (
                multiple_choice([*MC_OPTIONS[:3], "Clinically undetermined"]),
                "multiple_choice.missing_other",
            ),
            (multiple_choice(MC_OPTIONS[:4]), "multiple_choice.missing_undetermined"),
            (replace(YES_NO, yes_no_purpose=None), "yes_no.purpose_required"),
            (replace(YES_NO, proposed_diagnosis=None), "yes_no.condition_required"),
            (
                replace(YES_NO, proposed_diagnosis="Acute respiratory failure"),
                "yes_no.new_diagnosis",
            ),
            (open_ended("Please clarify the condition; it changes the DRG."), "language.financial"),
            (open_ended("Do you agree that the patient has sepsis?"), "language.leading"),
        ],
    )
    def test_rule_is_reported_once_with_its_own_message(self, draft: QueryDraft, rule: str) -> None:
        issues = lint(draft)
        assert rules(issues) == [rule]
        assert issues[0].message.startswith(QUERY_RULES[rule].split("{")[0])

    def test_every_rule_message_is_distinct(self) -> None:
        assert len(set(QUERY_RULES.values())) == len(QUERY_RULES)

    def test_all_broken_rules_are_listed_together(self) -> None:
        draft = QueryDraft("Do you agree the MCC applies?", "multiple_choice", [], ["Sepsis"])
        assert set(rules(lint(draft))) == {
            "indicators.required",
            "multiple_choice.too_few_options",
            "multiple_choice.missing_other",
            "multiple_choice.missing_undetermined",
            "language.financial",
            "language.leading",
        }

    def test_issue_points_at_the_offending_field(self) -> None:
        draft = multiple_choice([*MC_OPTIONS[:2], "Sepsis (MCC)", *MC_OPTIONS[3:]])
        assert [(i.rule, i.field) for i in lint(draft)] == [("language.financial", "options[2]")]


class TestFinancialLanguage:
    @pytest.mark.parametrize(
        "text",
        [
            "Clarifying this adds a CC.",
            "Is this an MCC?",
            "CC/MCC capture matters here.",
            "A complication or comorbidity may apply.",
            "This is worth $1,200.",
            "Worth 500 USD",
            "Several thousand dollars are at stake.",
            "It affects reimbursement.",
            "Expected payment differs.",
            "The MS-DRG would shift.",
            "Consider APR-DRG assignment.",
            "drg shift",
            "The RVUs are low.",
            "This maps to HCC 85.",
            "It raises the risk score.",
            "Our quality score suffers.",
            "It affects the star rating.",
            "The case mix index drops.",
            "It changes the SOI/ROM.",
            "SOI would be 3.",
        ],
    )
    def test_financial_terms_are_refused(self, text: str) -> None:
        issues = lint(open_ended(f"{text} Please clarify the condition being treated."))
        assert rules(issues) == ["language.financial"]

    @pytest.mark.parametrize(
        "text",
        [
            "Documentation should be accurate and complete.",
            "Accucheck values were high; 500 cc of fluid was given.",
            "Patient is in the CCU.",
            "Imaging suggests HCC in the right lobe.",
            "Shoulder ROM is limited.",
            "The patient paid attention to the instructions.",
        ],
    )
    def test_clinical_text_is_not_mistaken_for_financial(self, text: str) -> None:
        assert lint(open_ended(f"{text} Please clarify the condition being treated.")) == []

    def test_record_excerpts_are_not_language_linted(self) -> None:
        excerpt = ClinicalIndicator("doc-ed", "CC: chest pain. 20 cc/kg bolus.")
        draft = QueryDraft("Please clarify the cause of the chest pain.", "open_ended", [excerpt])
        assert lint(draft) == []

    def test_message_names_the_terms_found(self) -> None:
        (issue,) = lint(open_ended("The DRG pays $400 more; please clarify."))
        assert "DRG" in issue.message
        assert "dollar amount" in issue.message


class TestLeadingWording:
    @pytest.mark.parametrize(
        "question",
        [
            "Do you agree that the patient has acute kidney injury?",
            "The creatinine doubled; wouldn't you say this is AKI?",
            "Isn't it likely that this is sepsis?",
            "The patient has malnutrition, correct?",
            "Please document acute blood loss anemia.",
            "Please add sepsis to the discharge summary.",
        ],
    )
    def test_leading_questions_are_refused(self, question: str) -> None:
        assert rules(lint(open_ended(question))) == ["language.leading"]

    def test_confirm_in_open_ended_leads(self) -> None:
        draft = open_ended("Can you confirm the patient has sepsis?")
        assert rules(lint(draft)) == ["language.leading"]

    def test_confirm_in_multiple_choice_leads(self) -> None:
        draft = replace(MULTIPLE_CHOICE, question="Could you confirm the patient has sepsis?")
        assert rules(lint(draft)) == ["language.leading"]

    def test_open_ended_naming_an_undocumented_diagnosis_leads(self) -> None:
        draft = replace(
            OPEN_ENDED,
            question="Please clarify whether sepsis is present.",
            proposed_diagnosis="Sepsis",
        )
        (issue,) = lint(draft)
        assert issue.rule == "language.leading"
        assert "Sepsis" in issue.message

    @pytest.mark.parametrize(
        "question",
        [
            "Please document your clinical judgment regarding the lactate.",
            "Please document the type of heart failure being treated.",
            "Please clarify whether the anemia is acute, chronic or other.",
        ],
    )
    def test_neutral_requests_pass(self, question: str) -> None:
        assert lint(open_ended(question)) == []


class TestOptionRecognition:
    @pytest.mark.parametrize(
        "other", ["Other", "other (please specify)", "OTHER: ____", "Something else"]
    )
    @pytest.mark.parametrize(
        "undetermined",
        [
            "Clinically undetermined",
            "Unable to determine",
            "undetermined",
            "Cannot be clinically determined",
        ],
    )
    def test_variants_are_recognized(self, other: str, undetermined: str) -> None:
        assert lint(multiple_choice([*MC_OPTIONS[:3], other, undetermined])) == []

    def test_other_must_start_the_option(self) -> None:
        draft = multiple_choice([*MC_OPTIONS[:3], "No other findings", "Clinically undetermined"])
        assert "multiple_choice.missing_other" in rules(lint(draft))


class TestLintTemplate:
    def test_compliant_template_passes(self) -> None:
        template = QueryTemplate(
            "sepsis-mc",
            "Based on {{indicators}}, please clarify the diagnosis being treated.",
            "multiple_choice",
            MC_OPTIONS,
        )
        assert lint_template(template) == []

    def test_yes_no_template_defers_condition_checks(self) -> None:
        template = QueryTemplate(
            "poa",
            "Was {{condition}} present on admission?",
            "yes_no",
            yes_no_purpose="present_on_admission",
        )
        assert lint_template(template) == []

    def test_placeholder_does_not_hide_leading_wording(self) -> None:
        template = QueryTemplate("bad", "Please document {{condition}}.")
        assert rules(lint_template(template)) == ["language.leading"]

    def test_template_is_linted_like_a_query(self) -> None:
        template = QueryTemplate("bad", "Is {{condition}} a CC?", "multiple_choice", ["Yes"])
        assert set(rules(lint_template(template))) == {
            "language.financial",
            "multiple_choice.too_few_options",
            "multiple_choice.missing_other",
            "multiple_choice.missing_undetermined",
        }

    def test_unknown_placeholder_is_refused(self) -> None:
        (issue,) = lint_template(QueryTemplate("bad", "Please clarify {{lab_value}}."))
        assert issue.rule == "template.unknown_placeholder"
        assert "{{lab_value}}" in issue.message


OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class TestNextQueryTimer:
    def test_defaults_match_the_tenant_defaults(self) -> None:
        timers = QueryTimers()
        assert (timers.reminder_after, timers.escalate_after, timers.expire_after) == (
            timedelta(hours=24),
            timedelta(hours=48),
            timedelta(days=7),
        )

    def test_from_hours_builds_the_same_timers(self) -> None:
        assert QueryTimers.from_hours(24, 48, 168) == QueryTimers()

    def test_events_follow_in_order(self) -> None:
        timers, fired, now, seen = QueryTimers(), set[str](), OPENED, []
        while (event := next_query_timer(OPENED, now, timers, fired)) is not None:
            name, when = event
            seen.append((name, when - OPENED))
            fired.add(name)
            now = max(now, when)
        assert seen == [
            ("reminder", timedelta(hours=24)),
            ("escalation", timedelta(hours=48)),
            ("expiry", timedelta(days=7)),
        ]

    def test_late_wakeup_skips_to_the_latest_overdue_event(self) -> None:
        now = OPENED + timedelta(hours=50)
        assert next_query_timer(OPENED, now, QueryTimers(), set()) == (
            "escalation",
            OPENED + timedelta(hours=48),
        )
        assert next_query_timer(OPENED, now, QueryTimers(), {"escalation"}) == (
            "expiry",
            OPENED + timedelta(days=7),
        )

    def test_nothing_after_expiry(self) -> None:
        assert next_query_timer(OPENED, OPENED, QueryTimers(), {"expiry"}) is None

    def test_tenant_settings_are_used(self) -> None:
        timers = QueryTimers(timedelta(hours=4), timedelta(hours=8), timedelta(days=2))
        assert next_query_timer(OPENED, OPENED, timers, {"reminder"}) == (
            "escalation",
            OPENED + timedelta(hours=8),
        )

    @pytest.mark.parametrize("hours", [(0, 1, 2), (5, 4, 10), (1, 10, 9)])
    def test_timers_must_be_positive_and_ordered(self, hours: tuple[int, int, int]) -> None:
        with pytest.raises(ValueError, match="reminder <= escalation <= expiry"):
            QueryTimers(*(timedelta(hours=h) for h in hours))
