"""Query and hold metric formulas over plain fact rows.

Repositories turn SQL into these rows and the API renders the results; keeping the formulas here
means the dashboard, exports and tests agree on what "response rate" or "p90" means.
Percentiles use the nearest-rank method (the ceil(p/100 * n)-th smallest value), so every reported
time is one that actually happened; for an even count the median is the lower middle value.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from models.encounters.holds import (
    AGE_BUCKETS,
    DEFAULT_HOLD_ALERT_AFTER,
    HOLD_REASONS,
    age_bucket,
    hold_alert_at,
)

Dimension = Literal["physician", "service_line", "vendor"]
DIMENSIONS: tuple[Dimension, ...] = ("physician", "service_line", "vendor")


@dataclass(frozen=True)
class QueryFact:
    """One query. `confirmed_documented_option` is None when not answered or not applicable."""

    opened_at: datetime
    answered_at: datetime | None = None
    withdrawn_at: datetime | None = None
    physician: str = ""
    service_line: str = ""
    vendor: str = ""
    confirmed_documented_option: bool | None = None


@dataclass(frozen=True)
class HoldFact:
    """One hold; `charges_cents` is the chart's total charges when the row was read."""

    reason: str
    placed_at: datetime
    released_at: datetime | None = None
    charges_cents: int = 0
    encounter_id: str = ""


@dataclass(frozen=True)
class QueryStats:
    """Query figures for one scope; rates are 0..1 and None when their denominator is 0."""

    volume: int
    answered: int = 0
    withdrawn: int = 0
    open: int = 0
    response_rate: float | None = None
    median_hours_to_answer: float | None = None
    p90_hours_to_answer: float | None = None
    open_by_age: dict[str, int] = field(default_factory=dict)
    agreement_rate: float | None = None
    queries_per_100_charts: float | None = None


@dataclass(frozen=True)
class QueryMetrics:
    """Overall stats and the same stats per physician, service line and vendor."""

    overall: QueryStats
    by_physician: dict[str, QueryStats] = field(default_factory=dict)
    by_service_line: dict[str, QueryStats] = field(default_factory=dict)
    by_vendor: dict[str, QueryStats] = field(default_factory=dict)


@dataclass(frozen=True)
class HoldMetrics:
    """Hold figures; every known reason and age bucket is present, with zeros, for stable charts."""

    open_total: int
    open_by_reason_age: dict[str, dict[str, int]] = field(default_factory=dict)
    overdue_by_reason: dict[str, int] = field(default_factory=dict)
    cents_at_hold: int = 0
    cents_at_hold_by_reason: dict[str, int] = field(default_factory=dict)
    mean_hours_to_release: float | None = None
    mean_hours_to_release_by_reason: dict[str, float | None] = field(default_factory=dict)
    charts_with_holds: int = 0
    charts_with_repeat_holds: int = 0
    repeat_holds_per_chart: float | None = None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (0 < p <= 100); None for no values."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError("percentile p must be in (0, 100]")
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered) / 100), 1) - 1]  # p*n first: 0.7*10 > 7


def _ratio(num: int, den: int, scale: float = 1.0) -> float | None:
    return num * scale / den if den else None


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def query_stats(facts: Iterable[QueryFact], *, now: datetime, charts: int = 0) -> QueryStats:
    """Stats for one group of queries.

    Response rate is answered / (volume - withdrawn): a withdrawn query could not be answered.
    Agreement rate counts answers that picked a documented option among answers where that is
    known. `charts` is the number of charts coded in the same period and scope (0 = unknown).
    """
    rows = list(facts)
    answered = [f for f in rows if f.answered_at is not None]
    withdrawn = [f for f in rows if f.answered_at is None and f.withdrawn_at is not None]
    still_open = [f for f in rows if f.answered_at is None and f.withdrawn_at is None]
    waits = [_hours(f.answered_at - f.opened_at) for f in answered if f.answered_at is not None]
    aging = dict.fromkeys(AGE_BUCKETS, 0)
    for f in still_open:
        aging[age_bucket(now - f.opened_at)] += 1
    judged = [f.confirmed_documented_option for f in answered]
    agreed = sum(1 for j in judged if j is True)
    return QueryStats(
        volume=len(rows),
        answered=len(answered),
        withdrawn=len(withdrawn),
        open=len(still_open),
        response_rate=_ratio(len(answered), len(rows) - len(withdrawn)),
        median_hours_to_answer=percentile(waits, 50),
        p90_hours_to_answer=percentile(waits, 90),
        open_by_age=aging,
        agreement_rate=_ratio(agreed, sum(1 for j in judged if j is not None)),
        queries_per_100_charts=_ratio(len(rows), charts, 100.0),
    )


