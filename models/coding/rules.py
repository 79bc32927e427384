"""Coding submissions and the pure rules that check them against real code sets.

The dataclasses travel as Temporal payloads, so they are frozen and hold only JSON-friendly
fields (str, int, list, None). `validate_coding` does no I/O: the code sets come in through the
`CodeCatalog` protocol, so the same rules run in an update validator, an activity or a unit test.
Every issue carries a stable rule id (for metrics, scrub edits and the API) and a sentence a
coder can act on.
"""


import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

MAX_MODIFIERS = 4
MAX_POINTERS = 4
MAX_UNITS = 999

Icd10Status = Literal["billable", "header", "unknown", "not_in_effect"]

# CPT Category I is five digits; the four-digit-plus-letter forms are Category II (F),
# Category III (T), Proprietary Laboratory Analyses (U) and administrative MAAA codes (M).
_CPT = re.compile(r"^\d{4}[0-9FTUM]$")
# HCPCS Level II: a letter A–V and four digits (W–Z are not assigned; D is dental CDT but
# shares the shape).
_HCPCS = re.compile(r"^[A-V]\d{4}$")


@dataclass(frozen=True)
class Evidence:
    """A pointer to a supporting excerpt; the excerpt is PHI and stays in PostgreSQL."""

    document_id: str
    excerpt_sha256: str = ""
    start: int | None = None  # character offsets of the quote in the document's text
    end: int | None = None


@dataclass(frozen=True)
class DiagnosisCode:
    code: str  # normalized: upper-case, with the dot (E11.9)
    evidence: list[Evidence] = field(default_factory=list)
    suggestion_id: str = ""  # the accepted code suggestion it came from; "" when entered by hand


@dataclass(frozen=True)
class ProcedureCode:
    code: str
    modifiers: list[str] = field(default_factory=list)
    units: int = 1
    pointers: list[int] = field(default_factory=list)  # 1-based indexes into diagnoses
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(frozen=True)
class CodingSubmission:
    diagnoses: list[DiagnosisCode] = field(default_factory=list)
    procedures: list[ProcedureCode] = field(default_factory=list)


@dataclass(frozen=True)
class CodingIssue:
    path: str  # e.g. "diagnoses[0].code", "procedures[1].pointers[0]"
    code: str = ""  # the offending code value ('' if n/a)
    rule: str = ""  # stable machine id, e.g. "icd10cm.not_billable"
    message: str = ""  # a sentence a coder can act on


class CodeCatalog(Protocol):
    """What the rules need to know about code sets; `integrations.codesets` implements it."""

    def icd10cm_status(self, code: str, on: date) -> Icd10Status: ...

    def icd10cm_description(self, code: str) -> str | None: ...

    def is_hcpcs(self, code: str, on: date) -> bool: ...

    def is_cpt_known(self, code: str) -> bool | None: ...  # None: tenant loaded no CPT list

    def is_modifier(self, code: str) -> bool: ...


def normalize_icd10(code: str) -> str:
    """'e119' / ' E11.9 ' -> 'E11.9': upper-case, no spaces, dot after the category."""
    compact = "".join(code.split()).upper().replace(".", "")
    return f"{compact[:3]}.{compact[3:]}" if len(compact) > 3 else compact


def normalize_procedure(code: str) -> str:
    """' g0439 ' -> 'G0439'."""
    return "".join(code.split()).upper()


def procedure_code_type(code: str) -> Literal["cpt", "hcpcs"] | None:
    """Classify a normalized procedure code by shape; None when it is neither."""
    if _CPT.match(code):
        return "cpt"
    if _HCPCS.match(code):
        return "hcpcs"
    return None


