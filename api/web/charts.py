"""Server-side SVG charts (bar, line, histogram) for the dashboard.

Pure functions from numbers to markup: no JavaScript, no CDN, nothing to load at run time, and the
output is deterministic so it can be unit-tested. Every mark can carry a link, which is how a chart
drills down to the encounters behind it; each link has an accessible name and a `<title>` tooltip.
Colours are presentation attributes (not inline styles) so a strict Content-Security-Policy holds.
"""

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

BAR = "#1f5f99"  # 7:1 against white: readable for labels drawn in the same colour
LINE = "#8a3b12"
GRID = "#c9d1d9"
TEXT = "#1b1f24"
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 12, 40


@dataclass(frozen=True)
class Mark:
    """One bar or point: a label on the x axis, its value, and where it drills down to."""

    label: str
    value: float
    href: str | None = None


def _fmt(value: float, unit: str = "") -> str:
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}{unit}"


def _scale(peak: float, *, whole: bool) -> tuple[float, int]:
    """A round tick step (1, 2, 2.5 or 5 × 10^n; at least 1 for counts) and how many ticks reach `peak`."""
    if peak <= 0:
        return 1.0, 1
    rough = peak / 4
    magnitude = 10 ** math.floor(math.log10(rough))
    if whole:
        magnitude = max(magnitude, 1)
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= rough)
    return step, max(math.ceil(peak / step - 1e-9), 1)


def _frame(title: str, width: int, height: int, body: list[str], summary: str) -> Markup:
    ident = "c" + hashlib.sha1(f"{title}|{summary}".encode()).hexdigest()[:10]
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(summary)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _empty(title: str, width: int, height: int) -> Markup:
    body = [
        f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" fill="{TEXT}" '
        f'font-size="14">No data for this period</text>'
    ]
    return _frame(title, width, height, body, "no data")


def _axis(width: int, height: int, step: float, ticks: int, unit: str) -> list[str]:
    out = []
    plot_h = height - PAD_TOP - PAD_BOTTOM
    for i in range(ticks + 1):
        value = step * i
        y = PAD_TOP + plot_h - plot_h * i / ticks
        out.append(
            f'<line x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{TEXT}">{escape(_fmt(value, unit))}</text>'
        )
    return out


def _label(x: float, height: int, text: str, room: float) -> str:
    fits = max(int(room / 6.5), 3)  # ~6.5 px per character at 11 px
    short = text if len(text) <= fits else text[: fits - 1] + "…"
    return (
        f'<text x="{x:.1f}" y="{height - PAD_BOTTOM + 16}" text-anchor="middle" font-size="11" '
        f'fill="{TEXT}">{escape(short)}</text>'
    )


def _linked(mark: Mark, inner: str, unit: str) -> str:
    name = f"{mark.label}: {_fmt(mark.value, unit)}"
    tip = f"<title>{escape(name)}</title>"
    if mark.href is None:
        return f"<g>{tip}{inner}</g>"
    return f'<a href="{escape(mark.href)}" aria-label="{escape(name)}" class="mark">{tip}{inner}</a>'


def _bars(marks: Sequence[Mark], title: str, unit: str, width: int, height: int, gap: float, whole: bool) -> Markup:
    if not marks:
        return _empty(title, width, height)
    step, ticks = _scale(max(m.value for m in marks), whole=whole)
    top = step * ticks
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM
    slot = plot_w / len(marks)
    body = _axis(width, height, step, ticks, unit)
    for n, m in enumerate(marks):
        h = plot_h * max(m.value, 0) / top
        x = PAD_LEFT + n * slot + slot * gap / 2
        w = slot * (1 - gap)
        y = PAD_TOP + plot_h - h
        # A zero bar still gets a thin, clickable sliver so every category can be drilled into.
        rect = (
            f'<rect x="{x:.1f}" y="{min(y, PAD_TOP + plot_h - 2):.1f}" width="{w:.1f}" '
            f'height="{max(h, 2):.1f}" fill="{BAR}"/>'
            f'<text x="{x + w / 2:.1f}" y="{min(y, PAD_TOP + plot_h - 2) - 3:.1f}" text-anchor="middle" '
            f'font-size="11" fill="{TEXT}">{escape(_fmt(m.value, unit))}</text>'
        )
        body.append(_linked(m, rect, unit))
        body.append(_label(x + w / 2, height, m.label, slot))
    summary = "; ".join(f"{m.label} {_fmt(m.value, unit)}" for m in marks)
    return _frame(title, width, height, body, summary)


def bar_chart(
    marks: Sequence[Mark], *, title: str, unit: str = "", width: int = 480, height: int = 220, whole: bool = True
) -> Markup:
    """Separate bars per category (queues, reasons); `whole`: counts, so ticks are integers."""
    return _bars(marks, title, unit, width, height, gap=0.35, whole=whole)


def histogram(
    marks: Sequence[Mark], *, title: str, unit: str = "", width: int = 480, height: int = 220, whole: bool = True
) -> Markup:
    """Adjacent bars over ordered bins (age buckets): the shape of a distribution."""
    return _bars(marks, title, unit, width, height, gap=0.04, whole=whole)


def line_chart(
    marks: Sequence[Mark], *, title: str, unit: str = "", width: int = 480, height: int = 220, whole: bool = False
) -> Markup:
    """A trend over ordered points (days); each point is a link target."""
    if not marks:
        return _empty(title, width, height)
    tick, ticks = _scale(max(m.value for m in marks), whole=whole)
    top = tick * ticks
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(len(marks) - 1, 1)
    points = [
        (PAD_LEFT + (n * step if len(marks) > 1 else plot_w / 2), PAD_TOP + plot_h - plot_h * max(m.value, 0) / top)
        for n, m in enumerate(marks)
    ]
    body = _axis(width, height, tick, ticks, unit)
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    body.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    every = max(len(marks) // 8, 1)  # keep axis labels legible on long ranges
    for n, (m, (x, y)) in enumerate(zip(marks, points, strict=True)):
        body.append(_linked(m, f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{LINE}"/>', unit))
        if n % every == 0:
            body.append(_label(x, height, m.label, step * every if len(marks) > 1 else plot_w))
    summary = "; ".join(f"{m.label} {_fmt(m.value, unit)}" for m in marks)
    return _frame(title, width, height, body, summary)
