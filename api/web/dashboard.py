"""The operations dashboard as a registry of sections.

A section is one async loader (numbers and pre-rendered SVG, or None while its data does not exist
yet) plus one macro of the same name in `templates/_sections.html` (or `_revenue.html`). The
revenue sections live in `dashboard_revenue`, the quality ones in `dashboard_quality`; importing
`api.web` registers all of them, operations first. Loaders read through the same functions and
scoping as the JSON API.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from api.web import data
from api.web.charts import Mark, bar_chart, histogram, line_chart
from models.access import Principal
from models.encounters.holds import AGE_BUCKETS
from models.repositories.encounters import QueueRepository
from services import metrics


@dataclass(frozen=True)
class Window:
    """The dashboard's filters, resolved: a vendor_lead is always pinned to its own vendor."""

    session: AsyncSession
    who: Principal
    date_from: date
    date_to: date
    vendor: str | None
    now: datetime
    cache: dict[str, Any] = field(default_factory=dict)  # loads shared by several sections

    async def once(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self.cache:
            self.cache[key] = await load()
        return self.cache[key]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time.min, UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.date_to, time.max, UTC)


Loader = Callable[[Window], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    group: str
    load: Loader | None = None
    note: str = ""


SECTIONS: list[Section] = []


def section(key: str, title: str, group: str = "Operations") -> Callable[[Loader], Loader]:
    def register(load: Loader) -> Loader:
        SECTIONS.append(Section(key, title, group, load))
        return load

    return register


def pending(key: str, title: str, group: str, note: str) -> None:
    """A labelled 'no data yet' panel for a metric whose source is still being built."""
    SECTIONS.append(Section(key, title, group, None, note))


def drill(**params: object) -> str:
    return "/ui/encounters?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _age(seconds: object) -> str:
    if not isinstance(seconds, int):
        return "—"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


@section("queues", "Backlog and oldest age by queue")
async def queues(w: Window) -> dict[str, Any]:
    stats = await QueueRepository(w.session, w.who).stats(w.now)
    marks = [Mark(str(q["id"]), float(q["depth"]), drill(queue=q["id"], status="ready")) for q in stats]  # type: ignore[arg-type]
    rows = [{**q, "oldest": _age(q["oldest_age_seconds"])} for q in stats]
    return {
        "backlog": sum(int(q["depth"]) for q in stats),  # type: ignore[call-overload]
        "chart": bar_chart(marks, title="Charts ready to code, by queue"),
        "rows": rows,
    }


@section("overdue", "Overdue charts")
async def overdue(w: Window) -> dict[str, Any]:
    stats = await QueueRepository(w.session, w.who).stats(w.now)
    marks = [Mark(str(q["id"]), float(q["overdue"]), drill(queue=q["id"], overdue="true", active="true")) for q in stats]  # type: ignore[arg-type]
    return {
        "total": sum(int(q["overdue"]) for q in stats),  # type: ignore[call-overload]
        "chart": bar_chart(marks, title="Charts past their coding turnaround SLA, by queue"),
    }


@section("turnaround", "Coding turnaround trend")
async def turnaround(w: Window) -> dict[str, Any]:
    days = await data.turnaround(w.session, w.who, w.start, w.end, w.vendor)
    marks = [Mark(d.day.isoformat(), round(d.median_hours, 1), drill(coded_on=d.day.isoformat(), vendor=w.vendor)) for d in days]
    return {
        "coded": sum(d.charts for d in days),
        "chart": line_chart(marks, title="Median hours from received to coded, by day coded", unit=" h"),
    }


@section("queries", "Physician queries")
async def queries(w: Window) -> dict[str, Any]:
    found = await w.once("queries", lambda: metrics.queries(w.session, w.who, w.date_from, w.date_to, w.vendor))
    overall = found["overall"]
    marks = [Mark(b, float(overall["open_by_age"].get(b, 0)), drill(query_age=b)) for b in AGE_BUCKETS]
    return {
        **overall,
        "chart": histogram(marks, title="Open queries by age"),
        "by_vendor": found["by_vendor"],
    }


@section("holds", "Holds")
async def holds(w: Window) -> dict[str, Any]:
    found = await metrics.holds(w.session, w.who, w.date_from, w.date_to)
    by_reason = found["open_by_reason_age"]
    reasons = [Mark(r.replace("_", " "), float(sum(ages.values())), drill(hold_reason=r)) for r, ages in by_reason.items()]
    ages = [Mark(b, float(sum(a.get(b, 0) for a in by_reason.values())), drill(hold_age=b)) for b in AGE_BUCKETS]
    return {
        **found,
        "reason_chart": bar_chart(reasons, title="Open holds by reason", width=640),
        "age_chart": histogram(ages, title="Open holds by age"),
    }


# The claims-and-revenue and quality sections register from their own modules, after these.
REVENUE = "Claims and revenue"
QUALITY = "Quality"


Panel = tuple[Section, dict[str, Any] | None]


async def build(w: Window) -> list[tuple[str, list[Panel]]]:
    """Every section's data, grouped in registration order."""
    groups: dict[str, list[Panel]] = {}
    for s in SECTIONS:
        groups.setdefault(s.group, []).append((s, await s.load(w) if s.load else None))
    return list(groups.items())


def default_range(today: date) -> tuple[date, date]:
    return today - timedelta(days=29), today
