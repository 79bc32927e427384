"""Appeal rules: deadlines per payer and level, warnings, appealability, decisions.

Medicare counts each level's window from *receipt* of the prior notice, and receipt is presumed
5 days after the notice date (42 CFR 405.942, 405.962, 405.1002). No weekend roll-forward is
applied: the earlier, conservative date is the one the workflow's timers aim for.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Final, Literal

PayerKind = Literal["medicare", "medicaid", "commercial"]
MEDICARE_LEVELS: Final = ["redetermination", "reconsideration", "alj", "council", "judicial"]
COMMERCIAL_LEVELS: Final = ["first_level", "second_level", "external"]


@dataclass(frozen=True)
class AppealDeadlineRule:
    """``days`` to file counted from the notice date plus ``receipt_presumption_days``.

    ``payer_id`` (optional) makes the rule specific to one payer's contract.
    """

    payer_kind: PayerKind
    level: str = "first_level"
    days: int = 180
    receipt_presumption_days: int = 0
    payer_id: str | None = None


@dataclass(frozen=True)
class AppealDeadlinePolicy:
    """Rules per payer kind and level; anything unlisted uses ``default_days`` (tenant setting)."""

    rules: list[AppealDeadlineRule] = field(default_factory=list)
    default_days: int = 180
    version: str = "builtin-1"

    def rule_for(
        self, payer_kind: PayerKind, level: str, payer_id: str | None
    ) -> AppealDeadlineRule:
        """Most specific rule: this payer's own, then the payer kind's, then the default."""
        matches = [r for r in self.rules if r.payer_kind == payer_kind and r.level == level]
        for r in matches:
            if payer_id is not None and r.payer_id == payer_id:
                return r
        for r in matches:
            if r.payer_id is None:
                return r
        return AppealDeadlineRule(payer_kind, level, self.default_days)


DEFAULT_APPEAL_POLICY: Final = AppealDeadlinePolicy(
    [
        AppealDeadlineRule("medicare", "redetermination", 120, 5),
        AppealDeadlineRule("medicare", "reconsideration", 180, 5),
        AppealDeadlineRule("medicare", "alj", 60, 5),
        AppealDeadlineRule("medicare", "council", 60, 5),
        AppealDeadlineRule("medicare", "judicial", 60, 5),
    ]
)


def appeal_deadline(
    notice_date: date,
    payer_kind: PayerKind,
    level: str,
    policy: AppealDeadlinePolicy = DEFAULT_APPEAL_POLICY,
    *,
    payer_id: str | None = None,
) -> date:
    """Last day to file: notice date + presumed receipt days + the level's window."""
    rule = policy.rule_for(payer_kind, level, payer_id)
    return notice_date + timedelta(days=rule.receipt_presumption_days + rule.days)


def warning_dates(
    deadline: date, offsets: Iterable[int] = (30, 14, 7, 1), *, today: date | None = None
) -> list[date]:
    """Dates to warn before the deadline, earliest first; past ones dropped when ``today`` given."""
    dates = sorted({deadline - timedelta(days=d) for d in offsets if d > 0})
    return [d for d in dates if today is None or d >= today]


NOT_APPEALABLE_CARCS: Final[dict[str, str]] = {
    "29": "timely filing limit expired (CARC 29): not appealable on merit; if a clearinghouse "
    "acceptance report proves timely submission, ask for a reopening, otherwise write off",
}
NOT_APPEALABLE_RARCS: Final[dict[str, str]] = {
    "MA130": "unprocessable claim (MA130) has no appeal rights: correct it and submit a new claim",
}


def appealable(carcs: Iterable[str], rarcs: Iterable[str] = ()) -> tuple[bool, str]:
    """Whether a denial can be appealed at all, with the reason a person can act on."""
    for code in carcs:
        if code.strip() in NOT_APPEALABLE_CARCS:
            return False, NOT_APPEALABLE_CARCS[code.strip()]
    for code in rarcs:
        if code.strip().upper() in NOT_APPEALABLE_RARCS:
            return False, NOT_APPEALABLE_RARCS[code.strip().upper()]
    return True, "appealable"


@dataclass(frozen=True)
class AppealRefusal:
    """Why a denial cannot be appealed now: `kind` lets each caller answer in its own terms."""

    kind: Literal["not_appealable", "already_open", "deadline_passed"]
    message: str


def appeal_refusal(
    *,
    appealable: bool,
    appeal_open: bool,
    not_appealable_reason: str | None = None,
    deadline: date | None = None,
    today: date | None = None,
) -> AppealRefusal | None:
    """The one eligibility rule for filing an appeal; None when it may be filed.

    The deadline is checked only when `today` is given (a workflow validator has no clock)."""
    if not appealable:
        why = not_appealable_reason or "e.g. timely filing, CARC 29"
        return AppealRefusal("not_appealable", f"this denial is not appealable: {why}")
    if appeal_open:
        return AppealRefusal("already_open", "an appeal is already open for this denial; record its decision first")
    if today is not None and (deadline is None or deadline < today):
        return AppealRefusal("deadline_passed", f"the appeal deadline ({deadline}) has passed")
    return None


class AppealDecision(StrEnum):
    OVERTURNED = "overturned"
    UPHELD = "upheld"
    PARTIAL = "partial"


AppealStatus = Literal["open", "decided", "withdrawn"]


@dataclass(frozen=True)
class AppealRecord:
    appeal_id: str
    denial_id: str = ""
    level: str = "first_level"
    status: AppealStatus = "open"
    decision: AppealDecision | None = None
    recovered_cents: int = 0


def one_open_appeal(denial_id: str, appeals: Sequence[AppealRecord]) -> tuple[bool, str]:
    """A denial may have only one open appeal; the next level waits for the current decision."""
    for a in appeals:
        if a.denial_id == denial_id and a.status == "open":
            return False, f"appeal {a.appeal_id} ({a.level}) is still open for this denial"
    if any(a.denial_id == denial_id and a.decision == AppealDecision.OVERTURNED for a in appeals):
        return False, "this denial was already overturned; nothing left to appeal"
    return True, "no open appeal"


def next_level(payer_kind: PayerKind, decided: Sequence[AppealRecord]) -> str | None:
    """The level after the highest one already decided, or ``None`` when none is left."""
    levels = MEDICARE_LEVELS if payer_kind == "medicare" else COMMERCIAL_LEVELS
    done = [levels.index(a.level) for a in decided if a.level in levels]
    nxt = max(done, default=-1) + 1
    return levels[nxt] if nxt < len(levels) else None


@dataclass(frozen=True)
class AppealOutcome:
    decision: AppealDecision
    recovered_cents: int = 0


def decide(outcome: AppealDecision, recovered_cents: int, disputed_cents: int) -> AppealOutcome:
    """Validate a decision's amount against its outcome before it is recorded.

    Upheld recovers nothing; partial recovers something but less than disputed; overturned may
    recover up to the disputed amount (zero when the payer reprocesses and pays later).
    """
    if recovered_cents < 0 or recovered_cents > disputed_cents:
        raise ValueError(f"recovered amount must be between 0 and {disputed_cents} cents")
    if outcome == AppealDecision.UPHELD and recovered_cents:
        raise ValueError("an upheld denial recovers nothing; use 'partial'")
    if outcome == AppealDecision.PARTIAL and not 0 < recovered_cents < disputed_cents:
        raise ValueError(
            "a partial decision recovers more than 0 and less than the disputed amount"
        )
    return AppealOutcome(outcome, recovered_cents)
