"""Audit findings: the coder-vs-auditor diff, and the rebuttal lifecycle before a finding counts.

QA audits are for coaching, so a finding must say why (a guideline reference and a rationale)
and the coder gets to agree or dispute before it is final. Only final, non-withdrawn findings
count in scores (models.qa.scores).
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

FindingKind = Literal[
    "added", "deleted", "changed", "sequencing", "modifier", "em_level", "poa", "units"
]
CodeType = Literal["dx", "px"]
Direction = Literal["over", "under", "none", "unknown"]
FindingCategory = Literal[
    "principal_dx_selection",
    "specificity",
    "missed_secondary_dx",
    "missed_procedure",
    "procedure_code_selection",
    "unsupported_code",
    "em_level",
    "modifier_usage",
    "poa",
    "units",
    "sequencing",
    "ncci_bundling",
    "documentation",
]
FINDING_CATEGORIES: Final[frozenset[str]] = frozenset(get_args(FindingCategory))
Severity = Literal["low", "medium", "high"]
ReferenceKind = Literal[
    "official_guidelines", "coding_clinic", "payer_policy", "ncci_manual", "cpt_assistant"
]
REFERENCE_KINDS: Final[frozenset[str]] = frozenset(get_args(ReferenceKind))
FindingState = Literal["open", "agreed", "disputed", "reconciled", "final"]
Outcome = Literal["upheld", "revised", "withdrawn"]
FindingAction = Literal["agree", "dispute", "reconcile", "finalize", "lapse"]
Role = Literal["coder", "auditor", "system"]

# Modifiers that unlock or raise payment vs ones that reduce it: the sign of a modifier error.
_UNLOCKING: Final = frozenset({"22", "25", "50", "59", "76", "77", "91", "XE", "XP", "XS", "XU"})
_REDUCING: Final = frozenset({"26", "52", "53", "TC"})
# E/M code -> (family, level, rank within level): at one level, new/initial pays more.
_EM: Final[dict[str, tuple[str, int, int]]] = {
    **{f"9920{lv}": ("office", lv, 1) for lv in range(2, 6)},
    **{f"9921{lv}": ("office", lv, 0) for lv in range(1, 6)},
    **{f"9922{lv}": ("inpatient", lv, 1) for lv in range(1, 4)},
    **{f"9923{lv}": ("inpatient", lv, 0) for lv in range(1, 4)},
    **{f"9928{lv}": ("ed", lv, 0) for lv in range(1, 6)},
}


@dataclass(frozen=True)
class DxCode:
    code: str
    poa: str | None = None  # Y, N, U, W, 1 (exempt), or None when not reported


@dataclass(frozen=True)
class PxCode:
    code: str
    modifiers: list[str] = field(default_factory=list)
    units: int = 1


@dataclass(frozen=True)
class ChartCoding:
    diagnoses: list[DxCode] = field(default_factory=list)  # first = principal / first-listed
    procedures: list[PxCode] = field(default_factory=list)


@dataclass(frozen=True)
class FindingDraft:
    """One difference; `line` indexes the paired code lines, so scores count lines not drafts."""

    kind: FindingKind
    code_type: CodeType
    coder_code: str | None
    auditor_code: str | None
    financial_direction: Direction
    line: int


@dataclass(frozen=True)
class CodingDiff:
    lines_reviewed: int  # coder and auditor lines after pairing; a changed code is one line
    drafts: list[FindingDraft]


def _norm(code: str) -> str:
    return code.strip().upper().replace(".", "")


def _pair(
    c: list[str], a: list[str], *rules: Callable[[str, str], bool], principal: bool = False
) -> list[tuple[int | None, int | None]]:
    """Pair coder and auditor codes rule by rule (exact match first), in coder order.

    With `principal`, two unmatched first-listed codes still pair: the auditor chose a
    different principal diagnosis, which is one changed line rather than a delete and an add.
    """
    left_c, left_a = list(range(len(c))), list(range(len(a)))
    pairs: list[tuple[int | None, int | None]] = []
    for rule in rules:
        for i in list(left_c):
            j = next((j for j in left_a if rule(c[i], a[j])), None)
            if j is not None:
                pairs.append((i, j))
                left_c.remove(i)
                left_a.remove(j)
    if principal and c and a and left_c[:1] == left_a[:1] == [0]:
        pairs.append((0, 0))
        left_c.remove(0)
        left_a.remove(0)
    pairs += [(i, None) for i in left_c] + [(None, j) for j in left_a]
    return sorted(pairs, key=lambda p: (p[0] is None, p[0] or 0, p[1] or 0))


def _same_em_family(x: str, y: str) -> bool:
    return x in _EM and y in _EM and _EM[x][0] == _EM[y][0]


def _modifier_direction(coder: set[str], auditor: set[str]) -> Direction:
    extra, missing = coder - auditor, auditor - coder
    if not (extra | missing) & (_UNLOCKING | _REDUCING):
        return "none"
    score = len(extra & _UNLOCKING) - len(missing & _UNLOCKING)
    score += len(missing & _REDUCING) - len(extra & _REDUCING)
    return "over" if score > 0 else "under" if score < 0 else "unknown"


def compare_coding(coder: ChartCoding, auditor: ChartCoding) -> CodingDiff:
    """Pair the two codings line by line and list every difference as a draft finding."""
    drafts: list[FindingDraft] = []
    cd, ad = [_norm(d.code) for d in coder.diagnoses], [_norm(d.code) for d in auditor.diagnoses]
    dx_pairs = _pair(cd, ad, lambda x, y: x == y, lambda x, y: x[:3] == y[:3], principal=True)
    for line, (i, j) in enumerate(dx_pairs):
        c = coder.diagnoses[i] if i is not None else None
        a = auditor.diagnoses[j] if j is not None else None
        if c is not None and a is not None:
            if _norm(c.code) != _norm(a.code):
                drafts.append(FindingDraft("changed", "dx", c.code, a.code, "unknown", line))
            elif (c.poa or "").upper() != (a.poa or "").upper():
                drafts.append(FindingDraft("poa", "dx", c.code, a.code, "unknown", line))
        elif c is not None:
            drafts.append(FindingDraft("deleted", "dx", c.code, None, "over", line))
        elif a is not None:
            drafts.append(FindingDraft("added", "dx", None, a.code, "under", line))
    if cd and ad and cd[0] != ad[0] and cd[0] in ad and ad[0] in cd:  # principal swapped
        principals = coder.diagnoses[0].code, auditor.diagnoses[0].code
        drafts.insert(0, FindingDraft("sequencing", "dx", *principals, "unknown", 0))
    base = len(dx_pairs)
    cp, ap = [_norm(p.code) for p in coder.procedures], [_norm(p.code) for p in auditor.procedures]
    px_pairs = _pair(cp, ap, lambda x, y: x == y, _same_em_family, lambda x, y: x[:4] == y[:4])
    for offset, (i, j) in enumerate(px_pairs):
        line = base + offset
        pc = coder.procedures[i] if i is not None else None
        pa = auditor.procedures[j] if j is not None else None
        if pc is None or pa is None:
            if pc is not None:
                drafts.append(FindingDraft("deleted", "px", pc.code, None, "over", line))
            elif pa is not None:
                drafts.append(FindingDraft("added", "px", None, pa.code, "under", line))
            continue
        x, y = _norm(pc.code), _norm(pa.code)
        if x != y and _same_em_family(x, y):
            direction: Direction = "over" if _EM[x][1:] > _EM[y][1:] else "under"
            drafts.append(FindingDraft("em_level", "px", pc.code, pa.code, direction, line))
        elif x != y:
            drafts.append(FindingDraft("changed", "px", pc.code, pa.code, "unknown", line))
            continue
        mc, ma = {_norm(m) for m in pc.modifiers}, {_norm(m) for m in pa.modifiers}
        if mc != ma:
            direction = _modifier_direction(mc, ma)
            drafts.append(FindingDraft("modifier", "px", pc.code, pa.code, direction, line))
        if pc.units != pa.units:
            direction = "over" if pc.units > pa.units else "under"
            drafts.append(FindingDraft("units", "px", pc.code, pa.code, direction, line))
    return CodingDiff(lines_reviewed=base + len(px_pairs), drafts=drafts)


def diff_coding(coder: ChartCoding, auditor: ChartCoding) -> list[FindingDraft]:
    return compare_coding(coder, auditor).drafts


_DEFAULT_CATEGORY: Final[dict[tuple[FindingKind, CodeType], FindingCategory]] = {
    ("added", "dx"): "missed_secondary_dx",
    ("added", "px"): "missed_procedure",
    ("deleted", "dx"): "unsupported_code",
    ("deleted", "px"): "unsupported_code",
    ("changed", "dx"): "specificity",
    ("changed", "px"): "procedure_code_selection",
    ("sequencing", "dx"): "sequencing",
    ("em_level", "px"): "em_level",
    ("modifier", "px"): "modifier_usage",
    ("units", "px"): "units",
    ("poa", "dx"): "poa",
}


def default_category(draft: FindingDraft) -> FindingCategory:
    """A pre-filled category for the auditor's form; the auditor has the last word."""
    if draft.kind == "changed" and draft.code_type == "dx" and draft.line == 0:
        return "principal_dx_selection"
    return _DEFAULT_CATEGORY.get((draft.kind, draft.code_type), "documentation")


