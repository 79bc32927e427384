"""Revenue-cycle metrics (``GET /v1/metrics/revenue``) from plain fact rows.

The repositories turn projection rows into these facts; the formulas live here so the API, the
dashboards and the tests agree. A rate whose denominator is zero is ``None`` (no data), not 0.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

CODING_ATTRIBUTABLE: Final = frozenset({"coding", "bundling"})
"""Root causes a coder controls: wrong codes and unbundled pairs / missing NCCI modifiers."""
RECOVERING_DECISIONS: Final = frozenset({"overturned", "partial"})


@dataclass(frozen=True)
class ScrubFact:
    """One scrub run of a claim; ``attempt`` 1 is the first scrub of the coder's submission."""

    claim_id: str
    attempt: int = 1
    rules: list[str] = field(default_factory=list)
    hard: bool = False


@dataclass(frozen=True)
class ClaimFact:
    claim_id: str
    payer: str = ""
    submitted: bool = False
    remitted: bool = False
    rejections_277ca: int = 0


@dataclass(frozen=True)
class DenialFact:
    """One denial (claim or line); contractual/patient-share adjustments are not recorded."""

    denial_id: str
    claim_id: str = ""
    payer: str = ""
    category: str = "other"
    amount_cents: int = 0


@dataclass(frozen=True)
class AppealFact:
    appeal_id: str
    denial_id: str = ""
    decision: str | None = None
    recovered_cents: int = 0


@dataclass(frozen=True)
class VarianceFact:
    """One remitted line with an expected amount from the tenant fee schedule."""

    claim_id: str
    line: int | None = None
    payer: str = ""
    expected_cents: int = 0
    paid_cents: int = 0
    patient_responsibility_cents: int = 0

    @property
    def variance_cents(self) -> int:
        return self.expected_cents - self.paid_cents - self.patient_responsibility_cents


