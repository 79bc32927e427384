"""Versioned edit tables for the claim scrubber, and loaders for the CMS quarterly files.

NCCI PTP pairs and MUE limits change every quarter, so each row carries its effective dates and
each table a version string. A table left as ``None`` in :class:`ScrubTables` means "not loaded":
the scrubber reports the check as skipped instead of letting it pass. Only small synthetic
fixtures ship with the code; operators load the real files (``clearchart codesets load``), read
by `integrations/codesets/scrub_files.py`.
"""

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Final, Literal

ModifierIndicator = Literal["0", "1", "9"]
AdjudicationIndicator = Literal["1", "2", "3"]
Sex = Literal["male", "female"]

EPOCH: Final = date(1996, 1, 1)
"""Start of NCCI; the default ``effective_from`` for rows that carry no date."""


def in_effect(on: date, start: date, end: date | None) -> bool:
    """True when ``on`` falls in ``[start, end]``; CMS deletion dates are the last day in force."""
    return start <= on and (end is None or on <= end)


@dataclass(frozen=True)
class PtpEdit:
    """One NCCI procedure-to-procedure pair: column 2 is not paid with column 1 on the same DOS."""

    column1: str
    column2: str = ""
    effective_from: date = EPOCH
    effective_to: date | None = None
    modifier_indicator: ModifierIndicator = "1"


@dataclass(frozen=True)
class MueLimit:
    """Most units of ``code`` one provider reports for one patient on one date of service.

    MAI 1 is a line edit; 2 (policy) and 3 (clinical) apply to the whole date of service.
    """

    code: str
    limit: int = 0
    adjudication_indicator: AdjudicationIndicator = "1"
    effective_from: date = EPOCH
    effective_to: date | None = None


@dataclass(frozen=True)
class SexAgeRule:
    """An ICD-10-CM code prefix that only fits one sex and/or an age range (years, inclusive)."""

    code: str
    sex: Sex | None = None
    min_age: int | None = None
    max_age: int | None = None


@dataclass(frozen=True)
class ProcedureCode:
    """A CPT/HCPCS code the tenant has loaded, valid for dates of service in its range."""

    code: str
    effective_from: date = EPOCH
    effective_to: date | None = None


DEFAULT_SEX_AGE_RULES: Final[list[SexAgeRule]] = [
    SexAgeRule("O", sex="female", min_age=12, max_age=55),  # pregnancy chapter
    SexAgeRule("Z3A", sex="female", min_age=12, max_age=55),  # weeks of gestation
    SexAgeRule("N40", sex="male"),  # prostate hyperplasia
    SexAgeRule("C61", sex="male"),  # prostate neoplasm
    SexAgeRule("N80", sex="female"),  # endometriosis
    SexAgeRule("C53", sex="female"),  # cervix neoplasm
    SexAgeRule("P", min_age=0, max_age=0),  # perinatal conditions: newborn record only
]
"""Common ICD-10-CM sex/age conflicts; a tenant may load a fuller (MCE-style) list."""

_MODIFIER_TEXT: Final = """
22 23 24 25 26 27 32 33 47 50 51 52 53 54 55 56 57 58 59 62 63 66 76 77 78 79 80 81 82 90 91 92
93 95 96 97 99 TC XE XP XS XU LT RT E1 E2 E3 E4 FA F1 F2 F3 F4 F5 F6 F7 F8 F9 TA T1 T2 T3 T4 T5
T6 T7 T8 T9 LC LD LM RC RI GA GC GE GN GO GP GQ GT GX GY GZ KX Q5 Q6 QW AI AS SA SB FS FT CR CS
JW JZ PO PN QK QX QY QZ AA AD
"""
KNOWN_MODIFIERS: Final[list[str]] = sorted(set(_MODIFIER_TEXT.split()))
"""Modifier codes only (no descriptors); a tenant may load its own list instead."""

NCCI_PTP_MODIFIERS: Final = frozenset(
    ["24", "25", "27", "57", "58", "59", "78", "79", "91", "XE", "XP", "XS", "XU", "LT", "RT"]
    + ["E1", "E2", "E3", "E4", "FA", "LC", "LD", "LM", "RC", "RI", "TA"]
    + [f"{p}{i}" for p in "FT" for i in range(1, 10)]
)
"""NCCI-associated modifiers that may bypass a PTP edit with modifier indicator 1."""

_EM_RANGES: Final = [(99202, 99205), (99211, 99215), (99221, 99223), (99231, 99239), (99242, 99245)]
EM_CODES: Final = frozenset(
    str(c)
    for lo, hi in [*_EM_RANGES, (99252, 99255), (99281, 99285), (99304, 99310)]
    for c in range(lo, hi + 1)
)
"""Evaluation and management codes that need modifier 25 beside a same-day procedure."""

PROCEDURE_RANGES: Final[list[tuple[int, int]]] = [(10004, 69990), (90281, 90474), (90760, 98999)]
"""CPT surgery and medicine ranges that count as a procedure for the modifier-25 rule.

Labs, radiology and vaccine products are left out: they do not make an E/M need modifier 25.
"""
NOT_PROCEDURES: Final = frozenset({"36415", "36416"})
"""Specimen collection sits in the surgery range but needs no modifier 25 on the E/M."""


@dataclass(frozen=True)
class ScrubTables:
    """The tables one scrub runs against; ``None`` means not loaded, so the check is skipped."""

    ptp: list[PtpEdit] | None = None
    ptp_version: str = ""
    mue: list[MueLimit] | None = None
    mue_version: str = ""
    sex_age: list[SexAgeRule] | None = None
    sex_age_version: str = ""
    modifiers: list[str] | None = None
    modifiers_version: str = ""
    procedure_codes: list[ProcedureCode] | None = None
    procedure_codes_version: str = ""

    def versions(self) -> dict[str, str]:
        """Version of every loaded table, recorded with each scrub result as evidence."""
        pairs = [
            ("ptp", self.ptp, self.ptp_version),
            ("mue", self.mue, self.mue_version),
            ("sex_age", self.sex_age, self.sex_age_version),
            ("modifiers", self.modifiers, self.modifiers_version),
            ("procedure_codes", self.procedure_codes, self.procedure_codes_version),
        ]
        return {name: version for name, table, version in pairs if table is not None}

    @cached_property
    def ptp_index(self) -> dict[tuple[str, str], list[PtpEdit]]:
        index: dict[tuple[str, str], list[PtpEdit]] = {}
        for edit in self.ptp or []:
            index.setdefault((edit.column1, edit.column2), []).append(edit)
        return index

    @cached_property
    def mue_index(self) -> dict[str, list[MueLimit]]:
        index: dict[str, list[MueLimit]] = {}
        for limit in self.mue or []:
            index.setdefault(limit.code, []).append(limit)
        return index

    @cached_property
    def procedure_index(self) -> dict[str, list[ProcedureCode]]:
        index: dict[str, list[ProcedureCode]] = {}
        for row in self.procedure_codes or []:
            index.setdefault(row.code, []).append(row)
        return index


def builtin_tables() -> ScrubTables:
    """Tables that need no CMS file: sex/age rules and the modifier list. PTP/MUE stay unloaded."""
    return ScrubTables(
        sex_age=DEFAULT_SEX_AGE_RULES,
        sex_age_version="builtin-1",
        modifiers=KNOWN_MODIFIERS,
        modifiers_version="builtin-1",
    )
