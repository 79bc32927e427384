"""Status codes for mentions that are not a current diagnosis: personal and family history.

ICD-10-CM codes a condition that no longer exists and is no longer treated as a personal history
Z code (Z85 for a malignant neoplasm, by site; Z86/Z87 for the others, by body system), and a
relative's condition as a family history code (Z80–Z84). The maps below follow the titles of
those categories in the tabular list; a condition whose chapter has no history code (symptoms,
injuries other than fractures, congenital anomalies, Z codes) gives none.
"""

from pathlib import Path

# Malignant neoplasm categories (C00–C96) → personal history code; the first matching prefix wins.
_CANCER_HISTORY: tuple[tuple[str, str], ...] = (
    ("C15", "Z85.01"), ("C16", "Z85.028"), ("C17", "Z85.068"), ("C18", "Z85.038"), ("C19", "Z85.048"),
    ("C20", "Z85.048"), ("C21", "Z85.048"), ("C22", "Z85.05"), ("C25", "Z85.07"), ("C23", "Z85.09"),
    ("C24", "Z85.09"), ("C26", "Z85.00"), ("C33", "Z85.12"), ("C34", "Z85.118"), ("C32", "Z85.21"),
    ("C30", "Z85.22"), ("C31", "Z85.22"), ("C37", "Z85.29"), ("C38", "Z85.29"), ("C39", "Z85.29"),
    ("C50", "Z85.3"), ("C53", "Z85.41"), ("C54", "Z85.42"), ("C55", "Z85.42"), ("C56", "Z85.43"),
    ("C51", "Z85.44"), ("C52", "Z85.44"), ("C57", "Z85.44"), ("C58", "Z85.44"), ("C61", "Z85.46"),
    ("C62", "Z85.47"), ("C63.0", "Z85.48"), ("C60", "Z85.49"), ("C63", "Z85.49"), ("C67", "Z85.51"),
    ("C64", "Z85.528"), ("C65", "Z85.53"), ("C66", "Z85.54"), ("C68", "Z85.59"), ("C81", "Z85.71"),
    ("C82", "Z85.72"), ("C83", "Z85.72"), ("C84", "Z85.72"), ("C85", "Z85.72"), ("C86", "Z85.79"),
    ("C88", "Z85.79"), ("C90", "Z85.79"), ("C96", "Z85.79"), ("C91", "Z85.6"), ("C92", "Z85.6"),
    ("C93", "Z85.6"), ("C94", "Z85.6"), ("C95", "Z85.6"), ("C0", "Z85.818"), ("C10", "Z85.818"),
    ("C11", "Z85.818"), ("C12", "Z85.818"), ("C13", "Z85.818"), ("C14", "Z85.818"), ("C43", "Z85.820"),
    ("C44", "Z85.828"), ("C4A", "Z85.828"), ("C40", "Z85.830"), ("C41", "Z85.830"), ("C45", "Z85.89"),
    ("C46", "Z85.89"), ("C47", "Z85.848"), ("C48", "Z85.89"), ("C49", "Z85.831"), ("C69", "Z85.840"),
    ("C71", "Z85.841"), ("C70", "Z85.848"), ("C72", "Z85.848"), ("C73", "Z85.850"), ("C74", "Z85.858"),
    ("C75", "Z85.858"), ("C7A", "Z85.89"), ("C80", "Z85.9"),
)
# Other conditions → personal history code (Z86–Z87, I25.2 for an old infarction); first match wins.
_HISTORY: tuple[tuple[str, str], ...] = (
    ("D05", "Z86.000"), ("D06", "Z86.001"), ("D0", "Z86.008"), ("D1", "Z86.018"), ("D2", "Z86.018"),
    ("D30", "Z86.018"), ("D31", "Z86.018"), ("D32", "Z86.018"), ("D33", "Z86.018"), ("D34", "Z86.018"),
    ("D35", "Z86.018"), ("D36", "Z86.018"), ("D3A", "Z86.012"), ("D37", "Z86.03"), ("D38", "Z86.03"),
    ("D39", "Z86.03"), ("D4", "Z86.03"), ("D5", "Z86.2"), ("D6", "Z86.2"), ("D7", "Z86.2"),
    ("D8", "Z86.2"), ("A15", "Z86.11"), ("A16", "Z86.11"), ("A17", "Z86.11"), ("A18", "Z86.11"),
    ("A19", "Z86.11"), ("A", "Z86.19"), ("B", "Z86.19"), ("E", "Z86.39"), ("F17", "Z87.891"),
    ("F", "Z86.59"), ("G45", "Z86.73"), ("G", "Z86.69"), ("H", "Z86.69"), ("I21", "I25.2"),
    ("I22", "I25.2"), ("I26", "Z86.711"), ("I46", "Z86.74"), ("I63", "Z86.73"), ("I80", "Z86.718"),
    ("I82", "Z86.718"), ("I", "Z86.79"), ("J12", "Z87.01"), ("J13", "Z87.01"), ("J14", "Z87.01"),
    ("J15", "Z87.01"), ("J16", "Z87.01"), ("J17", "Z87.01"), ("J18", "Z87.01"), ("J", "Z87.09"),
    ("K25", "Z87.11"), ("K26", "Z87.11"), ("K27", "Z87.11"), ("K28", "Z87.11"), ("K", "Z87.19"),
    ("L", "Z87.2"), ("M", "Z87.39"), ("N39.0", "Z87.440"), ("N20", "Z87.442"), ("N21", "Z87.442"),
    ("N22", "Z87.442"), ("N23", "Z87.442"), ("N4", "Z87.438"), ("N50", "Z87.438"), ("N51", "Z87.438"),
    ("N52", "Z87.438"), ("N53", "Z87.438"), ("N6", "Z87.42"), ("N7", "Z87.42"), ("N8", "Z87.42"),
    ("N9", "Z87.42"), ("N", "Z87.448"), ("O", "Z87.59"), ("S02", "Z87.81"), ("S12", "Z87.81"),
    ("S22", "Z87.81"), ("S32", "Z87.81"), ("S42", "Z87.81"), ("S52", "Z87.81"), ("S62", "Z87.81"),
    ("S72", "Z87.81"), ("S82", "Z87.81"), ("S92", "Z87.81"), ("S", "Z87.828"),
)
# A relative's condition → family history code (Z80–Z84); first match wins.
_CANCER_FAMILY: tuple[tuple[str, str], ...] = (
    ("C10", "Z80.8"), ("C11", "Z80.8"), ("C12", "Z80.8"), ("C13", "Z80.8"), ("C14", "Z80.8"),
    ("C1", "Z80.0"), ("C20", "Z80.0"), ("C21", "Z80.0"), ("C22", "Z80.0"), ("C23", "Z80.0"),
    ("C24", "Z80.0"), ("C25", "Z80.0"), ("C26", "Z80.0"), ("C33", "Z80.1"), ("C34", "Z80.1"),
    ("C30", "Z80.2"), ("C31", "Z80.2"), ("C32", "Z80.2"), ("C37", "Z80.2"), ("C38", "Z80.2"),
    ("C39", "Z80.2"), ("C50", "Z80.3"), ("C56", "Z80.41"), ("C61", "Z80.42"), ("C62", "Z80.43"),
    ("C5", "Z80.49"), ("C60", "Z80.49"), ("C63", "Z80.49"), ("C64", "Z80.51"), ("C67", "Z80.52"),
    ("C65", "Z80.59"), ("C66", "Z80.59"), ("C68", "Z80.59"), ("C91", "Z80.6"), ("C92", "Z80.6"),
    ("C93", "Z80.6"), ("C94", "Z80.6"), ("C95", "Z80.6"), ("C8", "Z80.7"), ("C90", "Z80.7"),
    ("C96", "Z80.7"), ("C80", "Z80.9"), ("C", "Z80.8"),
)
_FAMILY: tuple[tuple[str, str], ...] = (
    ("A", "Z83.1"), ("B20", "Z83.0"), ("B", "Z83.1"), ("D5", "Z83.2"), ("D6", "Z83.2"), ("D7", "Z83.2"),
    ("D8", "Z83.2"), ("E08", "Z83.3"), ("E09", "Z83.3"), ("E10", "Z83.3"), ("E11", "Z83.3"),
    ("E13", "Z83.3"), ("E", "Z83.49"), ("F", "Z81.8"), ("G", "Z82.0"), ("H40", "Z83.511"),
    ("H54", "Z82.1"), ("H0", "Z83.518"), ("H1", "Z83.518"), ("H2", "Z83.518"), ("H3", "Z83.518"),
    ("H4", "Z83.518"), ("H5", "Z83.518"), ("I6", "Z82.3"), ("I", "Z82.49"), ("J4", "Z82.5"),
    ("J", "Z83.6"), ("K", "Z83.79"), ("M", "Z82.69"), ("N0", "Z84.19"), ("N1", "Z84.19"),
    ("N2", "Z84.19"), ("Q", "Z82.79"),
)