@dataclass(frozen=True)
class GuidelineReference:
    kind: ReferenceKind
    citation: str  # e.g. "ICD-10-CM OCG I.B.1", "Coding Clinic 3Q 2019 p.12"
    url: str = ""


@dataclass(frozen=True)
class FindingEvent:
    action: FindingAction
    actor_id: str
    role: Role
    at: datetime
    comment: str = ""
    outcome: Outcome | None = None  # reconcile only
    category: FindingCategory | None = None  # a revision may correct these
    severity: Severity | None = None


@dataclass(frozen=True)
class Finding:
    finding_id: str
    encounter_id: str
    coder_id: str
    auditor_id: str
    draft: FindingDraft
    category: FindingCategory
    severity: Severity
    reference: GuidelineReference | None
    rationale: str
    opened_at: datetime
    state: FindingState = "open"
    outcome: Outcome | None = None
    resolved_at: datetime | None = None
    events: list[FindingEvent] = field(default_factory=list)


class InvalidFinding(ValueError):
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


class FindingTransitionError(ValueError):
    """A rebuttal step the finding's state, the actor or the input does not allow."""


def validate_finding(f: Finding) -> list[str]:
    """Every finding must cite a guideline and explain itself; coaching needs the why."""
    errors: list[str] = []
    if f.reference is None:
        errors.append("a guideline reference is required")
    else:
        if f.reference.kind not in REFERENCE_KINDS:
            errors.append(f"reference kind must be one of {', '.join(sorted(REFERENCE_KINDS))}")
        if not f.reference.citation.strip():
            errors.append("the reference needs a citation (section, issue or policy number)")
    if not f.rationale.strip():
        errors.append("a rationale is required")
    if f.category not in FINDING_CATEGORIES:
        errors.append(f"unknown category {f.category!r}")
    if f.severity not in ("low", "medium", "high"):
        errors.append(f"unknown severity {f.severity!r}")
    if f.opened_at.tzinfo is None:
        errors.append("opened_at must carry a time zone")
    return errors


