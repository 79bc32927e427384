"""The engine's audit figures from plain facts: acceptance, audit changes, misses."""

from models.coding.suggestion_quality import AuditedFinding, ChartSuggestions, suggestion_quality


def _chart(coder: str, vendor: str, suggested: dict[str, str], coded: list[tuple[str, str]], *findings: AuditedFinding) -> ChartSuggestions:
    return ChartSuggestions(f"enc-{coder}-{len(suggested)}", coder, vendor, suggested, coded, list(findings))


class TestSuggestionQuality:
    def test_acceptance_per_coder_and_vendor(self) -> None:
        charts = [
            _chart("ann", "v1", {"E11.65": "accepted", "I10": "rejected", "R52": "open"}, [("E11.65", "s1")]),
            _chart("bob", "v1", {"J18.9": "accepted"}, [("J18.9", "s2")]),
            _chart("cy", "v2", {}, [("I10", "")]),
        ]
        got = suggestion_quality(charts)
        assert got["charts"] == 3
        assert got["charts_with_suggestions"] == 2
        assert got["by_coder"]["ann"] == {"shown": 3, "accepted": 1, "rejected": 1, "undecided": 1, "acceptance_rate": 0.3333}
        assert got["by_vendor"]["v1"]["acceptance_rate"] == 0.5
        assert "v2" not in got["by_vendor"]

    def test_only_counting_findings_on_accepted_codes_are_audit_changes(self) -> None:
        chart = _chart(
            "ann", "v1", {"E11.65": "accepted", "I10": "rejected"}, [("E11.65", "s1"), ("I10", "")],
            AuditedFinding("E11.65", "E11.9", "changed", counts=True),
            AuditedFinding("I10", None, "deleted", counts=True),  # not accepted from a suggestion
            AuditedFinding("E11.65", "E11.9", "changed", counts=False),  # withdrawn or not final
        )  # fmt: skip
        changed = suggestion_quality([chart])["accepted_changed_by_audit"]
        assert (changed["accepted"], changed["changed"], changed["rate"]) == (1, 1, 1.0)

    def test_hand_entered_codes_the_engine_never_proposed_are_misses(self) -> None:
        chart = _chart("ann", "v1", {"E11.65": "rejected"}, [("E11.9", ""), ("E11.65", ""), ("Z79.84", "")])
        missed = suggestion_quality([chart])["missed_by_engine"]
        assert missed["codes_added_by_coders"] == 2
        assert {m["code"] for m in missed["top"]} == {"E11.9", "Z79.84"}
