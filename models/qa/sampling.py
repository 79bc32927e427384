"""Reproducible QA audit samples: universe filter, sample size, allocation and the draw.

An audit must be re-drawable and provably identical, so everything here is a pure function of
(frame, plan): the frame is sorted by encounter id, fingerprinted, and drawn with
`random.Random(seed)`. Changing the draw algorithm changes every historical sample, so the
algorithm carries a version (`SAMPLING_ALGORITHM`) stored with each sample; bump it, never
edit v1 in place.
"""

import hashlib
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from statistics import NormalDist, pstdev
from typing import Final, Literal

SAMPLING_ALGORITHM: Final = "v1"

Method = Literal["simple_random", "stratified", "census"]
StrataKey = Literal["vendor", "coder", "specialty", "payer", "risk"]
Allocation = Literal["proportional", "equal", "neyman"]
Rounding = Literal["up", "nearest"]

# Risk flags, in the precedence used to put a multi-flag chart in one `risk` stratum.
RISK_FLAGS: Final[tuple[str, ...]] = ("high_dollar", "99215", "mod25", "mod59")
NO_RISK: Final = "none"
DEFAULT_HIGH_DOLLAR_CENTS: Final = 500_000  # $5,000; tenants override
# 59 and its X{EPSU} subsets all assert a distinct procedural service (NCCI manual ch. I).
_MOD59_FAMILY: Final = frozenset({"59", "XE", "XS", "XP", "XU"})


@dataclass(frozen=True)
class FrameItem:
    """One chart in the audit universe; only what filtering and stratifying need."""

    encounter_id: str
    vendor: str
    coder: str
    specialty: str
    payer: str
    service_date: str  # ISO 8601 date; ISO strings compare in date order
    risk_flags: list[str] = field(default_factory=list)
    charge_cents: int = 0


@dataclass(frozen=True)
class UniverseFilter:
    """Empty lists mean "any"; `risk_flags` keeps a chart carrying at least one of them."""

    date_from: str | None = None
    date_to: str | None = None  # inclusive
    vendors: list[str] = field(default_factory=list)
    coders: list[str] = field(default_factory=list)
    specialties: list[str] = field(default_factory=list)
    payers: list[str] = field(default_factory=list)
    risk_flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SamplingPlan:
    method: Method
    seed: int
    size: int | None = None  # None: computed by attribute_sample_size
    confidence: float = 0.95
    precision: float = 0.05
    expected_error_rate: float | None = None  # None: 0.5, the most conservative
    strata_key: StrataKey | None = None
    allocation: Allocation = "proportional"
    universe: UniverseFilter = field(default_factory=UniverseFilter)


@dataclass(frozen=True)
class Sample:
    encounter_ids: list[str]  # sorted
    per_stratum: dict[str, int]
    frame_fingerprint: str
    frame_size: int
    seed: int
    method: Method
    algorithm: str = SAMPLING_ALGORITHM


def risk_flags(
    codes: Iterable[str],
    modifiers: Iterable[str],
    charge_cents: int,
    high_dollar_threshold: int = DEFAULT_HIGH_DOLLAR_CENTS,
) -> list[str]:
    """The audit-risk flags of one chart, in `RISK_FLAGS` order."""
    code_set = {c.strip().upper() for c in codes}
    mods = {m.strip().upper() for m in modifiers}
    found = {
        "high_dollar": charge_cents >= high_dollar_threshold,
        "99215": "99215" in code_set,
        "mod25": "25" in mods,
        "mod59": bool(mods & _MOD59_FAMILY),
    }
    return [flag for flag in RISK_FLAGS if found[flag]]


def apply_filter(items: Iterable[FrameItem], f: UniverseFilter) -> list[FrameItem]:
    def keep(item: FrameItem) -> bool:
        return (
            (f.date_from is None or item.service_date >= f.date_from)
            and (f.date_to is None or item.service_date <= f.date_to)
            and (not f.vendors or item.vendor in f.vendors)
            and (not f.coders or item.coder in f.coders)
            and (not f.specialties or item.specialty in f.specialties)
            and (not f.payers or item.payer in f.payers)
            and (not f.risk_flags or bool(set(item.risk_flags) & set(f.risk_flags)))
        )

    return [item for item in items if keep(item)]


