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
        assert all(engine.version.startswith("lexical-2+") for _ in ranked)
