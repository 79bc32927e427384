"""Claim scrub edits, run before a claim leaves (DESIGN §5).

Every edit names its rule and says how to fix it. Hard edits send the chart back to its coder
(rework); soft edits may be acknowledged with a reason. A check whose table is not loaded, or
whose patient facts are unknown, is listed in ``checks_skipped`` - never silently passed.

Rule ids and default severities are in :data:`RULES`; ``mue.exceeded`` is hard for MAI 1 and
soft for MAI 2/3, and ``sex.conflict`` turns soft when a line carries KX.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Final, Literal

from models.claims.scrub_reference import (
    EM_CODES,
    NCCI_PTP_MODIFIERS,
    NOT_PROCEDURES,
    PROCEDURE_RANGES,
    ScrubTables,
    Sex,
    SexAgeRule,
    in_effect,
)

Severity = Literal["hard", "soft"]
IcdStatus = Callable[[str, date], str]
"""Returns ``"billable"`` for a code valid on the date, else e.g. ``"header"`` or ``"invalid"``."""

RULES: Final[dict[str, Severity]] = {
    "code.invalid": "hard",
    "pos.invalid": "hard",
    "pointer.missing": "hard",
    "pointer.out_of_range": "hard",
    "pointer.too_many": "hard",
    "pointer.duplicate": "soft",
    "ptp.not_allowed": "hard",
    "ptp.modifier_required": "hard",
    "mue.exceeded": "hard",
    "em.modifier25_missing": "hard",
    "sex.conflict": "hard",
    "age.conflict": "soft",
    "modifier.unknown": "hard",
    "modifier.invalid_for_code": "hard",
    "modifier.conflict": "hard",
    "modifier.too_many": "hard",
}

MAX_POINTERS: Final = 4  # 837P SV107 holds four diagnosis pointers
MAX_MODIFIERS: Final = 4  # 837P SV101-3..6
_PROCEDURE_FORMAT: Final = re.compile(r"^(\d{5}|\d{4}[FTU]|[A-CEGHJ-MP-V]\d{4})$")
_EM_ONLY: Final = frozenset({"24", "25", "57"})
_NOT_ON_EM: Final = frozenset({"26", "TC", "50", "51", "59", "LT", "RT", "XE", "XP", "XS", "XU"})
_EYE_EXAMS: Final = frozenset({"92002", "92004", "92012", "92014"})  # may carry 25 like an E/M


@dataclass(frozen=True)
class ScrubLine:
    """One service line; ``pointers`` are 1-based positions in ``ScrubInput.diagnoses``."""

    code: str
    modifiers: list[str] = field(default_factory=list)
    units: int = 1
    pointers: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ScrubInput:
    date_of_service: date
    patient_sex: Sex | None = None
    patient_age_years: int | None = None
    diagnoses: list[str] = field(default_factory=list)
    lines: list[ScrubLine] = field(default_factory=list)
    place_of_service: str = "11"


@dataclass(frozen=True)
class ScrubEdit:
    rule: str
    severity: Severity = "hard"
    line_index: int | None = None
    code: str = ""
    message: str = ""
    acknowledged_reason: str | None = None


@dataclass(frozen=True)
class SkippedCheck:
    check: str
    reason: str = ""


@dataclass(frozen=True)
class ScrubResult:
    edits: list[ScrubEdit] = field(default_factory=list)
    checks_ran: list[str] = field(default_factory=list)
    checks_skipped: list[SkippedCheck] = field(default_factory=list)
    table_versions: dict[str, str] = field(default_factory=dict)

    @property
    def hard_edits(self) -> list[ScrubEdit]:
        return [e for e in self.edits if e.severity == "hard"]

    @property
    def needs_rework(self) -> bool:
        """Any hard edit sends the chart back to its coder with the edit list."""
        return bool(self.hard_edits)

    @property
    def clean(self) -> bool:
        """No hard edit and every soft edit acknowledged: the claim may leave."""
        return all(e.severity == "soft" and e.acknowledged_reason for e in self.edits)


def acknowledge(
    result: ScrubResult, rule: str, line_index: int | None, reason: str, *, code: str | None = None
) -> ScrubResult:
    """Acknowledge the soft edits matching ``rule``/``line_index`` (and ``code`` if given).

    Hard edits cannot be waived: they send the chart back to its coder.
    """
    if not reason.strip():
        raise ValueError("an acknowledgement needs a reason a reviewer can read")
    hits = [
        e
        for e in result.edits
        if e.rule == rule and e.line_index == line_index and code in (None, e.code)
    ]
    if not hits:
        raise ValueError(f"no edit {rule!r} on line {line_index}")
    if any(e.severity == "hard" for e in hits):
        raise ValueError(f"{rule!r} is a hard edit: fix the claim instead of acknowledging it")
    edits = [
        replace(e, acknowledged_reason=reason.strip()) if e in hits else e for e in result.edits
    ]
    return replace(result, edits=edits)


def _edit(
    rule: str, line: int | None, code: str, message: str, sev: Severity | None = None
) -> ScrubEdit:
    return ScrubEdit(rule, sev or RULES[rule], line, code, message)


def _is_procedure(code: str) -> bool:
    return (
        code not in NOT_PROCEDURES
        and code.isdigit()
        and any(lo <= int(code) <= hi for lo, hi in PROCEDURE_RANGES)
    )


def _codes(inp: ScrubInput, tables: ScrubTables, icd_status: IcdStatus) -> Iterator[ScrubEdit]:
    dos = inp.date_of_service
    for dx in inp.diagnoses:
        status = icd_status(dx, dos)
        if status != "billable":
            msg = (
                f"diagnosis {dx} is {status} on {dos}: use a billable code valid on that date "
                "(a header code needs its more specific child)"
            )
            yield _edit("code.invalid", None, dx, msg)
    for i, ln in enumerate(inp.lines):
        if not _PROCEDURE_FORMAT.match(ln.code):
            yield _edit("code.invalid", i, ln.code, f"{ln.code!r} is not a CPT/HCPCS code format")
        elif tables.procedure_codes is not None and not any(
            in_effect(dos, p.effective_from, p.effective_to)
            for p in tables.procedure_index.get(ln.code, [])
        ):
            msg = f"{ln.code} is not in the loaded code set for {dos}: check the code and the DOS"
            yield _edit("code.invalid", i, ln.code, msg)
    if not re.fullmatch(r"\d{2}", inp.place_of_service):
        yield _edit("pos.invalid", None, inp.place_of_service, "place of service must be 2 digits")


def _pointers(inp: ScrubInput) -> Iterator[ScrubEdit]:
    n = len(inp.diagnoses)
    for i, ln in enumerate(inp.lines):
        if not ln.pointers:
            yield _edit("pointer.missing", i, ln.code, "point the line at the diagnosis it treats")
        if len(ln.pointers) > MAX_POINTERS:
            msg = (
                f"{len(ln.pointers)} pointers; keep the {MAX_POINTERS} most relevant, primary first"
            )
            yield _edit("pointer.too_many", i, ln.code, msg)
        for p in sorted(set(ln.pointers)):
            if not 1 <= p <= n:
                msg = f"pointer {p} has no diagnosis (claim lists {n}); point at 1..{n}"
                yield _edit("pointer.out_of_range", i, ln.code, msg)
        if len(set(ln.pointers)) != len(ln.pointers):
            yield _edit("pointer.duplicate", i, ln.code, "remove the repeated pointer")


def _ptp(inp: ScrubInput, tables: ScrubTables) -> Iterator[ScrubEdit]:
    dos, lines = inp.date_of_service, inp.lines
    for i, first in enumerate(lines):
        for j, second in enumerate(lines):
            if i == j:
                continue
            for e in tables.ptp_index.get((first.code, second.code), []):
                if not in_effect(dos, e.effective_from, e.effective_to):
                    continue
                if e.modifier_indicator == "0":
                    msg = (
                        f"{second.code} is bundled into {first.code} on the same DOS and no "
                        "modifier unbundles it (indicator 0): remove it"
                    )
                    yield _edit("ptp.not_allowed", j, second.code, msg)
                elif e.modifier_indicator == "1" and not set(second.modifiers) & NCCI_PTP_MODIFIERS:
                    msg = (
                        f"{second.code} is bundled into {first.code}: if it was a distinct "
                        "service (separate site, session or lesion) and documented, append "
                        "XE/XS/XP/XU or 59 (or LT/RT etc.) to it; otherwise remove it"
                    )
                    yield _edit("ptp.modifier_required", j, second.code, msg)


def _mue(inp: ScrubInput, tables: ScrubTables) -> Iterator[ScrubEdit]:
    totals: dict[str, int] = {}
    for ln in inp.lines:
        totals[ln.code] = totals.get(ln.code, 0) + ln.units
    reported: set[str] = set()
    for i, ln in enumerate(inp.lines):
        for m in tables.mue_index.get(ln.code, []):
            if not in_effect(inp.date_of_service, m.effective_from, m.effective_to):
                continue
            if m.adjudication_indicator == "1" and ln.units > m.limit:
                msg = (
                    f"{ln.units} units exceed the line limit of {m.limit} (MAI 1): correct "
                    "the units, or split onto lines with an anatomic/XU modifier if documented"
                )
                yield _edit("mue.exceeded", i, ln.code, msg)
            elif m.adjudication_indicator != "1" and totals[ln.code] > m.limit:
                if ln.code in reported:
                    continue
                reported.add(ln.code)
                why = (
                    "policy limit (MAI 2): units above it are not payable, verify them"
                    if m.adjudication_indicator == "2"
                    else "clinical limit (MAI 3): keep only if the record supports medical "
                    "necessity, expect to appeal with it"
                )
                msg = f"{totals[ln.code]} units on this date exceed {m.limit}: {why}"
                yield _edit("mue.exceeded", i, ln.code, msg, "soft")


def _em25(inp: ScrubInput) -> Iterator[ScrubEdit]:
    if not any(_is_procedure(ln.code) for ln in inp.lines):
        return
    for i, ln in enumerate(inp.lines):
        if ln.code in EM_CODES and "25" not in ln.modifiers:
            msg = (
                f"E/M {ln.code} is billed with a procedure on the same date: append 25 if the "
                "visit was significant and separately identifiable in the note, else remove it"
            )
            yield _edit("em.modifier25_missing", i, ln.code, msg)


def _rules_for(dx: str, tables: ScrubTables) -> list[SexAgeRule]:
    bare = dx.replace(".", "")
    return [r for r in tables.sex_age or [] if bare.startswith(r.code.replace(".", ""))]


def _sex(inp: ScrubInput, tables: ScrubTables) -> Iterator[ScrubEdit]:
    kx = any("KX" in ln.modifiers for ln in inp.lines)
    for dx in inp.diagnoses:
        for rule in _rules_for(dx, tables):
            if rule.sex and inp.patient_sex and rule.sex != inp.patient_sex:
                msg = (
                    f"{dx} applies to {rule.sex} patients but the patient is registered "
                    f"{inp.patient_sex}: fix registration or the code; for a gender-specific "
                    "service to a transgender patient append KX and acknowledge"
                )
                yield _edit("sex.conflict", None, dx, msg, "soft" if kx else None)


def _age(inp: ScrubInput, tables: ScrubTables) -> Iterator[ScrubEdit]:
    age = inp.patient_age_years
    for dx in inp.diagnoses:
        for rule in _rules_for(dx, tables):
            lo, hi = rule.min_age, rule.max_age
            if age is not None and ((lo is not None and age < lo) or (hi is not None and age > hi)):
                span = f"{lo if lo is not None else 0}-{hi if hi is not None else ''}"
                msg = f"{dx} expects age {span}, the patient is {age}: verify birth date and code"
                yield _edit("age.conflict", None, dx, msg)


def _modifiers(inp: ScrubInput, tables: ScrubTables) -> Iterator[ScrubEdit]:
    known = set(tables.modifiers) if tables.modifiers is not None else None
    for i, ln in enumerate(inp.lines):
        mods, em = ln.modifiers, ln.code in EM_CODES
        if len(mods) > MAX_MODIFIERS:
            yield _edit("modifier.too_many", i, ln.code, "the 837P allows 4 modifiers per line")
        for m in mods:
            if known is not None and m not in known:
                yield _edit("modifier.unknown", i, ln.code, f"modifier {m!r} is not recognised")
            elif (em and m in _NOT_ON_EM) or (
                not em and m in _EM_ONLY and ln.code not in _EYE_EXAMS
            ):
                hint = "use 25 for a separate E/M" if em else "it belongs on the E/M line"
                msg = f"{m} is not valid on {ln.code}: {hint}"
                yield _edit("modifier.invalid_for_code", i, ln.code, msg)
        for a, b, fix in [("26", "TC", "bill globally"), ("LT", "RT", "use 50 if bilateral")]:
            if a in mods and b in mods:
                yield _edit("modifier.conflict", i, ln.code, f"{a} with {b} on one line: {fix}")
        if len(set(mods)) != len(mods):
            yield _edit("modifier.conflict", i, ln.code, "remove the repeated modifier")


def scrub(inp: ScrubInput, tables: ScrubTables, *, icd_status: IcdStatus) -> ScrubResult:
    """Run every check that can run; list the others with the reason they could not."""
    edits: list[ScrubEdit] = []
    ran: list[str] = []
    skipped: list[SkippedCheck] = []

    def run(check: str, found: Iterator[ScrubEdit], missing: str | None = None) -> None:
        if missing:
            skipped.append(SkippedCheck(check, missing))
        else:
            ran.append(check)
            edits.extend(found)

    run("code", _codes(inp, tables, icd_status))
    if tables.procedure_codes is None:
        skipped.append(SkippedCheck("code.procedure_set", "CPT/HCPCS set not loaded: format only"))
    run("pointer", _pointers(inp))
    run("ptp", _ptp(inp, tables), None if tables.ptp is not None else "NCCI PTP table not loaded")
    run("mue", _mue(inp, tables), None if tables.mue is not None else "MUE table not loaded")
    run("em.modifier25", _em25(inp))
    no_rules = None if tables.sex_age is not None else "sex/age rule table not loaded"
    run("sex", _sex(inp, tables), no_rules or _unknown(inp.patient_sex, "sex"))
    run("age", _age(inp, tables), no_rules or _unknown(inp.patient_age_years, "age"))
    run("modifier", _modifiers(inp, tables))
    if tables.modifiers is None:
        skipped.append(SkippedCheck("modifier.known_list", "modifier list not loaded"))
    return ScrubResult(edits, ran, skipped, tables.versions())


def _unknown(value: object, what: str) -> str | None:
    return f"patient {what} unknown" if value is None else None