def attribute_sample_size(
    population: int,
    confidence: float = 0.95,
    precision: float = 0.05,
    expected_error_rate: float | None = None,
    rounding: Rounding = "up",
) -> int:
    """Cochran's attribute sample size with the finite population correction.

    n0 = z² p(1−p) / E², n = n0 / (1 + (n0 − 1) / N). "up" (the default) guarantees the
    precision target; "nearest" reproduces published tables such as Krejcie & Morgan (1970).
    """
    if population < 0:
        raise ValueError("population must not be negative")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    if not 0 < precision < 1:
        raise ValueError("precision must be between 0 and 1")
    p = 0.5 if expected_error_rate is None else expected_error_rate
    if not 0 <= p <= 1:
        raise ValueError("expected_error_rate must be between 0 and 1")
    if population == 0:
        return 0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n0 = z * z * p * (1 - p) / (precision * precision)
    n = n0 / (1 + (n0 - 1) / population)
    # Round away float noise (e.g. 80.0000000001) before taking the ceiling.
    size = math.ceil(round(n, 9)) if rounding == "up" else math.floor(n + 0.5)
    return max(1, min(population, size))


def frame_fingerprint(items: Iterable[FrameItem]) -> str:
    """sha256 of the canonical frame: items sorted by id, keys sorted, flags sorted."""
    canonical = [
        {**asdict(item), "risk_flags": sorted(item.risk_flags)}
        for item in sorted(items, key=lambda i: i.encounter_id)
    ]
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def stratum_of(item: FrameItem, key: StrataKey) -> str:
    """A chart's stratum; a multi-flag chart goes to its highest-precedence risk flag."""
    if key != "risk":
        value: str = getattr(item, key)
        return value
    ranked = sorted(item.risk_flags, key=lambda f: (_rank(f), f))
    return ranked[0] if ranked else NO_RISK


def _rank(flag: str) -> int:
    return RISK_FLAGS.index(flag) if flag in RISK_FLAGS else len(RISK_FLAGS)


def allocate(
    stratum_sizes: Mapping[str, int],
    size: int,
    allocation: Allocation = "proportional",
    weights: Mapping[str, float] | None = None,
) -> dict[str, int]:
    """Split `size` across strata so the parts sum exactly to min(size, population).

    Largest-remainder (Hamilton) rounding on exact fractions; each non-empty stratum gets at
    least one chart when the size allows, and no stratum gets more than it holds. Neyman
    weights N_h·S_h come from `weights` (S_h per stratum); all-zero weights fall back to
    proportional.
    """
    strata = sorted(k for k, n in stratum_sizes.items() if n > 0)
    total = sum(stratum_sizes[k] for k in strata)
    n = max(0, min(size, total))
    weight: dict[str, Fraction] = {}
    for k in strata:
        if allocation == "equal":
            weight[k] = Fraction(1)
        elif allocation == "neyman" and weights is not None:
            weight[k] = stratum_sizes[k] * Fraction(weights.get(k, 0.0))
        else:
            weight[k] = Fraction(stratum_sizes[k])
    if strata and sum(weight.values()) == 0:
        weight = {k: Fraction(stratum_sizes[k]) for k in strata}
    w_total = sum(weight.values(), Fraction(0))
    quota = {k: n * weight[k] / w_total for k in strata} if w_total else {}
    floor_of = 1 if n >= len(strata) else 0
    alloc = {k: min(stratum_sizes[k], max(floor_of, math.floor(quota[k]))) for k in strata}
    while sum(alloc.values()) > n:  # only after the at-least-one bumps
        k = max((k for k in strata if alloc[k] > floor_of), key=lambda k: (alloc[k] - quota[k], k))
        alloc[k] -= 1
    while sum(alloc.values()) < n:
        open_ = [k for k in strata if alloc[k] < stratum_sizes[k]]
        k = max(open_, key=lambda k: (quota[k] - alloc[k], -strata.index(k)))
        alloc[k] += 1
    return {k: alloc[k] for k in strata}


