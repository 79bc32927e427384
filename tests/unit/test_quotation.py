"""Verified quotations: whitespace is the only thing an excerpt may change."""

from models.coding.quotation import (
    Span,
    highlight,
    in_context,
    locate,
    quoted_at,
    spans_by_document,
    verify_quote,
)

NOTE = "Chief complaint: follow-up.\nAssessment: type 2 diabetes\n   mellitus with hyperglycemia; follow-up in 3 months."


class TestLocate:
    def test_a_reflowed_selection_is_found_at_its_original_offsets(self) -> None:
        span = locate("type 2 diabetes mellitus with\thyperglycemia", NOTE)
        assert span is not None
        assert NOTE[span.start : span.end] == "type 2 diabetes\n   mellitus with hyperglycemia"

    def test_case_punctuation_and_paraphrase_are_not_quotes(self) -> None:
        for excerpt in ("Type 2 Diabetes", "follow up", "patient has a broken leg", "   "):
            assert locate(excerpt, NOTE) is None, excerpt

    def test_a_repeated_phrase_resolves_to_the_selection_nearest_the_hint(self) -> None:
        first, second = NOTE.index("follow-up"), NOTE.rindex("follow-up")
        assert locate("follow-up", NOTE) == Span(first, first + 9)
        assert locate("follow-up", NOTE, near=second - 2) == Span(second, second + 9)

    def test_quoted_at_checks_the_stored_offsets_still_hold_the_quote(self) -> None:
        span = locate("Assessment:", NOTE)
        assert span is not None
        assert quoted_at("Assessment:", NOTE, span)
        assert not quoted_at("Assessment:", NOTE.replace("Assessment", "Impression"), span)
        assert not quoted_at("Assessment:", NOTE, Span(len(NOTE) - 2, len(NOTE) + 5))


class TestVerifyQuote:
    def test_a_misquote_is_refused_naming_the_code_and_the_excerpt(self) -> None:
        span, issue = verify_quote("d1", "patient has a broken leg", {"d1": NOTE}, path="diagnoses[0].evidence[0]", code="E11.65")
        assert span is None
        assert issue is not None
        assert (issue.path, issue.code, issue.rule) == ("diagnoses[0].evidence[0].excerpt", "E11.65", "evidence.excerpt_not_in_document")
        assert "E11.65" in issue.message
        assert '"patient has a broken leg"' in issue.message

    def test_a_document_without_text_cannot_be_quoted_and_unknown_ones_are_left_to_the_coding_rules(self) -> None:
        _, issue = verify_quote("d1", "x", {"d1": None}, path="p", code="I10")
        assert issue is not None
        assert issue.rule == "evidence.document_has_no_text"
        assert verify_quote("d9", "x", {"d1": NOTE}, path="p", code="I10") == (None, None)


class TestShowing:
    def test_context_and_highlight_cut_the_note_around_cited_spans(self) -> None:
        a, b = locate("follow-up", NOTE), locate("type 2 diabetes", NOTE)
        assert a
        assert b
        ctx = in_context(NOTE, b, chars=12)
        assert ctx == {"before": NOTE[b.start - 12 : b.start], "quote": "type 2 diabetes", "after": NOTE[b.end : b.end + 12]}
        parts = highlight(NOTE, [b, a, Span(b.start + 2, b.end + 3), Span(5, 999)])
        assert "".join(p for p, _ in parts) == NOTE
        assert [p for p, marked in parts if marked] == ["follow-up", NOTE[b.start : b.end + 3]]

    def test_spans_are_read_from_stored_codes_and_legacy_evidence_without_offsets_is_skipped(self) -> None:
        codes = {
            "diagnoses": [{"code": "E11.65", "evidence": [{"document_id": "d1", "start": 1, "end": 4}, {"document_id": "d1"}]}],
            "procedures": [{"code": "99214", "evidence": [{"document_id": "d2", "start": 0, "end": 2}]}],
        }
        assert spans_by_document(codes) == {"d1": [Span(1, 4)], "d2": [Span(0, 2)]}
        assert spans_by_document(None) == {}
