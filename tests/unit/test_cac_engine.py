"""The lexical suggestion engine on hand-written notes: specificity, context, spans, validity."""

from datetime import date

import pytest

from integrations.cac.engine import LexicalEngine, default_engine
from integrations.codesets import Icd10cm
from models.coding.suggestions import NoteDocument, Suggestion

NOTE = (
    "Assessment: type 2 diabetes mellitus with hyperglycemia.\n"
    "Essential hypertension, stable.\n"
    "The patient denies chest pain.\n"
    "Mother had breast cancer.\n"
    "If he develops a fever, call the office.\n"
    "History of asthma as a child.\n"
)


@pytest.fixture(scope="module")
def engine() -> LexicalEngine:
    return default_engine()


def _suggest(engine: LexicalEngine, text: str, **kwargs: object) -> dict[str, Suggestion]:
    return {s.code: s for s in engine.suggest([NoteDocument("doc-1", text)], **kwargs)}  # type: ignore[arg-type]


class TestLexicalEngine:
    def test_the_most_specific_billable_code_wins(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, NOTE)
        assert "E11.65" in found
        assert "E11.9" not in found  # the shorter match inside the same words is dropped
        assert found["E11.65"].reason == "description"
        assert "I10" in found

    def test_negated_family_hypothetical_and_historical_mentions_are_not_suggested(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, NOTE)
        assert not {"R07.9", "C50.919", "C50.911", "R50.9", "J45.909"} & found.keys(), sorted(found)

    def test_the_same_words_in_the_patients_present_are_suggested(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "Chest pain since this morning. Fever of 39 C. Asthma exacerbation.")
        assert {"R07.9", "R50.9"} <= found.keys(), sorted(found)

    def test_spans_point_at_the_supporting_words(self, engine: LexicalEngine) -> None:
        for suggestion in engine.suggest([NoteDocument("doc-1", NOTE)]):
            assert suggestion.spans
            for span in suggestion.spans:
                assert span.document_id == "doc-1"
                assert NOTE[span.start : span.end] == span.excerpt
        e1165 = _suggest(engine, NOTE)["E11.65"].spans[0].excerpt.lower()
        assert "diabetes mellitus with hyperglycemia" in e1165

    def test_every_suggestion_is_billable_and_names_the_engine_version(self, engine: LexicalEngine) -> None:
        icd = Icd10cm()
        for suggestion in engine.suggest([NoteDocument("doc-1", NOTE + "Pneumonia. Low back pain.")]):
            assert icd.status(suggestion.code, date(2026, 1, 15)) == "billable", suggestion.code
            assert suggestion.engine_version == engine.version
            assert 0 < suggestion.confidence < 1

    def test_a_category_mention_becomes_its_unspecified_billable_code(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "Low back pain for three weeks.")
        assert "M54.50" in found
        assert "M54.5" not in found

    def test_no_release_in_force_on_the_date_of_service_means_no_suggestions(self, engine: LexicalEngine) -> None:
        assert _suggest(engine, NOTE, date_of_service=date(2026, 1, 15))
        assert not _suggest(engine, NOTE, date_of_service=date(2019, 5, 1))

    def test_best_first(self, engine: LexicalEngine) -> None:
        ranked = engine.suggest([NoteDocument("doc-1", NOTE)])
        assert [s.confidence for s in ranked] == sorted((s.confidence for s in ranked), reverse=True)


class TestWording:
    """Rules 2: morphology, abbreviations, clause-bounded context, weaker readings ranked last."""

    def test_inflections_abbreviations_and_tumour_morphology_meet_the_tabular_words(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "He smoked 20 cigarettes a day.\nChronic HCV infection.\nLeiomyosarcoma of the bladder.")
        assert "F17.210" in found  # "smoked" meets "smoking"
        assert "B18.2" in found or "B19.20" in found, sorted(found)  # HCV = hepatitis C
        assert "C67.9" in found, sorted(found)  # a -sarcoma is a malignant neoplasm

    def test_a_new_clause_ends_a_negation_or_history_scope(self, engine: LexicalEngine) -> None:
        text = "A 67-year-old man with no history of peptic ulcer presented to the emergency department with melena."
        found = _suggest(engine, text)
        assert "K92.1" in found, sorted(found)
        assert not {"K27.9"} & found.keys()  # the negated ulcer stays out
        assert "R50.9" not in _suggest(engine, "If he develops a fever, call the office.")

    def test_a_manifestation_code_never_wins_a_tie(self, engine: LexicalEngine) -> None:
        ranked = [s.code for s in engine.suggest([NoteDocument("doc-1", "Liver disease.")])]
        assert ranked[0].startswith("K76"), ranked  # "… in diseases classified elsewhere" (K77) at most after it

    def test_weaker_readings_rank_below_the_specific_code(self, engine: LexicalEngine) -> None:
        ranked = [s.code for s in engine.suggest([NoteDocument("doc-1", "Type 2 diabetes mellitus with hyperglycemia.")])]
        assert ranked[0] == "E11.65"
        assert "E11.9" not in ranked
        assert engine.version.startswith("lexical-3+")


