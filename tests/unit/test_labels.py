"""Error paths as a person reads them."""

import pytest

from api.web.labels import human_path


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("procedures[0].modifiers[0]", "Procedure 1, modifier 1"),
        ("diagnoses[1].code", "Diagnosis 2, code"),
        ("body.procedures.2.pointers.0", "Procedure 3, diagnosis pointer 1"),
        ("findings[0].guideline_ref", "Finding 1, guideline ref"),
        ("coding_sla_hours", "Coding sla hours"),
    ],
)
def test_paths_are_one_based_and_named(path: str, shown: str) -> None:
    assert human_path(path) == shown