def validate_coding(
    sub: CodingSubmission,
    *,
    date_of_service: date,
    catalog: CodeCatalog,
    document_ids: set[str],
    require_evidence: bool = True,
) -> list[CodingIssue]:
    """Return every problem with the submission (empty list: the coding is valid)."""
    issues: list[CodingIssue] = []
    if not sub.diagnoses:
        msg = "No diagnosis was coded: add at least one ICD-10-CM code supported by the record."
        issues.append(CodingIssue("diagnoses", "", "diagnoses.empty", msg))
    first_seen: dict[str, int] = {}
    for i, dx in enumerate(sub.diagnoses):
        path, code = f"diagnoses[{i}]", normalize_icd10(dx.code)
        if code in first_seen:
            msg = (
                f"{code} is listed twice (diagnoses[{first_seen[code]}] and {path}): remove the "
                "repeat and point procedures at the first one."
            )
            issues.append(CodingIssue(f"{path}.code", code, "diagnoses.duplicate", msg))
        first_seen.setdefault(code, i)
        issues.extend(_check_icd10(code, f"{path}.code", date_of_service, catalog))
        issues.extend(_check_evidence(dx.evidence, path, code, document_ids, require_evidence))

    for i, proc in enumerate(sub.procedures):
        path, code = f"procedures[{i}]", normalize_procedure(proc.code)
        issues.extend(_check_procedure_code(code, f"{path}.code", date_of_service, catalog))
        issues.extend(_check_modifiers(proc.modifiers, path, code, catalog.is_modifier))
        if not _is_int_in(proc.units, 1, MAX_UNITS):
            msg = (
                f"{code} has {proc.units!r} units: enter a whole number from 1 to {MAX_UNITS} "
                "matching the documented service."
            )
            issues.append(CodingIssue(f"{path}.units", code, "units.invalid", msg))
        issues.extend(_check_pointers(proc.pointers, path, code, len(sub.diagnoses)))
        issues.extend(_check_evidence(proc.evidence, path, code, document_ids, require_evidence))
    return issues


