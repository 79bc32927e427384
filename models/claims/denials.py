"""Denial root causes from 835 adjustments, and payment variance against the fee schedule.

An 835 adjustment is a group code (CO, PR, OA, PI, CR) plus a CARC, refined by RARCs. Not every
adjustment is a denial: CO-45 is the contractual write-down to the allowed amount and PR-1/2/3
are the patient's deductible, coinsurance and copay. The CARC/RARC map is a versioned table the
operator can refresh (:meth:`CarcTable.from_rows`) as X12 publishes new codes.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Final, Literal


class DenialCategory(StrEnum):
    CODING = "coding"
    DOCUMENTATION = "documentation"
    ELIGIBILITY_REGISTRATION = "eligibility_registration"
    AUTHORIZATION = "authorization"
    MEDICAL_NECESSITY = "medical_necessity"
    TIMELY_FILING = "timely_filing"
    DUPLICATE = "duplicate"
    BUNDLING = "bundling"
    OTHER = "other"


GroupCode = Literal["CO", "PR", "OA", "PI", "CR"]


@dataclass(frozen=True)
class CarcEntry:
    """``category=None`` marks an adjustment that is not a denial (contractual, cost sharing).

    ``refinable`` lets a RARC name the cause of a generic CARC such as 16 or 96.
    """

    code: str
    category: DenialCategory | None = DenialCategory.OTHER
    refinable: bool = False


@dataclass(frozen=True)
class RarcEntry:
    code: str
    category: DenialCategory = DenialCategory.OTHER


_C, _D, _E, _A = "coding", "documentation", "eligibility_registration", "authorization"
_M, _T, _DUP, _B, _O = "medical_necessity", "timely_filing", "duplicate", "bundling", "other"
_BUILTIN_CARC: Final[dict[str, str]] = {
    "4": _C, "5": _C, "6": _C, "7": _C, "9": _C, "10": _C, "11": _C, "58": _C, "146": _C,
    "150": _C, "181": _C, "182": _C,
    "16": _O, "96": _O, "170": _O, "185": _O, "222": _O,
    "18": _DUP,
    "22": _E, "26": _E, "27": _E, "31": _E, "109": _E, "119": _E, "140": _E, "177": _E,
    "183": _E, "204": _E, "227": _E,
    "29": _T,
    "50": _M, "55": _M, "151": _M, "167": _M,
    "97": _B, "234": _B, "236": _B,
    "15": _A, "39": _A, "197": _A, "198": _A, "242": _A,
    "226": _D, "251": _D, "252": _D,
}  # fmt: skip
_NOT_DENIALS: Final = ["1", "2", "3", "23", "24", "45", "59", "66", "94", "144", "237", "253"]
"""Cost sharing (1/2/3/66), prior-payer impact (23), capitation (24), contractual (45),
multiple-procedure reduction (59), excess charges (94), incentive (144), penalties (237),
sequestration (253): adjustments, not denials."""
_REFINABLE: Final = {"16", "96", "252"}
_BUILTIN_RARC: Final[dict[str, str]] = {
    "N56": _C, "M51": _C, "M76": _C, "N657": _C,
    "M15": _B, "N20": _B, "M80": _B,
    "N290": _E, "N382": _E, "N30": _E, "MA04": _E, "N286": _E,
    "MA130": _O,
    "M127": _D,
    "N115": _M,
    "M86": _DUP,
}  # fmt: skip


@dataclass(frozen=True)
class CarcTable:
    """A versioned CARC/RARC → root cause map. Unknown CARCs are denials of category ``other``."""

    version: str
    entries: list[CarcEntry] = field(default_factory=list)
    rarc_entries: list[RarcEntry] = field(default_factory=list)

    @cached_property
    def _carc(self) -> dict[str, CarcEntry]:
        return {e.code: e for e in self.entries}

    @cached_property
    def _rarc(self) -> dict[str, DenialCategory]:
        return {e.code: e.category for e in self.rarc_entries}

    def carc(self, code: str) -> CarcEntry | None:
        return self._carc.get(code.strip().upper())

    def rarc(self, code: str) -> DenialCategory | None:
        return self._rarc.get(code.strip().upper())

    @classmethod
    def from_rows(cls, version: str, rows: Iterable[Mapping[str, str]]) -> "CarcTable":
        """Rows with ``kind`` (carc|rarc), ``code``, ``category`` (blank = not a denial),
        ``refinable`` (y/n). Unknown categories are rejected so a typo cannot hide a cause."""
        carcs: list[CarcEntry] = []
        rarcs: list[RarcEntry] = []
        for n, row in enumerate(rows, start=1):
            kind, code = row.get("kind", "carc").lower(), row["code"].strip().upper()
            raw = row.get("category", "").strip()
            try:
                category = DenialCategory(raw) if raw else None
            except ValueError as exc:
                raise ValueError(f"row {n}: unknown category {raw!r}") from exc
            if kind == "rarc":
                if category is None:
                    raise ValueError(f"row {n}: RARC {code} needs a category")
                rarcs.append(RarcEntry(code, category))
            else:
                refinable = row.get("refinable", "").strip().lower() in ("y", "yes", "true", "1")
                carcs.append(CarcEntry(code, category, refinable))
        return cls(version, carcs, rarcs)


DEFAULT_CARC_TABLE: Final = CarcTable(
    "builtin-1",
    [CarcEntry(c, DenialCategory(k), c in _REFINABLE) for c, k in _BUILTIN_CARC.items()]
    + [CarcEntry(c, None) for c in _NOT_DENIALS],
    [RarcEntry(c, DenialCategory(k)) for c, k in _BUILTIN_RARC.items()],
)

_PATIENT_SHARE: Final = {"1", "2", "3", "66"}


def categorize(
    group: str, carc: str, rarcs: Iterable[str] = (), table: CarcTable = DEFAULT_CARC_TABLE
) -> DenialCategory | None:
    """Root cause of one adjustment, or ``None`` when it is not a denial.

    Reversals (CR) and cost sharing (PR-1/2/3/66) are never denials; a CARC marked refinable
    takes the category of the first RARC the table knows.
    """
    group, carc = group.strip().upper(), carc.strip().upper()
    if group == "CR" or (group == "PR" and carc in _PATIENT_SHARE):
        return None
    entry = table.carc(carc)
    if entry is None:
        return DenialCategory.OTHER
    if entry.category is None:
        return None
    if entry.refinable:
        for code in rarcs:
            refined = table.rarc(code)
            if refined is not None:
                return refined
    return entry.category


def is_denial(
    group: str, carc: str, rarcs: Iterable[str] = (), table: CarcTable = DEFAULT_CARC_TABLE
) -> bool:
    return categorize(group, carc, rarcs, table) is not None


@dataclass(frozen=True)
class PaymentVariance:
    """``variance_cents`` > 0 means underpaid: less came in than the contract allows."""

    expected_cents: int
    paid_cents: int = 0
    patient_responsibility_cents: int = 0
    variance_cents: int = 0

    @property
    def status(self) -> Literal["underpaid", "overpaid", "exact"]:
        if self.variance_cents > 0:
            return "underpaid"
        return "overpaid" if self.variance_cents < 0 else "exact"


def payment_variance(
    expected_cents: int, paid_cents: int, patient_responsibility_cents: int = 0
) -> PaymentVariance:
    """Expected allowed amount minus what was actually collectable (payer paid + patient share)."""
    collected = paid_cents + patient_responsibility_cents
    return PaymentVariance(
        expected_cents, paid_cents, patient_responsibility_cents, expected_cents - collected
    )


def claim_variance(lines: Iterable[PaymentVariance]) -> PaymentVariance:
    """Per-claim variance is the sum of its lines, so line and claim figures always agree."""
    rows = list(lines)
    return PaymentVariance(
        sum(r.expected_cents for r in rows),
        sum(r.paid_cents for r in rows),
        sum(r.patient_responsibility_cents for r in rows),
        sum(r.variance_cents for r in rows),
    )


@dataclass(frozen=True)
class FeeScheduleEntry:
    """Contracted allowed amount per unit; ``payer="*"`` is the tenant default, ``modifier``
    a pricing modifier (26, TC, ...) or blank for the global rate."""

    payer: str
    code: str = ""
    modifier: str = ""
    amount_cents: int = 0
    effective_from: date = date(2000, 1, 1)
    effective_to: date | None = None


@dataclass(frozen=True)
class FeeSchedule:
    version: str
    entries: list[FeeScheduleEntry] = field(default_factory=list)

    @classmethod
    def from_rows(cls, version: str, rows: Iterable[Mapping[str, str]]) -> "FeeSchedule":
        """Rows with payer, code, modifier, amount_cents, effective_from, effective_to (ISO)."""
        return cls(
            version,
            [
                FeeScheduleEntry(
                    r["payer"],
                    r["code"],
                    r.get("modifier", ""),
                    int(r["amount_cents"]),
                    date.fromisoformat(r["effective_from"]),
                    date.fromisoformat(r["effective_to"]) if r.get("effective_to") else None,
                )
                for r in rows
            ],
        )


def expected_amount(
    fee_schedule: FeeSchedule,
    payer: str,
    code: str,
    modifiers: Iterable[str] = (),
    units: int = 1,
    on: date | None = None,
) -> int | None:
    """Expected allowed cents for a line, or ``None`` when no rate applies (never a guess).

    The payer's own rate beats the tenant default; a rate for a modifier on the line beats the
    global rate.
    """
    mods = set(modifiers)
    best: tuple[int, int] | None = None
    amount: int | None = None
    for e in fee_schedule.entries:
        if e.code != code or e.payer not in (payer, "*"):
            continue
        if on is not None and not (
            e.effective_from <= on and (e.effective_to is None or on <= e.effective_to)
        ):
            continue
        if e.modifier and e.modifier not in mods:
            continue
        rank = (int(e.payer == payer), int(bool(e.modifier)))
        if best is None or rank > best:
            best, amount = rank, e.amount_cents
    return None if amount is None else amount * units