def resolve_size(plan: SamplingPlan, population: int) -> int:
    if plan.method == "census":
        return population
    if plan.size is not None:
        return min(plan.size, population)
    return attribute_sample_size(
        population, plan.confidence, plan.precision, plan.expected_error_rate
    )


def validate_plan(plan: SamplingPlan) -> list[str]:
    errors: list[str] = []
    if plan.method not in ("simple_random", "stratified", "census"):
        errors.append(f"unknown method {plan.method!r}")
    if plan.method == "stratified" and plan.strata_key is None:
        errors.append("stratified sampling needs a strata_key")
    if plan.size is not None and plan.size < 0:
        errors.append("size must not be negative")
    if plan.allocation not in ("proportional", "equal", "neyman"):
        errors.append(f"unknown allocation {plan.allocation!r}")
    return errors


def draw_sample(frame: Sequence[FrameItem], plan: SamplingPlan) -> Sample:
    """Filter, fingerprint and draw (algorithm v1); same frame + plan → same sample."""
    if errors := validate_plan(plan):
        raise ValueError("; ".join(errors))
    items = sorted(apply_filter(frame, plan.universe), key=lambda i: i.encounter_id)
    ids = [i.encounter_id for i in items]
    if len(set(ids)) != len(ids):
        raise ValueError("the frame lists an encounter more than once")
    n = resolve_size(plan, len(items))
    rng = random.Random(plan.seed)
    key = plan.strata_key
    if plan.method == "stratified" and key is not None:
        groups: dict[str, list[FrameItem]] = {}
        for item in items:
            groups.setdefault(stratum_of(item, key), []).append(item)
        spread = {k: pstdev([i.charge_cents for i in g]) for k, g in groups.items()}
        per_stratum = allocate({k: len(g) for k, g in groups.items()}, n, plan.allocation, spread)
        chosen = [
            item.encounter_id
            for k in sorted(groups)
            for item in rng.sample(groups[k], per_stratum[k])
        ]
    else:
        picked = items if plan.method == "census" else rng.sample(items, n)
        chosen = [i.encounter_id for i in picked]
        per_stratum = _count_strata(picked, key)
    return Sample(
        encounter_ids=sorted(chosen),
        per_stratum=per_stratum,
        frame_fingerprint=frame_fingerprint(items),
        frame_size=len(items),
        seed=plan.seed,
        method=plan.method,
    )


def _count_strata(items: Sequence[FrameItem], key: StrataKey | None) -> dict[str, int]:
    if key is None:
        return {"all": len(items)}
    counts: dict[str, int] = {}
    for item in items:
        counts[stratum_of(item, key)] = counts.get(stratum_of(item, key), 0) + 1
    return dict(sorted(counts.items()))


def verify_sample(frame: Sequence[FrameItem], plan: SamplingPlan, sample: Sample) -> list[str]:
    """Re-draw and list every difference; an empty list proves the sample is reproducible."""
    if sample.algorithm != SAMPLING_ALGORITHM:
        return [f"sample used algorithm {sample.algorithm}, this code draws {SAMPLING_ALGORITHM}"]
    again = draw_sample(frame, plan)
    problems: list[str] = []
    if again.frame_fingerprint != sample.frame_fingerprint:
        problems.append("the frame differs from the one the sample was drawn from")
    if again.encounter_ids != sample.encounter_ids:
        problems.append("the re-drawn encounters differ")
    if again.per_stratum != sample.per_stratum:
        problems.append("the per-stratum counts differ")
    return problems


def select_double_review(encounter_ids: Sequence[str], share: float, seed: int) -> list[str]:
    """The blind second-review subset: ceil(share × n) charts, seeded like the sample."""
    if not 0 <= share <= 1:
        raise ValueError("share must be between 0 and 1")
    ordered = sorted(set(encounter_ids))
    k = math.ceil(round(share * len(ordered), 9))
    return sorted(random.Random(f"double-review:{seed}").sample(ordered, k))