@dataclass(frozen=True)
class RevenueMetrics:
    """Every rate is a fraction in [0, 1] or ``None``; money is in cents."""

    claims_scrubbed: int
    claim_edit_rate: float | None = None
    edit_rate_by_rule: dict[str, float] = field(default_factory=dict)
    claims_submitted: int = 0
    first_pass_clean_claim_rate: float | None = None
    claims_remitted: int = 0
    denial_rate: float | None = None
    denial_rate_by_payer: dict[str, float | None] = field(default_factory=dict)
    denial_rate_by_root_cause: dict[str, float] = field(default_factory=dict)
    coding_denial_rate: float | None = None
    denial_volume: int = 0
    denial_volume_by_root_cause: dict[str, int] = field(default_factory=dict)
    denial_volume_by_payer: dict[str, int] = field(default_factory=dict)
    denial_volume_by_payer_and_root_cause: dict[str, dict[str, int]] = field(default_factory=dict)
    appeal_volume: int = 0
    appeals_decided: int = 0
    overturn_rate: float | None = None
    recovered_cents: int = 0
    payment_variance_cents: int = 0
    underpaid_cents: int = 0
    overpaid_cents: int = 0
    payment_variance_by_payer: dict[str, int] = field(default_factory=dict)
    rework_volume: int = 0
    reworked_claims: int = 0


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def revenue_metrics(
    scrubs: Iterable[ScrubFact] = (),
    claims: Iterable[ClaimFact] = (),
    denials: Iterable[DenialFact] = (),
    appeals: Iterable[AppealFact] = (),
    variances: Iterable[VarianceFact] = (),
) -> RevenueMetrics:
    """Compute the revenue metrics.

    - claim edit rate = claims whose first scrub raised any edit / claims scrubbed; by rule, the
      same with "raised that rule". The first scrub measures the coder's output, not the rework.
    - first-pass clean-claim rate = submitted claims whose first scrub had no hard edit and that
      had no 277CA rejection / claims submitted. A claim with no scrub record is not clean.
    - denial rate = remitted claims with at least one denial / claims remitted; by payer over
      that payer's remitted claims; by root cause, claims with a denial of that cause.
    - coding-attributable denial rate = remitted claims with a coding or bundling denial /
      claims remitted.
    - denial volume = denials (claim or line), by root cause, payer and both.
    - overturn rate = appeals decided overturned or partial / appeals decided; recovered = sum.
    - payment variance = Σ (expected − paid − patient responsibility) over lines; underpaid and
      overpaid are the positive and negative parts, so they do not cancel out of sight.
    - rework volume = returns to the coder: scrubs with a hard edit + 277CA rejections.
    """
    scrubs, claims, denials = list(scrubs), list(claims), list(denials)
    appeals, variances = list(appeals), list(variances)

    first: dict[str, ScrubFact] = {}
    for s in sorted(scrubs, key=lambda s: s.attempt):
        first.setdefault(s.claim_id, s)
    rule_claims = Counter(r for s in first.values() for r in set(s.rules))
    edited = sum(1 for s in first.values() if s.rules or s.hard)
    scrubbed = len(first)

    submitted = [c for c in claims if c.submitted]
    clean = sum(
        1
        for c in submitted
        if c.claim_id in first and not first[c.claim_id].hard and c.rejections_277ca == 0
    )

    remitted = {c.claim_id: c for c in claims if c.remitted}
    remitted_denials = [d for d in denials if d.claim_id in remitted]
    denied_claims = {d.claim_id for d in remitted_denials}
    by_cause_claims: dict[str, set[str]] = defaultdict(set)
    for d in remitted_denials:
        by_cause_claims[d.category].add(d.claim_id)
    coding_claims = {d.claim_id for d in remitted_denials if d.category in CODING_ATTRIBUTABLE}
    payers = Counter(c.payer for c in remitted.values())
    denied_by_payer = Counter(remitted[cid].payer for cid in denied_claims)
    cross: dict[str, Counter[str]] = defaultdict(Counter)
    for d in denials:
        cross[d.payer][d.category] += 1

    decided = [a for a in appeals if a.decision is not None]
    overturned = sum(1 for a in decided if a.decision in RECOVERING_DECISIONS)

    by_payer_variance: Counter[str] = Counter()
    for v in variances:
        by_payer_variance[v.payer] += v.variance_cents

    hard_scrubs = [s for s in scrubs if s.hard]
    rejected = [c for c in claims if c.rejections_277ca]
    return RevenueMetrics(
        claims_scrubbed=scrubbed,
        claim_edit_rate=_rate(edited, scrubbed),
        edit_rate_by_rule={r: n / scrubbed for r, n in sorted(rule_claims.items())},
        claims_submitted=len(submitted),
        first_pass_clean_claim_rate=_rate(clean, len(submitted)),
        claims_remitted=len(remitted),
        denial_rate=_rate(len(denied_claims), len(remitted)),
        denial_rate_by_payer={p: _rate(denied_by_payer[p], n) for p, n in sorted(payers.items())},
        denial_rate_by_root_cause={
            k: len(v) / len(remitted) for k, v in sorted(by_cause_claims.items())
        },
        coding_denial_rate=_rate(len(coding_claims), len(remitted)),
        denial_volume=len(denials),
        denial_volume_by_root_cause=dict(sorted(Counter(d.category for d in denials).items())),
        denial_volume_by_payer=dict(sorted(Counter(d.payer for d in denials).items())),
        denial_volume_by_payer_and_root_cause={
            p: dict(sorted(c.items())) for p, c in cross.items()
        },
        appeal_volume=len(appeals),
        appeals_decided=len(decided),
        overturn_rate=_rate(overturned, len(decided)),
        recovered_cents=sum(a.recovered_cents for a in decided),
        payment_variance_cents=sum(v.variance_cents for v in variances),
        underpaid_cents=sum(v.variance_cents for v in variances if v.variance_cents > 0),
        overpaid_cents=-sum(v.variance_cents for v in variances if v.variance_cents < 0),
        payment_variance_by_payer=dict(sorted(by_payer_variance.items())),
        rework_volume=len(hard_scrubs) + sum(c.rejections_277ca for c in claims),
        reworked_claims=len({s.claim_id for s in hard_scrubs} | {c.claim_id for c in rejected}),
    )