def open_finding(f: Finding) -> Finding:
    """Return the finding if valid, else raise InvalidFinding listing every problem."""
    if errors := validate_finding(f):
        raise InvalidFinding(errors)
    return f


# state -> action -> (roles allowed, next state)
_TRANSITIONS: Final[
    dict[FindingState, dict[FindingAction, tuple[frozenset[Role], FindingState]]]
] = {
    "open": {
        "agree": (frozenset({"coder"}), "agreed"),
        "dispute": (frozenset({"coder"}), "disputed"),
        "lapse": (frozenset({"system"}), "final"),  # rebuttal window closed unanswered
    },
    "agreed": {"finalize": (frozenset({"auditor", "system"}), "final")},
    "disputed": {"reconcile": (frozenset({"auditor"}), "reconciled")},
    "reconciled": {"finalize": (frozenset({"auditor", "system"}), "final")},
    "final": {},
}


def allowed_actions(state: FindingState) -> list[FindingAction]:
    return sorted(_TRANSITIONS[state])


def apply_event(f: Finding, e: FindingEvent) -> Finding:
    """The rebuttal lifecycle as one pure step; raises FindingTransitionError with the reason."""
    step = _TRANSITIONS[f.state].get(e.action)
    if step is None:
        allowed = ", ".join(allowed_actions(f.state)) or "none (the finding is final)"
        raise FindingTransitionError(
            f"cannot {e.action} a finding in state '{f.state}'; allowed: {allowed}"
        )
    roles, target = step
    if e.role not in roles:
        raise FindingTransitionError(f"only {' or '.join(sorted(roles))} may {e.action}")
    if e.role == "coder" and e.actor_id != f.coder_id:
        raise FindingTransitionError("only the coder who coded the chart may respond")
    last = f.events[-1].at if f.events else f.opened_at
    if e.at.tzinfo is None or e.at < last:
        raise FindingTransitionError("event time must be time-zone aware and not before the last")
    if e.action in ("dispute", "reconcile") and not e.comment.strip():
        raise FindingTransitionError(f"a comment is required to {e.action}")
    outcome, category, severity = f.outcome, f.category, f.severity
    if e.action == "reconcile":
        if e.outcome is None:
            raise FindingTransitionError("reconcile needs an outcome: upheld, revised or withdrawn")
        if e.outcome == "revised" and e.category is None and e.severity is None:
            raise FindingTransitionError("a revision must change the category or severity")
        outcome, category, severity = e.outcome, e.category or category, e.severity or severity
    return replace(
        f,
        state=target,
        events=[*f.events, e],
        outcome=outcome,
        category=category,
        severity=severity,
        resolved_at=e.at if target == "final" else f.resolved_at,
    )


def counts_as_error(f: Finding) -> bool:
    return f.state == "final" and f.outcome != "withdrawn"


def time_to_resolution(f: Finding) -> timedelta | None:
    return None if f.resolved_at is None else f.resolved_at - f.opened_at