class TestStatusCodes:
    """Rules 3: a past or a relative's condition is its history code, never the condition itself."""

    def test_a_history_of_cancer_is_the_personal_history_code(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "History of breast cancer.")
        assert "Z85.3" in found, sorted(found)
        assert found["Z85.3"].reason == "personal_history"
        assert "history" in found["Z85.3"].description.lower()
        assert not any(code.startswith("C50") for code in found), sorted(found)

    def test_a_relatives_condition_is_the_family_history_code(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "His mother had diabetes.")
        assert "Z83.3" in found, sorted(found)
        assert found["Z83.3"].reason == "family_history"
        assert not any(code.startswith("E11") for code in found), sorted(found)
        assert "Z80.3" in _suggest(engine, NOTE)  # "Mother had breast cancer."

    def test_a_negated_or_hypothetical_mention_gives_no_code_at_all(self, engine: LexicalEngine) -> None:
        assert _suggest(engine, "The patient denies chest pain.") == {}
        assert _suggest(engine, "If he develops a fever, call the office.") == {}

    def test_the_history_code_ranks_below_current_conditions(self, engine: LexicalEngine) -> None:
        ranked = [s.code for s in engine.suggest([NoteDocument("doc-1", "History of breast cancer. Acute appendicitis.")])]
        assert ranked.index("K35.80") < ranked.index("Z85.3"), ranked

    def test_a_past_abuse_or_dependence_is_in_remission(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "A 45-year-old man with a history of alcohol dependence.")
        assert "F10.21" in found, sorted(found)
        assert "F10.20" not in found

    def test_the_duration_of_the_present_complaint_is_not_a_history(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "A 6-year-old boy presented with a 12-hour history of abdominal pain.")
        assert "R10.9" in found, sorted(found)
        assert not any(code.startswith("Z87") for code in found)

    def test_a_condition_under_treatment_is_current(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "A 70-year-old woman with a history of peptic ulcer under treatment.")
        assert any(code.startswith("K27") for code in found), sorted(found)
        past = _suggest(engine, "A 70-year-old woman with a history of peptic ulcer.")
        assert not any(code.startswith("K27") for code in past), sorted(past)
        assert "Z87.11" in past

    def test_a_history_of_a_lifelong_condition_is_the_condition(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "A 67-year-old man with a history of hypertension.")
        assert "I10" in found, sorted(found)
        assert "Z86.79" not in found

    def test_no_history_of_interest_closes_on_itself(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "A 33-year-old man with no history of interest, diagnosed with Crohn's disease.")
        assert any(code.startswith("K50") for code in found), sorted(found)


class TestDrugTherapy:
    def test_a_medicine_the_patient_is_on_is_long_term_drug_therapy(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "He was on treatment with insulin and metformin.")
        assert {"Z79.4", "Z79.84"} <= found.keys(), sorted(found)
        assert found["Z79.4"].reason == "drug_therapy"
        assert found["Z79.4"].spans[0].excerpt.lower() == "insulin"

    def test_a_drug_named_without_saying_the_patient_takes_it_is_not(self, engine: LexicalEngine) -> None:
        assert "Z79.4" not in _suggest(engine, "Insulin levels were measured.")
        assert "Z79.01" not in _suggest(engine, "He was not on treatment with warfarin.")


class TestIllness:
    def test_an_unnamed_disease_is_illness_unspecified_and_a_named_one_is_not(self, engine: LexicalEngine) -> None:
        assert "R69" in _suggest(engine, "Two years later the disease progressed.")
        found = _suggest(engine, "Crohn's disease of the ileum.")
        assert "R69" not in found, sorted(found)
        assert "R69" not in _suggest(engine, "He remains disease-free.")


class TestSpelling:
    def test_british_spellings_and_examination_adjectives(self, engine: LexicalEngine) -> None:
        assert any(code.startswith("D64") for code in _suggest(engine, "Severe anaemia."))
        found = _suggest(engine, "The abdomen is soft and depressible.")
        assert not any(code.startswith("F32") for code in found), sorted(found)
        assert "R54" not in _suggest(engine, "A 75-year-old man with haematuria.")


class TestNeoplasmSite:
    def test_an_unknown_primary_is_not_proposed_beside_a_named_site(self, engine: LexicalEngine) -> None:
        found = _suggest(engine, "Seminoma of the right testis. The carcinoma was resected.")
        assert any(code.startswith("C62") for code in found), sorted(found)
        assert "C80.1" not in found
        assert "C80.1" in _suggest(engine, "The carcinoma was resected.")

    def test_a_site_named_in_another_sentence_gives_the_primary_code(self, engine: LexicalEngine) -> None:
        text = "Urography showed a renal mass. Microscopically, the tumor is a high grade urothelial carcinoma."
        found = _suggest(engine, text)
        assert "C64.9" in found, sorted(found)
        assert "C80.1" not in found
        assert {span.excerpt for span in found["C64.9"].spans} == {"carcinoma", "renal mass"}
