"""History and family history codes for a condition's code: the tabular list's Z80–Z87 titles."""

import pytest

from integrations.cac.status import (
    family_history_code,
    long_term_drugs,
    personal_history_code,
    status_codes,
)
from integrations.codesets import Icd10cm


@pytest.mark.parametrize(
    ("code", "history"),
    [
        ("C50.919", "Z85.3"),
        ("C61", "Z85.46"),
        ("C63.00", "Z85.48"),  # epididymis before the rest of C63
        ("C34.90", "Z85.118"),
        ("C79.51", None),  # no history code for a secondary site
        ("I26.99", "Z86.711"),
        ("I21.9", "I25.2"),
        ("I10", "Z86.79"),
        ("N20.0", "Z87.442"),
        ("F17.210", "Z87.891"),
        ("F10.20", "F10.21"),
        ("F12.10", "F12.11"),
        ("R07.9", None),  # a symptom has no history code
        ("Z79.4", None),
    ],
)
def test_personal_history_code(code: str, history: str | None) -> None:
    assert personal_history_code(code) == history


@pytest.mark.parametrize(
    ("code", "family"),
    [("C50.919", "Z80.3"), ("C18.9", "Z80.0"), ("E11.9", "Z83.3"), ("I63.9", "Z82.3"), ("J45.909", "Z82.5"), ("R52", None)],
)
def test_family_history_code(code: str, family: str | None) -> None:
    assert family_history_code(code) == family


def test_every_status_code_is_billable_in_the_shipped_release() -> None:
    icd = Icd10cm()
    release = icd.releases[-1].effective_from
    not_billable = sorted(code for code in status_codes() if icd.status(code, release) != "billable")
    assert not not_billable
    assert long_term_drugs()["insulin"] == "Z79.4"
