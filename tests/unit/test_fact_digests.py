"""Which attested rows a verify complains about: changed or removed ones, never new ones."""

from models.repositories.evidence_facts import digest, facts_problem


def test_new_rows_are_not_yet_attested_and_pass() -> None:
    recorded = {"claims": {"c1": "a"}, "texts": {"h1": "x"}}
    current = {"claims": {"c1": "a", "c2": "b"}, "texts": {"h1": "x"}, "payments": {"p1": "z"}}
    assert facts_problem(recorded, current) is None


def test_changed_and_removed_rows_are_counted_per_section() -> None:
    recorded = {"claims": {"c1": "a", "c2": "b"}, "holds": {"h1": "x"}, "encounter": {"row": "e"}}
    current = {"claims": {"c1": "A"}, "holds": {"h1": "x"}, "encounter": {"row": "E"}}
    assert facts_problem(recorded, current) == (
        "stored claims (1 changed, 1 removed), encounter (1 changed, 0 removed) no longer match what this event recorded"
    )


def test_digests_are_canonical() -> None:
    assert digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
    assert digest({"a": 1}) != digest({"a": 2})
