"""Versioned edit tables for the claim scrubber, and loaders for the CMS quarterly files.

NCCI PTP pairs and MUE limits change every quarter, so each row carries its effective dates and
each table a version string. A table left as ``None`` in :class:`ScrubTables` means "not loaded":
the scrubber reports the check as skipped instead of letting it pass. Only small synthetic
fixtures ship with the code; operators load the real files (``clearchart codesets load``).
"""

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Final, Literal, cast

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


# --- CSV loaders -------------------------------------------------------------------------------


class TableFormatError(ValueError):
    """The file does not look like the CMS layout; the message names the row and what is wrong."""


Progress = Callable[[int], None]

_PTP_COLUMNS: Final = {
    "column1": ["column 1", "column1", "col 1", "column one"],
    "column2": ["column 2", "column2", "col 2", "column two"],
    "effective_from": ["effective date", "effective_from", "effective"],
    "effective_to": ["deletion date", "effective_to", "deletion"],
    "modifier_indicator": ["modifier", "modifier_indicator"],
}
_MUE_COLUMNS: Final = {
    "code": ["hcpcs/cpt code", "hcpcs", "cpt", "code"],
    "limit": [
        "practitioner services mue",
        "outpatient hospital services mue",
        "dme supplier",
        "mue value",
        "limit",
    ],
    "adjudication_indicator": ["mue adjudication indicator", "mai", "adjudication_indicator"],
    "effective_from": ["effective date", "effective_from"],
    "effective_to": ["deletion date", "end date", "effective_to"],
}
_OPTIONAL: Final = {"effective_from", "effective_to"}


def _norm(header: str) -> str:
    return re.sub(r"\s+", " ", header.replace("\n", " ")).strip().lower()


def _match_header(row: list[str], spec: dict[str, list[str]]) -> dict[str, int] | None:
    """Map wanted fields to column positions when ``row`` is the header row, else ``None``."""
    names = [_norm(cell) for cell in row]
    found: dict[str, int] = {}
    for wanted, prefixes in spec.items():
        for i, name in enumerate(names):
            if i not in found.values() and any(name.startswith(p) for p in prefixes):
                found[wanted] = i
                break
    required = set(spec) - _OPTIONAL
    return found if required <= set(found) else None


def _parse_date(raw: str) -> date | None:
    raw = raw.strip()
    if raw in ("", "*"):
        return None
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(raw, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    raise ValueError(f"unreadable date {raw!r} (use YYYYMMDD, YYYY-MM-DD or MM/DD/YYYY)")


def _rows(path: Path, spec: dict[str, list[str]]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_no, fields)`` after the header; preamble, ``#`` comments and blanks skipped."""
    delimiter = "\t" if path.suffix.lower() in (".txt", ".tsv") else ","
    header: dict[str, int] | None = None
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for line_no, row in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = _match_header(row, spec)
                continue
            cells = [c.strip() for c in row]
            yield line_no, {k: cells[i] if i < len(cells) else "" for k, i in header.items()}
    if header is None:
        wanted = ", ".join(sorted(set(spec) - _OPTIONAL))
        raise TableFormatError(f"{path.name}: no header row with columns for {wanted}")


def load_ptp_csv(
    path: Path | str, *, progress: Progress | None = None, every: int = 10_000
) -> list[PtpEdit]:
    """Read an NCCI PTP file (practitioner or hospital, CSV or tab-separated TXT).

    Expected columns (header matched by prefix, case-insensitive, any preamble skipped):
    ``Column 1``, ``Column 2``, ``Effective Date`` (YYYYMMDD), ``Deletion Date`` (``*`` = none),
    ``Modifier`` (0 not allowed, 1 allowed, 9 not applicable). Other columns (the pre-1996 flag,
    the PTP edit rationale) are ignored. ``progress`` receives the row count every ``every`` rows
    and once at the end.
    """
    path, out = Path(path), list[PtpEdit]()
    for line_no, f in _rows(path, _PTP_COLUMNS):
        indicator = f["modifier_indicator"][:1]
        if indicator not in ("0", "1", "9") or not f["column1"] or not f["column2"]:
            raise TableFormatError(f"{path.name} line {line_no}: need both codes and 0/1/9")
        try:
            start = _parse_date(f.get("effective_from", "")) or EPOCH
            end = _parse_date(f.get("effective_to", ""))
        except ValueError as exc:
            raise TableFormatError(f"{path.name} line {line_no}: {exc}") from exc
        out.append(
            PtpEdit(f["column1"], f["column2"], start, end, cast(ModifierIndicator, indicator))
        )
        if progress is not None and len(out) % every == 0:
            progress(len(out))
    if progress is not None:
        progress(len(out))
    return out


def load_mue_csv(
    path: Path | str,
    *,
    effective_from: date = EPOCH,
    progress: Progress | None = None,
    every: int = 10_000,
) -> list[MueLimit]:
    """Read a CMS MUE file (practitioner, outpatient hospital or DME).

    Expected columns: ``HCPCS/CPT Code``, ``... MUE Values`` (the unit limit), ``MUE Adjudication
    Indicator`` (its leading digit, e.g. ``"2 Date of Service Edit: Policy"``). The quarterly files
    carry no dates, so ``effective_from`` (the quarter start) applies unless the file has
    ``Effective Date`` / ``Deletion Date`` columns.
    """
    path, out = Path(path), list[MueLimit]()
    for line_no, f in _rows(path, _MUE_COLUMNS):
        mai = f["adjudication_indicator"][:1]
        if mai not in ("1", "2", "3") or not f["limit"].isdigit() or not f["code"]:
            raise TableFormatError(f"{path.name} line {line_no}: need code, integer limit, MAI")
        try:
            start = _parse_date(f.get("effective_from", "")) or effective_from
            end = _parse_date(f.get("effective_to", ""))
        except ValueError as exc:
            raise TableFormatError(f"{path.name} line {line_no}: {exc}") from exc
        limit = int(f["limit"])
        out.append(MueLimit(f["code"], limit, cast(AdjudicationIndicator, mai), start, end))
        if progress is not None and len(out) % every == 0:
            progress(len(out))
    if progress is not None:
        progress(len(out))
    return out


def read_csv_dicts(path: Path | str) -> list[dict[str, str]]:
    """Rows of a small CSV with a header, ``#`` comment lines skipped (fee schedules, CARC maps)."""
    with Path(path).open(newline="", encoding="utf-8-sig") as fh:
        lines = [ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    return [{k.strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(lines)]