def _is_int_in(value: object, low: int, high: int) -> bool:
    """Payloads arrive from JSON: refuse bools and floats that slipped past the type hints."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_icd10(code: str, path: str, dos: date, catalog: CodeCatalog) -> list[CodingIssue]:
    status = catalog.icd10cm_status(code, dos)
    if status == "billable":
        return []
    if status == "header":
        title = catalog.icd10cm_description(code)
        named = f"{code} ({title})" if title else code
        rule = "icd10cm.not_billable"
        msg = (
            f"{named} is a category header, not billable: code to the highest specificity by "
            f"choosing a billable code under {code} (including any required 7th character)."
        )
    elif status == "not_in_effect":
        rule = "icd10cm.not_in_effect"
        msg = (
            f"{code} is not valid in the ICD-10-CM release in force on the date of service "
            f"{dos.isoformat()}: use the code from that fiscal year's release, or ask an admin "
            "to load that release."
        )
    else:
        rule = "icd10cm.unknown"
        msg = (
            f"{code or '(blank)'} is not an ICD-10-CM code: check for a typo and search the "
            "code set for the documented condition."
        )
    return [CodingIssue(path, code, rule, msg)]


def _check_procedure_code(
    code: str, path: str, dos: date, catalog: CodeCatalog
) -> list[CodingIssue]:
    kind = procedure_code_type(code)
    if kind == "cpt":
        if catalog.is_cpt_known(code) is not False:
            return []
        rule = "cpt.unknown"
        msg = (
            f"{code} is not in the CPT code set loaded for your organization: check the code, "
            "or ask an admin to load the current CPT file."
        )
    elif kind == "hcpcs":
        if catalog.is_hcpcs(code, dos):
            return []
        rule = "hcpcs.unknown"
        msg = (
            f"{code} is not an active HCPCS Level II code on {dos.isoformat()}: check the code "
            "against the HCPCS file for the date of service."
        )
    elif code[:1].isdigit():
        rule = "cpt.format"
        msg = (
            f"{code} is not a valid CPT code: CPT codes are five digits (e.g. 99213) or four "
            "digits plus F, T, U or M (e.g. 3044F, 0042T)."
        )
    else:
        rule = "procedure.code_type"
        msg = (
            f"{code or '(blank)'} is neither a CPT nor a HCPCS Level II code: procedures take "
            "CPT (five digits) or HCPCS (a letter A–V and four digits); diagnoses belong in the "
            "diagnosis list."
        )
    return [CodingIssue(path, code, rule, msg)]


def _check_modifiers(
    modifiers: list[str], path: str, code: str, is_modifier: Callable[[str], bool]
) -> list[CodingIssue]:
    issues: list[CodingIssue] = []
    if len(modifiers) > MAX_MODIFIERS:
        msg = (
            f"{code} has {len(modifiers)} modifiers: a claim line takes at most {MAX_MODIFIERS}; "
            "keep the payment-affecting ones first, or split the service if the payer allows."
        )
        issues.append(CodingIssue(f"{path}.modifiers", code, "modifier.too_many", msg))
    seen: set[str] = set()
    for k, raw in enumerate(modifiers):
        mod, mpath = normalize_procedure(raw), f"{path}.modifiers[{k}]"
        if mod in seen:
            msg = f"Modifier {mod} is repeated on {code}: list each modifier once."
            issues.append(CodingIssue(mpath, mod, "modifier.duplicate", msg))
        elif not is_modifier(mod):
            msg = (
                f"{mod or '(blank)'} on {code} is not a CPT or HCPCS modifier: check for a typo "
                "(e.g. 25, 59, XS, LT, RT) or remove it."
            )
            issues.append(CodingIssue(mpath, mod, "modifier.unknown", msg))
        seen.add(mod)
    return issues


def _check_pointers(pointers: list[int], path: str, code: str, n_dx: int) -> list[CodingIssue]:
    ppath = f"{path}.pointers"
    if not pointers:
        msg = (
            f"{code} points at no diagnosis: add 1 to {MAX_POINTERS} diagnosis pointers, the "
            "primary reason for the service first."
        )
        return [CodingIssue(ppath, code, "pointer.missing", msg)]
    issues: list[CodingIssue] = []
    if len(pointers) > MAX_POINTERS:
        msg = (
            f"{code} has {len(pointers)} diagnosis pointers: a claim line takes at most "
            f"{MAX_POINTERS}; keep the diagnoses that best support it."
        )
        issues.append(CodingIssue(ppath, code, "pointer.too_many", msg))
    seen: set[int] = set()
    for k, p in enumerate(pointers):
        if not _is_int_in(p, 1, n_dx):
            fix = f"use a number from 1 to {n_dx}" if n_dx else "code the diagnoses first"
            msg = f"{code} points at diagnosis {p!r}, but {n_dx} diagnoses are listed: {fix}."
            issues.append(CodingIssue(f"{ppath}[{k}]", code, "pointer.out_of_range", msg))
        elif p in seen:
            msg = f"{code} points at diagnosis {p} more than once: list each pointer once."
            issues.append(CodingIssue(f"{ppath}[{k}]", code, "pointer.duplicate", msg))
        else:
            seen.add(p)
    return issues


def _check_evidence(
    evidence: list[Evidence], path: str, code: str, document_ids: set[str], required: bool
) -> list[CodingIssue]:
    named = code or "(blank)"
    if not evidence:
        msg = (
            f"{named} has no supporting evidence: link the excerpt of the record that documents it."
        )
        return [CodingIssue(f"{path}.evidence", code, "evidence.missing", msg)] if required else []
    return [
        CodingIssue(
            f"{path}.evidence[{k}].document_id",
            code,
            "evidence.unknown_document",
            f"Evidence for {named} cites document {ev.document_id!r}, which is not part of this "
            "encounter: cite an excerpt from one of its documents.",
        )
        for k, ev in enumerate(evidence)
        if ev.document_id not in document_ids
    ]