def query_metrics(
    facts: Iterable[QueryFact],
    *,
    now: datetime,
    charts: int = 0,
    charts_by: Mapping[Dimension, Mapping[str, int]] | None = None,
) -> QueryMetrics:
    """Overall stats plus the same stats per physician, service line and vendor.

    `charts_by[dimension][key]` gives the chart count behind each group's queries-per-100-charts.
    """
    rows = list(facts)
    counts = charts_by or {}

    def grouped(dim: Dimension) -> dict[str, QueryStats]:
        groups: dict[str, list[QueryFact]] = defaultdict(list)
        for f in rows:
            groups[getattr(f, dim)].append(f)
        per_key = counts.get(dim, {})
        return {
            key: query_stats(group, now=now, charts=per_key.get(key, 0))
            for key, group in sorted(groups.items())
        }

    return QueryMetrics(
        overall=query_stats(rows, now=now, charts=charts),
        by_physician=grouped("physician"),
        by_service_line=grouped("service_line"),
        by_vendor=grouped("vendor"),
    )


def _mean_hours(deltas: Sequence[timedelta]) -> float | None:
    return _hours(sum(deltas, timedelta(0))) / len(deltas) if deltas else None


def _charges_of_charts(rows: Iterable[HoldFact]) -> int:
    """Charges of the distinct charts among `rows`. Rows of one chart carry the same figure, so
    the largest is taken rather than counting a chart once per hold."""
    per_chart: dict[str, int] = {}
    for f in rows:
        per_chart[f.encounter_id] = max(per_chart.get(f.encounter_id, 0), f.charges_cents)
    return sum(per_chart.values())


def hold_metrics(
    facts: Iterable[HoldFact],
    *,
    now: datetime,
    alert_after: Mapping[str, timedelta] = DEFAULT_HOLD_ALERT_AFTER,
) -> HoldMetrics:
    """Open holds by reason and age, $ at hold, mean time to release and repeat holds per chart.

    Repeat holds per chart = (holds - charts with any hold) / charts with any hold, over the rows
    given (i.e. the reporting period): 0.0 means no chart was held twice.
    """
    rows = list(facts)
    reasons = list(HOLD_REASONS) + sorted({f.reason for f in rows} - set(HOLD_REASONS))
    open_rows = [f for f in rows if f.released_at is None]
    by_reason_age = {r: dict.fromkeys(AGE_BUCKETS, 0) for r in reasons}
    overdue = dict.fromkeys(reasons, 0)
    for f in open_rows:
        by_reason_age[f.reason][age_bucket(now - f.placed_at)] += 1
        if now >= hold_alert_at(f.reason, f.placed_at, alert_after):
            overdue[f.reason] += 1
    waits: dict[str, list[timedelta]] = defaultdict(list)
    for f in rows:
        if f.released_at is not None:
            waits[f.reason].append(f.released_at - f.placed_at)
    holds_per_chart: dict[str, int] = defaultdict(int)
    for f in rows:
        holds_per_chart[f.encounter_id] += 1
    charts = len(holds_per_chart)
    return HoldMetrics(
        open_total=len(open_rows),
        open_by_reason_age=by_reason_age,
        overdue_by_reason=overdue,
        cents_at_hold=_charges_of_charts(open_rows),
        cents_at_hold_by_reason={
            r: _charges_of_charts(f for f in open_rows if f.reason == r) for r in reasons
        },
        mean_hours_to_release=_mean_hours([w for ws in waits.values() for w in ws]),
        mean_hours_to_release_by_reason={r: _mean_hours(waits.get(r, [])) for r in reasons},
        charts_with_holds=charts,
        charts_with_repeat_holds=sum(1 for n in holds_per_chart.values() if n > 1),
        repeat_holds_per_chart=_ratio(len(rows) - charts, charts),
    )
