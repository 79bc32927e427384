"""The lexical suggestion engine on hand-written notes: specificity, context, spans, validity."""

from datetime import date

import pytest

from integrations.cac.engine import LexicalEngine, default_engine
from integrations.codesets import Icd10cm
from models.suggestions import NoteDocument, Suggestion

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
