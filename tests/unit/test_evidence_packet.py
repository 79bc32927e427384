"""The evidence packet's judgement calls, without a database."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from models.evidence.packet import (
    NO_CLAIM_ACTIVITY,
    AppealEntry,
    ChainFact,
    ClaimEntry,
    ClaimHistory,
    DenialEntry,
    DocumentFact,
    EncounterFact,
    EventFact,
    HoldFact,
    IndicatorFact,
    QueryFact,
    ScrubEditEntry,
    build_packet,
)
from services.evidence import latin1, render_html, render_pdf

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(seq: int, action: str, actor: str, role: str = "coder", minutes: int = 0) -> EventFact:
    return EventFact(seq, at(minutes or seq * 10), action, actor, role, f"h{seq}", "v1" if role == "coder" else None)


NOTE = DocumentFact("d1", "DOC-1", 1, "a" * 64, at(0), "11506-3", "Progress note")
ADDENDUM = DocumentFact("d2", "DOC-1-ADD", 2, "b" * 64, at(500), "11506-3", "Addendum")
CODES = {
    "diagnoses": [{"code": "E11.65", "evidence": [{"document_id": "d1", "excerpt_sha256": "x1"}]}],
    "procedures": [{"code": "99214", "modifiers": ["25"], "units": 1, "pointers": [1], "evidence": [{"document_id": "gone", "excerpt_sha256": "x2"}]}],
}


def packet(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "encounter": EncounterFact("e1", "ENC-1", "coded", at(0)),
        "documents": [NOTE, ADDENDUM],
        "codes": CODES,
        "texts": {"x1": "HbA1c 9.1%, on metformin"},
        "queries": [],
        "holds": [],
        "events": [],
        "chain": ChainFact(True, 0, None),
        "now": at(1000),
        **overrides,
    }
    return build_packet(**args)


class TestActors:
    def test_first_coder_is_who_first_coded_with_the_claim_that_led_to_it(self) -> None:
        events = [
            ev(1, "docs_complete", "system", "system"),
            ev(2, "claim", "coder-a"),
            ev(3, "release", "coder-a"),
            ev(4, "claim", "coder-b"),
            ev(5, "submit_coding", "coder-b"),
            ev(6, "claim", "coder-c"),
            ev(7, "submit_coding", "coder-c"),
        ]
        actors = packet(events=events)["actors"]
        assert actors["first_coder"] == {"user": "coder-b", "vendor": "v1", "claimed_at": at(40).isoformat(), "coded_at": at(50).isoformat()}
        assert actors["last_saver"] == {"user": "coder-c", "vendor": "v1", "at": at(70).isoformat()}
        assert [c["user"] for c in actors["coders"]] == ["coder-a", "coder-b", "coder-c"]
        assert actors["submitter"] is None

    def test_nobody_has_coded_yet(self) -> None:
        actors = packet(events=[ev(1, "claim", "coder-a")])["actors"]
        assert actors["first_coder"] is None
        assert actors["last_saver"] is None

    def test_auditors_and_answering_physicians_are_listed_with_times(self) -> None:
        events = [ev(1, "submit_coding", "coder-a"), ev(2, "audit_review", "aud-1", "auditor"), ev(3, "audit_finding", "aud-1", "auditor")]
        answered = QueryFact("q1", "answered", "open_ended", "Clarify?", [], "coder-a", at(1), physician_npi="1234567893", answered_at=at(90), answered_by="dr-1")
        unanswered = QueryFact("q2", "open", "open_ended", "Clarify more?", [], "coder-a", at(2))
        actors = packet(events=events, queries=[answered, unanswered])["actors"]
        assert actors["auditors"] == [
            {"user": "aud-1", "first_at": at(20).isoformat(), "last_at": at(30).isoformat(), "actions": ["audit_review", "audit_finding"]}
        ]
        assert actors["physicians"] == [{"user": "dr-1", "npi": "1234567893", "query_id": "q1", "answered_at": at(90).isoformat()}]

    def test_submitter_comes_from_the_claim_history(self) -> None:
        history = ClaimHistory(claims=[ClaimEntry("c1", "CN1", "submitted", at(200), "ops-1")])
        assert packet(claims=history)["actors"]["submitter"] == {"user": "ops-1", "at": at(200).isoformat()}


class TestContent:
    def test_codes_carry_their_excerpts_and_the_document_they_quote(self) -> None:
        codes = packet()["codes"]
        support = codes["diagnoses"][0]["support"][0]
        assert support["excerpt"] == "HbA1c 9.1%, on metformin"
        assert (support["document_external_id"], support["document_version"]) == ("DOC-1", 1)
        proc = codes["procedures"][0]
        assert (proc["modifiers"], proc["pointers"], proc["position"]) == (["25"], [1], 1)
        assert proc["support"][0]["excerpt"] is None  # text missing: shown as missing, never invented
        assert proc["support"][0]["document_external_id"] is None

    def test_documents_say_whether_they_preceded_the_final_coding_and_carry_no_text(self) -> None:
        docs = packet(events=[ev(1, "submit_coding", "coder-a", minutes=100)])["documents"]
        assert [d["before_final_coding"] for d in docs] == [True, False]
        assert all("text" not in d for d in docs)
        assert docs[0]["sha256"] == "a" * 64
        assert packet()["documents"][0]["before_final_coding"] is None

    def test_hold_durations_run_to_release_or_to_now(self) -> None:
        holds = [
            HoldFact("h2", "awaiting_query_response", at(100), "coder-a", query_id="q1"),
            HoldFact("h1", "authorization_missing", at(10), "coder-a", at(70), "ops-1"),
        ]
        out = packet(holds=holds)["holds"]
        assert [(h["id"], h["open"], h["duration_seconds"]) for h in out] == [("h1", False, 3600), ("h2", True, 900 * 60)]

    def test_queries_keep_indicators_and_answers(self) -> None:
        q = QueryFact(
            "q1", "answered", "multiple_choice", "Which type?", [IndicatorFact("d1", "HbA1c 9.1%")], "coder-a", at(1),
            options=["Type 2", "Other", "Clinically undetermined"], answered_by="dr-1", answered_at=at(5), answer_option="Type 2",
        )
        (out,) = packet(queries=[q])["queries"]
        assert out["indicators"] == [{"document_id": "d1", "excerpt": "HbA1c 9.1%"}]
        assert out["answer_option"] == "Type 2"
        assert out["options"] == ["Type 2", "Other", "Clinically undetermined"]

    def test_chain_verdict_and_head_end_the_packet(self) -> None:
        p = packet(chain=ChainFact(False, 7, None, {"encounter_id": "e1", "seq": 3, "problem": "stored hash does not match"}))
        assert list(p)[-1] == "chain"
        assert p["chain"]["verified"] is False
        assert p["chain"]["first_break"]["seq"] == 3


class TestClaimHistory:
    def test_absent_or_empty_history_reads_no_claim_activity_yet(self) -> None:
        for history in (None, ClaimHistory()):
            section = packet(claims=history)["claim_history"]
            assert section["activity"] is False
            assert section["note"] == NO_CLAIM_ACTIVITY
            assert section["claims"] == section["denials"] == section["appeals"] == section["scrubs"] == []

    def test_history_is_rendered_as_json_ready_values(self) -> None:
        history = ClaimHistory(
            scrubs=[ScrubEditEntry(1, "ncci.ptp", "99214 with 11042 needs modifier 25", at(60), code="99214", resolution="modifier 25 added", resolved_by="coder-a")],
            claims=[ClaimEntry("c1", "CN1", "denied", at(200), "ops-1")],
            denials=[DenialEntry("dn1", "c1", "CO", "16", "documentation", date(2026, 12, 1), rarcs=["M127"])],
            appeals=[AppealEntry("ap1", "dn1", "redetermination", at(900), "ops-1", deadline=date(2027, 3, 31))],
        )
        section = packet(claims=history)["claim_history"]
        assert section["activity"] is True
        assert section["scrubs"][0]["resolution"] == "modifier 25 added"
        assert section["denials"][0]["notice_date"] == "2026-12-01"
        assert section["denials"][0]["rarcs"] == ["M127"]
        assert section["appeals"][0]["deadline"] == "2027-03-31"


class TestRendering:
    def full(self) -> dict[str, Any]:
        history = ClaimHistory(
            scrubs=[ScrubEditEntry(1, "mue.units", "units over the limit", at(60), code="99214")],
            claims=[ClaimEntry("c1", "CN1", "denied", at(200), "ops-1", acknowledgment="accepted")],
            denials=[DenialEntry("dn1", "c1", "CO", "50", "medical_necessity", date(2026, 12, 1))],
            appeals=[AppealEntry("ap1", "dn1", "redetermination", at(900), "ops-1", decision="overturned")],
        )
        holds = [HoldFact("h1", "authorization_missing", at(10), "coder-a", at(70), "ops-1")]
        events = [ev(1, "claim", "coder-a"), ev(2, "submit_coding", "coder-a"), ev(3, "audit_review", "aud-1", "auditor")]
        return packet(claims=history, holds=holds, events=events, chain=ChainFact(True, 3, "f" * 64), access_reason="QA — “sample”")

    def test_html_shows_every_claim_section_and_escapes_what_it_quotes(self) -> None:
        page = render_html(packet(texts={"x1": "<b>HbA1c</b> 9.1%"}))
        assert "&lt;b&gt;HbA1c&lt;/b&gt; 9.1%" in page
        full = render_html(self.full())
        for expected in ("units over the limit", "claim CN1", "CO-50", "overturned", "aud-1", "1 h 0 min", "f" * 64, "verify passes"):
            assert expected in full, expected

    def test_pdf_is_produced_from_the_same_packet(self) -> None:
        body = render_pdf(self.full())
        assert body.startswith(b"%PDF-")
        assert len(body) > 1500

    def test_latin1_keeps_what_it_can_and_replaces_the_rest(self) -> None:
        assert latin1("café — “ok” ✓ 患") == 'café - "ok" ? ?'