# Conditions that do not resolve once diagnosed: "a history of hypertension" or "personal history:
# diabetes mellitus" documents the condition the patient still has (the history codes are for a
# condition that no longer exists, and none is titled for these).
LIFELONG = (
    "I10", "I11", "I12", "I13", "I15", "E08", "E10", "E11", "E13", "E78", "E03", "J44", "N18", "B20",
    "B18", "I48", "I25", "I50", "M05", "M06", "H40", "G20", "G30", "G35", "K50", "K51", "M10", "M1A",
    "M81", "N40", "G40", "K70.3", "K74", "F01", "F03",
)


def lifelong(code: str) -> bool:
    return code.startswith(LIFELONG)


_SUBSTANCE = {f"F1{d}" for d in range(10)}


def _first(code: str, table: tuple[tuple[str, str], ...]) -> str | None:
    return next((target for prefix, target in table if code.startswith(prefix)), None)


def personal_history_code(code: str) -> str | None:
    """The code for "history of <the condition `code` names>" (None: no history code applies).

    Past alcohol or drug abuse or dependence is coded "in remission" (F10.11, F10.21...), which the
    Alphabetic Index gives for a history of it; past nicotine dependence is Z87.891."""
    if code[:3] in _SUBSTANCE and code[:3] != "F17" and len(code) >= 5 and code[4] in "12":
        return f"{code[:5]}1"
    if code.startswith("C") and code[:3] not in {"C77", "C78", "C79"}:  # no history code for a secondary site
        return _first(code, _CANCER_HISTORY)
    if code.startswith("C"):
        return None
    return _first(code, _HISTORY)


def family_history_code(code: str) -> str | None:
    """The code for a relative's <condition `code` names> (None: no family history code applies)."""
    if code.startswith("C"):
        return None if code[:3] in {"C77", "C78", "C79"} else _first(code, _CANCER_FAMILY)
    return _first(code, _FAMILY)


def long_term_drugs() -> dict[str, str]:
    """Drug (or class) name → its long-term drug therapy code (`data/long_term_drugs.tsv`)."""
    text = (Path(__file__).parent / "data" / "long_term_drugs.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {drug.strip().lower(): code.strip() for drug, code in rows}


def status_codes() -> set[str]:
    """Every code these maps can give (their descriptions are loaded with the lexicon)."""
    tables = (_CANCER_HISTORY, _HISTORY, _CANCER_FAMILY, _FAMILY)
    return {target for table in tables for _, target in table} | set(long_term_drugs().values())
