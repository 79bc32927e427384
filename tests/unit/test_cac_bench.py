"""The CAC bench's scorer on hand-made rankings, and the whole command on five CodiEsp notes."""

from pathlib import Path

import pytest

from bench import cac

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cac"


class TestScorer:
    def test_perfect_and_empty_rankings(self) -> None:
        gold = {"n1": {"I10", "E11.9"}}
        perfect = cac.score({"n1": ["I10", "E11.9"]}, gold)
        assert (perfect.precision, perfect.recall, perfect.recall_at_10, perfect.map) == (1.0, 1.0, 1.0, 1.0)
        assert perfect.precision_at_5 == pytest.approx(2 / 5)
        empty = cac.score({"n1": []}, gold)
        assert (empty.recall, empty.map, empty.f1) == (0.0, 0.0, 0.0)

    def test_average_precision_rewards_ranking_hits_first(self) -> None:
        gold = {"n1": {"A01.0"}}
        assert cac.score({"n1": ["A01.0", "B02.0"]}, gold).map == 1.0
        assert cac.score({"n1": ["B02.0", "A01.0"]}, gold).map == 0.5

    def test_a_billable_child_of_a_retired_gold_code_counts(self) -> None:
        gold = {"n1": {"R51"}}
        aligned = cac.align({"n1": ["R51.9"]}, gold, billable=lambda code: code != "R51")
        assert aligned == {"n1": ["R51"]}
        still_billable = cac.align({"n1": ["R51.9"]}, gold, billable=lambda _: True)
        assert still_billable == {"n1": ["R51.9"]}

    def test_three_character_level_merges_codes_of_a_category(self) -> None:
        results = cac.score_both({"n1": ["E11.65", "E11.9"]}, {"n1": {"E11.9"}}, billable=lambda _: True)
        assert results["full code"].precision == 0.5
        assert results["3-character"].precision == 1.0

    def test_halves_alternate_notes_in_id_order(self) -> None:
        ranked = {n: [n] for n in ["n4", "n1", "n3", "n2", "n5"]}
        parts = cac.halves(ranked)
        assert list(parts["half A"]) == ["n1", "n3", "n5"]
        assert list(parts["half B"]) == ["n2", "n4"]
        assert parts["half A"]["n3"] == ["n3"]

    def test_gold_file_is_read_normalized(self) -> None:
        gold = cac.read_gold(FIXTURES / "devD.tsv")
        assert len(gold) == 5
        assert all(code == code.upper() for codes in gold.values() for code in codes)


class TestCommand:
    def test_runs_on_the_fixture_folder_and_writes_codiesp_predictions(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "pred.tsv"
        assert cac.main([str(FIXTURES), "--predictions", str(out), "--limit", "10", "--halves"]) == 0
        printed = capsys.readouterr().out
        assert "half A (3 notes)" in printed
        assert "half B (2 notes)" in printed
        assert "| full code |" in printed
        assert "| 3-character |" in printed
        assert "latency per note" in printed
        assert "CPU time per note" in printed
        rows = [line.split("\t") for line in out.read_text().splitlines()]
        assert rows
        assert {note for note, _ in rows} <= set(cac.read_gold(FIXTURES / "devD.tsv"))
        assert all(code == code.lower() for _, code in rows)

    def test_a_folder_without_notes_is_refused(self, tmp_path: Path) -> None:
        assert cac.main([str(tmp_path)]) == 2
